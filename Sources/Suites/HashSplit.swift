/// `task.data: FILE` with `split: {validation: 0.1, test: 0.2, stratify: true}`: one labelled file
/// divided into train, validation and test by a hash of each record's content, so the division is
/// the same on every machine, does not depend on the order of the rows, and never needs a split
/// script.
public struct OneFileSplit: Sendable, Equatable {
    public var file: DataFile
    /// Shares of the records that go to validation and test (each in [0, 1), together below 1).
    public var validation: Double
    public var test: Double
    /// Equal shares within every class (default true).
    public var stratify: Bool
    /// Ids from each record's content (`HashSplit.generatedIDs`), when the suite names no `id_field`.
    public var idsFromContent: Bool

    public init(file: DataFile, validation: Double = 0.1, test: Double = 0.2, stratify: Bool = true, idsFromContent: Bool = true) {
        self.file = file; self.validation = validation; self.test = test; self.stratify = stratify
        self.idsFromContent = idsFromContent
    }
}

/// Assigns records to splits from SHA-256 of their content (the text, a unit separator, the label
/// as the file writes it).
///
/// - Stratified: within each class, records are ordered by their hash; the first
///   round(n_c · test) go to test, the next round(n_c · validation) to validation, the rest to
///   train. Every class keeps its share in every split (a class too small for a share stays in
///   train), reordering the file changes nothing, and adding rows moves only the records near a
///   boundary.
/// - Not stratified: a record whose hash, read as a fraction of 2⁶⁴, is below `test` goes to test,
///   below `test + validation` to validation, else to train. A record's split depends on its
///   content alone (adding rows never moves another record), and shares are close to the asked
///   ones on large files.
///
/// Identical records hash alike and land in the same split: exact duplicates never straddle train
/// and test.
public enum HashSplit {
    public enum Role: Int, Sendable, CaseIterable {
        case train = 0, validation, test
        public var name: String { ["train", "validation", "test"][rawValue] }
    }

    /// The SHA-256 of a record's content.
    public static func contentHash(text: String, label: String) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(text.utf8)
        hasher.update([0x1F])
        hasher.update(label.utf8)
        return hasher.finalize()
    }

    /// The role of each record.
    /// - Parameters:
    ///   - hashes: `contentHash` of each record.
    ///   - classes: each record's class index.
    public static func assign(hashes: [[UInt8]], classes: [Int], validation: Double, test: Double, stratify: Bool) -> [Role] {
        precondition(hashes.count == classes.count, "one class per record")
        var roles = [Role](repeating: .train, count: hashes.count)
        if stratify {
            var members: [Int: [Int]] = [:]
            for (index, c) in classes.enumerated() { members[c, default: []].append(index) }
            for (_, indices) in members {
                let ordered = indices.sorted { a, b in
                    hashes[a] == hashes[b] ? a < b : hashes[a].lexicographicallyPrecedes(hashes[b])
                }
                let n = Double(ordered.count)
                let testCount = Int((n * test).rounded()), validationCount = Int((n * validation).rounded())
                for (rank, index) in ordered.enumerated() {
                    roles[index] = rank < testCount ? .test : rank < testCount + validationCount ? .validation : .train
                }
            }
        } else {
            for (index, hash) in hashes.enumerated() {
                let u = Double(hash.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }) / 18_446_744_073_709_551_616.0
                roles[index] = u < test ? .test : u < test + validation ? .validation : .train
            }
        }
        return roles
    }

    /// Ids for a file that has none: the first 16 hex digits of each record's content hash, with
    /// "-2", "-3", … on repeats of an identical record (in file order; identical records are
    /// interchangeable, so the order does not matter).
    public static func generatedIDs(hashes: [[UInt8]]) -> [String] {
        var seen: [String: Int] = [:]
        return hashes.map { hash in
            let base = SHA256.hex(Array(hash.prefix(8)))
            seen[base, default: 0] += 1
            let count = seen[base]!
            return count == 1 ? base : "\(base)-\(count)"
        }
    }
}
