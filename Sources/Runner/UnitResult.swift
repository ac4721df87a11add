import Evaluation
import Foundation

/// What one unit produced: for a training unit, its seed run (history, test predictions,
/// metrics, retention scores) and the candidate's sizes; for the retention unit, the base model's
/// scores. Stored in the cache and in shard files as JSON.
public struct UnitResult: Codable, Equatable, Sendable {
    public let unit: WorkUnit
    public var seedRun: SeedRun?
    public var trainableParameters: Int
    public var baseWeightBytes: Int
    /// The retention unit: each check's base score.
    public var baseScores: [String: Double]?
    /// Reused from the cache rather than computed in this run (not stored in the cache itself).
    public var cached: Bool

    public init(unit: WorkUnit, seedRun: SeedRun? = nil, trainableParameters: Int = 0, baseWeightBytes: Int = 0,
                baseScores: [String: Double]? = nil, cached: Bool = false) {
        self.unit = unit; self.seedRun = seedRun; self.trainableParameters = trainableParameters
        self.baseWeightBytes = baseWeightBytes; self.baseScores = baseScores; self.cached = cached
    }

    enum CodingKeys: String, CodingKey {
        case unit, seedRun = "seed_run", trainableParameters = "trainable_parameters", baseWeightBytes = "base_weight_bytes"
        case baseScores = "base_scores", cached
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        unit = try c.decode(WorkUnit.self, forKey: .unit)
        seedRun = try c.decodeIfPresent(SeedRun.self, forKey: .seedRun)
        trainableParameters = try c.decode(Int.self, forKey: .trainableParameters)
        baseWeightBytes = try c.decode(Int.self, forKey: .baseWeightBytes)
        baseScores = try c.decodeIfPresent([String: Double].self, forKey: .baseScores)
        cached = try c.decodeIfPresent(Bool.self, forKey: .cached) ?? false
    }
}
