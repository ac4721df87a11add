import Foundation

/// A byte-level BPE tokenizer (GPT-2's scheme, used by Llama-3, Qwen, SmolLM and most decoder LMs)
/// giving the same ids as Hugging Face `tokenizers`: special tokens typed in the text are found
/// first (leftmost-longest, exact); the text between them is cut by `ByteLevelPreTokenizer`
/// (optionally isolating every digit first, as SmolLM's `Digits(individual_digits=True)` does); each
/// piece's UTF-8 bytes become the 256 printable stand-ins of `ByteLevelAlphabet`; and BPE merges
/// adjacent symbols, lowest merge rank first (leftmost on ties), until no ranked pair is left.
public struct ByteLevelBPETokenizer: Sendable {
    /// Token spellings (byte-level stand-ins) by id.
    public let tokens: [String]
    /// Ids of the special (control) tokens, which `decode(skipSpecial:)` can leave out.
    public let specialIDs: Set<Int32>
    /// Whether each number character is a piece of its own before the GPT-2 pattern runs.
    public let splitDigits: Bool
    /// The merges as given ("left right", highest priority first): what a saved tokenizer.json lists.
    public let mergeRules: [String]
    public var vocabularySize: Int { tokens.count }
    /// The beginning/end-of-sequence and padding tokens the model declares (GGUF metadata, or a
    /// folder's tokenizer_config.json): not part of the vocabulary files, so the loader sets them.
    public var specialTokens = SpecialTokenIDs()

    private let ids: [String: Int32]
    /// (left id << 32 | right id) → (rank, merged id).
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// The id of each byte's stand-in symbol; -1 when the vocabulary lacks it (SmolLM2 lacks 21:
    /// control bytes and bytes valid UTF-8 never holds). Such a byte is dropped, as `tokenizers`
    /// drops a symbol it cannot look up when there is no unknown token, and its neighbours may merge.
    private let byteIDs: [Int32]
    private let specialTokenMatcher: SpecialTokenMatcher

    /// - Parameters:
    ///   - tokens: spellings, id = index (GGUF `tokenizer.ggml.tokens`, or tokenizer.json's vocab).
    ///   - merges: "left right" pairs, highest priority first.
    ///   - specialIDs: ids matched literally in text (control and user-defined tokens).
    ///   - source: the file they came from, for error messages.
    /// - Throws: `TokenizerError` naming the file and the token or merge at fault.
    public init(tokens: [String], merges: [String], specialIDs: Set<Int32>, splitDigits: Bool, source: URL) throws {
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        guard tokens.count <= Int(Int32.max) else { throw TokenizerError(file: source, "\(tokens.count) tokens is more than ids can hold") }
        for (index, token) in tokens.enumerated() {
            // A repeated spelling keeps its first id (the later one can only be reached by id).
            if ids[token] == nil { ids[token] = Int32(index) }
        }
        let byteIDs = (0..<256).map { ids[String(ByteLevelAlphabet.scalar(for: UInt8($0)))] ?? -1 }
        guard byteIDs.count(where: { $0 >= 0 }) >= 128 else {
            throw TokenizerError(file: source, "the vocabulary has tokens for only \(byteIDs.count(where: { $0 >= 0 })) of the 256 byte symbols; not a byte-level BPE vocabulary")
        }
        var table: [UInt64: (rank: Int32, merged: Int32)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError(file: source, "merge \(rank) \"\(merge)\" is not two tokens separated by one space")
            }
            guard let left = ids[String(parts[0])], let right = ids[String(parts[1])], let merged = ids[String(parts[0] + parts[1])] else {
                throw TokenizerError(file: source, "merge \(rank) \"\(merge)\" names a token the vocabulary lacks")
            }
            let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
            if table[key] == nil { table[key] = (Int32(rank), merged) }
        }
        for id in specialIDs where !(0..<Int32(tokens.count)).contains(id) {
            throw TokenizerError(file: source, "special token id \(id) is outside the vocabulary of \(tokens.count)")
        }
        self.tokens = tokens
        self.ids = ids
        self.merges = table
        self.byteIDs = byteIDs
        self.specialIDs = specialIDs
        self.splitDigits = splitDigits
        mergeRules = merges
        specialTokenMatcher = SpecialTokenMatcher(specialIDs.sorted().map { (tokens[Int($0)], $0) })
    }

    public func id(of token: String) -> Int32? { ids[token] }

    /// The ids of `text`, with no token added (no BOS/EOS: that is the model's prompt format's job).
    public func encode(_ text: String) -> [Int32] {
        var out: [Int32] = []
        for segment in specialTokenMatcher.segments(of: text) {
            switch segment {
            case .special(let id): out.append(id)
            case .text(let view): encodeText(Array(view), into: &out)
            }
        }
        return out
    }

    private func encodeText(_ scalars: [Unicode.Scalar], into out: inout [Int32]) {
        var utf8: [UInt8] = []
        for piece in ByteLevelPreTokenizer.pieces(scalars, splitDigits: splitDigits) {
            utf8.removeAll(keepingCapacity: true)
            for scalar in scalars[piece] { utf8.append(contentsOf: UTF8.encode(scalar)!) }
            out.append(contentsOf: bpe(utf8.map { byteIDs[Int($0)] }.filter { $0 >= 0 }))
        }
    }

    /// Merges adjacent symbols, lowest rank first and leftmost on ties, as `tokenizers`' BPE does
    /// with its priority queue (merging all occurrences of the best pair left to right, as GPT-2's
    /// reference does, gives the same result).
    private func bpe(_ start: [Int32]) -> [Int32] {
        var symbols = start
        while symbols.count > 1 {
            var best: (rank: Int32, position: Int, merged: Int32)? = nil
            for position in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[position])) << 32 | UInt64(UInt32(symbols[position + 1]))
                if let merge = merges[key], merge.rank < (best?.rank ?? .max) {
                    best = (merge.rank, position, merge.merged)
                }
            }
            guard let best else { break }
            symbols[best.position] = best.merged
            symbols.remove(at: best.position + 1)
        }
        return symbols
    }

    /// The text of `ids`: spellings joined, stand-ins turned back into bytes, the bytes read as
    /// UTF-8 (an invalid sequence becomes U+FFFD, as `tokenizers` decodes). Special tokens are
    /// their spelling unless `skipSpecial`; an id outside the vocabulary is skipped.
    public func decode(_ ids: [Int32], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && Int(id) < tokens.count {
            if specialIDs.contains(id) {
                if !skipSpecial { bytes.append(contentsOf: Array(tokens[Int(id)].utf8)) }
                continue
            }
            for scalar in tokens[Int(id)].unicodeScalars {
                if let byte = ByteLevelAlphabet.byte(for: scalar) { bytes.append(byte) } else {
                    bytes.append(contentsOf: Array(String(scalar).utf8))
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// GPT-2's `bytes_to_unicode`: each byte as a printable character — the printable Latin-1 bytes
/// ("!"…"~", "¡"…"¬", "®"…"ÿ") as themselves, the other 68 as U+0100 onwards in byte order — so that
/// a vocabulary of strings can hold any byte sequence (a space is "Ġ", a newline "Ċ").
public enum ByteLevelAlphabet {
    private static let table: [Unicode.Scalar] = {
        var out = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                out[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                out[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return out
    }()

    private static let reverse: [UInt32: UInt8] = {
        Dictionary(uniqueKeysWithValues: table.enumerated().map { ($0.element.value, UInt8($0.offset)) })
    }()

    public static func scalar(for byte: UInt8) -> Unicode.Scalar { table[Int(byte)] }
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? { reverse[scalar.value] }
}
