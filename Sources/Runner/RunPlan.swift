import Evaluation
import Foundation
import Suites

/// One independent piece of a run: the base model's retention measurement, or one training seed of
/// one candidate (train, evaluate, measure retention with the adapter). A unit's result never
/// depends on which other units run beside it, so units can be cached, sharded over machines and
/// merged.
public struct WorkUnit: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case retention, train }

    public let kind: Kind
    /// train: the candidate and its seed (0-based index into its seeds, and the training seed).
    public let candidate: String?
    public let seedIndex: Int?
    public let seedCount: Int?
    public let trainingSeed: UInt64?
    /// SHA-256 (hex) of everything the unit's result depends on (`UnitKey`): the cache key.
    public let key: String
    /// Relative cost for balancing shards: example-passes through the encoder, weighted by method.
    public let estimatedCost: Double

    /// "retention", or "lora#2" (the candidate's second seed).
    public var id: String { kind == .retention ? "retention" : "\(candidate!)#\(seedIndex! + 1)" }

    enum CodingKeys: String, CodingKey {
        case kind, candidate, seedIndex = "seed_index", seedCount = "seed_count", trainingSeed = "training_seed", key
        case estimatedCost = "estimated_cost"
    }

    static func retention(key: String, cost: Double) -> WorkUnit {
        WorkUnit(kind: .retention, candidate: nil, seedIndex: nil, seedCount: nil, trainingSeed: nil, key: key, estimatedCost: cost)
    }

    static func train(_ candidate: String, seedIndex: Int, seedCount: Int, trainingSeed: UInt64, key: String, cost: Double) -> WorkUnit {
        WorkUnit(kind: .train, candidate: candidate, seedIndex: seedIndex, seedCount: seedCount, trainingSeed: trainingSeed,
                 key: key, estimatedCost: cost)
    }
}

/// A suite's units in their fixed order — the base retention measurement first, then every
/// candidate's seeds in suite order — and their division into shards.
public struct RunPlan: Codable, Equatable, Sendable {
    public let units: [WorkUnit]

    public init(units: [WorkUnit]) { self.units = units }

    /// The units shard `index` (0-based) of `count` runs: longest-processing-time-first over the
    /// estimated costs (each unit, most expensive first and in plan order on ties, goes to the
    /// shard with the least cost so far; ties to the lowest shard). Deterministic, so every shard
    /// process computes the same division; the result keeps plan order.
    public func shard(_ index: Int, of count: Int) -> [WorkUnit] {
        precondition(count >= 1 && (0..<count).contains(index), "shard index out of range")
        return units.enumerated().filter { assignment(count: count)[$0.offset] == index }.map(\.element)
    }

    /// The shard (0-based) of every unit, in plan order.
    public func assignment(count: Int) -> [Int] {
        var load = [Double](repeating: 0, count: count)
        var shardOf = [Int](repeating: 0, count: units.count)
        let order = units.indices.sorted { (units[$0].estimatedCost, -$0) > (units[$1].estimatedCost, -$1) }
        for index in order {
            let lightest = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
            shardOf[index] = lightest
            load[lightest] += units[index].estimatedCost
        }
        return shardOf
    }
}

/// The cache key of a unit: SHA-256 of `name=value` lines of everything its result depends on.
/// A line changes when the tool, the kernels, the thread count, the model weights, the examples
/// of any split (after splitting and limits), the tokenised length, the decision rule, the
/// retention data or the candidate's resolved settings (seed included) change.
struct UnitKey {
    private var lines: [String] = []

    init(kind: WorkUnit.Kind) { add("unit", "evalharness-\(kind.rawValue)-v1") }

    mutating func add(_ name: String, _ value: String) { lines.append("\(name)=\(value)") }

    var hex: String { SHA256.hex(of: lines.map { $0 + "\n" }.joined()) }
}

/// SHA-256 of a list of examples (id, label, text of each, in order): what a split contributes to
/// a unit's key, independent of the file it came from.
enum ExampleDigest {
    static func of(_ examples: [Example]) -> String {
        var hasher = SHA256()
        for example in examples {
            hasher.update(example.id.utf8); hasher.update([0x1F])
            hasher.update(String(example.label).utf8); hasher.update([0x1F])
            hasher.update(example.text.utf8); hasher.update([0x1E])
        }
        return hasher.finalizeHex()
    }
}
