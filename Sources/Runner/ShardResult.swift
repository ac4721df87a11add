import Evaluation
import Foundation

/// What decides whether results of separate processes may be combined: the same suite file, model
/// weights, data, tool, kernels, thread count and command-line overrides. `merge` refuses shards
/// whose fingerprints differ and names the first field that does.
public struct RunFingerprint: Codable, Equatable, Sendable {
    public var suiteSHA256: String
    public var modelSHA256: String
    /// "role sha256 examples", one per data file, in the run's order.
    public var data: [String]
    public var tool: String
    public var kernels: String
    public var threads: Int
    public var options: RunFacts.Options

    public init(facts: RunFacts) {
        suiteSHA256 = facts.suite.contentSHA256
        modelSHA256 = facts.model.sha256
        data = facts.data.map { "\($0.role) \($0.sha256) \($0.examples)" }
        tool = facts.environment.evalharnessVersion
        kernels = facts.environment.blasCore
        threads = facts.environment.threads
        options = facts.options
    }

    enum CodingKeys: String, CodingKey {
        case suiteSHA256 = "suite_sha256", modelSHA256 = "model_sha256", data, tool, kernels, threads, options
    }

    /// The first field that differs from `other`, as "field: this → other", or nil when equal.
    public func firstDifference(from other: RunFingerprint) -> String? {
        func describe(_ options: RunFacts.Options) -> String {
            "candidates \(options.candidates?.joined(separator: ",") ?? "all"), seed \(options.seed.map(String.init) ?? "suite"), seeds \(options.seeds.map(String.init) ?? "suite")"
        }
        let fields: [(String, String, String)] = [
            ("suite (content SHA-256)", suiteSHA256, other.suiteSHA256),
            ("model (model.safetensors SHA-256)", modelSHA256, other.modelSHA256),
            ("data", data.joined(separator: "; "), other.data.joined(separator: "; ")),
            ("evalharness version", tool, other.tool),
            ("BLAS kernels", kernels, other.kernels),
            ("threads", String(threads), String(other.threads)),
            ("command-line options", describe(options), describe(other.options)),
        ]
        guard let field = fields.first(where: { $0.1 != $0.2 }) else { return nil }
        if field.0 == "data" {
            let mine = Set(data), theirs = Set(other.data)
            let differing = (mine.symmetricDifference(theirs)).map { $0.split(separator: " ").first.map(String.init) ?? $0 }
            return "data (\(Set(differing).sorted().joined(separator: ", ")) differ)"
        }
        return "\(field.0): \(field.1) vs \(field.2)"
    }
}

/// One shard's output (`compare --shard I/N`, `DIR/shard.json`): its fingerprint, the whole plan
/// (so `merge` can tell a missing unit), the run's facts and the results of the units it ran.
public struct ShardResult: Codable, Equatable, Sendable {
    public static let format = "evalharness-shard"
    public static let currentVersion = 1

    public var format: String = ShardResult.format
    public var version: Int = ShardResult.currentVersion
    public var fingerprint: RunFingerprint
    /// 0-based shard index and the shard count.
    public var index: Int
    public var count: Int
    public var plan: RunPlan
    public var facts: RunFacts
    public var results: [UnitResult]
    public var seconds: Double

    public init(fingerprint: RunFingerprint, index: Int, count: Int, plan: RunPlan, facts: RunFacts, results: [UnitResult], seconds: Double) {
        self.fingerprint = fingerprint; self.index = index; self.count = count; self.plan = plan; self.facts = facts
        self.results = results; self.seconds = seconds
    }
}

/// Combines shard results into the unsharded run's unit results.
public enum ShardMerge {
    public enum Problem: Error, CustomStringConvertible {
        /// Shards of different runs (exit 2).
        case mismatch(String)
        /// A unit no shard ran (exit 3).
        case incomplete(String)

        public var description: String {
            switch self {
            case .mismatch(let text), .incomplete(let text): text
            }
        }
    }

    /// Every unit of the plan, each from the shard that ran it, in plan order.
    /// - Parameter shards: (where it was read from, the shard).
    public static func units(of shards: [(source: String, shard: ShardResult)]) -> Result<(facts: RunFacts, results: [UnitResult]), Problem> {
        guard let (firstSource, first) = shards.first else { return .failure(.mismatch("no shard to merge")) }
        for (source, shard) in shards.dropFirst() {
            if let difference = first.fingerprint.firstDifference(from: shard.fingerprint) {
                return .failure(.mismatch("\(source) is from another run than \(firstSource): \(difference)"))
            }
            if shard.plan != first.plan {
                return .failure(.mismatch("\(source) planned other units than \(firstSource) (\(shard.plan.units.map(\.id).joined(separator: ", ")))"))
            }
        }
        var byKey: [String: UnitResult] = [:]
        for (_, shard) in shards {
            for result in shard.results where byKey[result.unit.key] == nil { byKey[result.unit.key] = result }
        }
        var ordered: [UnitResult] = []
        var missing: [String] = []
        for unit in first.plan.units {
            if let result = byKey[unit.key] { ordered.append(result) } else { missing.append(unit.id) }
        }
        if !missing.isEmpty {
            let counts = Set(shards.map(\.shard.count)).sorted().map(String.init).joined(separator: ", ")
            return .failure(.incomplete("incomplete run: no shard ran \(missing.joined(separator: ", ")) (\(shards.count) shard file(s) of \(counts) given); the run cannot pass without them"))
        }
        return .success((first.facts, ordered))
    }
}
