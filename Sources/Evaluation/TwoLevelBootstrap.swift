import Foundation

/// Bootstrap over training seeds *and* test examples: intervals that cover both sources of
/// variation in a fine-tuned candidate's score — which training run you happened to get (head and
/// adapter initialisation, data order, dropout) and which test examples you happened to have.
///
/// The data are crossed: every seed s = 0…S−1 of a candidate is evaluated on the same n test
/// examples, and a metric M(s, I) is computed from seed s's predictions on an index list I. The
/// statistic is the mean over seeds, T = (1/S) Σ_s M(s, all examples). Resample r draws
///
/// - one list of n example indices I_r, exactly as `Bootstrap` does (from `SplitMix64(seed: seed)`),
///   shared by every seed and — in `PairedDifference` — by both arms, so examples stay paired;
/// - S seed indices j_1…j_S with replacement (from a second generator, `SplitMix64(seed: seed ^
///   seedStream)`, one per arm),
///
/// and forms T*_r = M̄(I_r) + c · (1/S) Σ_k [M(j_k, I_r) − M̄(I_r)], where M̄(I) is the mean of M over
/// all S seeds and c = √(S/(S−1)) (1 for S = 1). Resampling S values with replacement shrinks
/// their mean's variance by (S−1)/S; c undoes that, so the seed part of the bootstrap variance is
/// s²/S with the unbiased seed variance s² (the usual small-sample correction, Davison & Hinkley
/// 1997, §3.2.3 and §3.8). Resampling both crossed factors is Owen's (2007) "pigeonhole"
/// bootstrap, which is mildly conservative: it counts the seed × example interaction in both
/// parts. The interval is the percentile interval of the T*_r (numpy's linear quantiles).
///
/// With one seed, c = 1 and every seed draw is 0, so the interval is exactly `Bootstrap`'s with the
/// same seed: one-seed results are unchanged, and their interval covers test sampling only.
public enum TwoLevelBootstrap {
    /// XOR-ed into the bootstrap seed for the seed-level draws, so they never reuse the example draws.
    static let seedStream: UInt64 = 0x5EED_5EED_0000_0001

    /// A point statistic with its bootstrap replicates, from which intervals and one-sided
    /// p-values are read.
    public struct Distribution: Sendable {
        /// The statistic on all seeds and all examples.
        public let point: Double
        /// One value per resample, in resample order.
        public let replicates: [Double]

        public func interval(level: Double) -> (low: Double, high: Double) {
            Bootstrap.percentileInterval(replicates, level: level)
        }

        public func metricValue(level: Double) -> MetricValue {
            let (low, high) = interval(level: level)
            return MetricValue(value: point, low: low, high: high)
        }

        /// The fraction of replicates at or below `value` (the bootstrap's one-sided p-value of
        /// "the statistic is at least `value`" failing; see `Gate` for how checks use it).
        public func fraction(atMost value: Double) -> Double {
            Double(replicates.count { $0 <= value }) / Double(replicates.count)
        }

        public func fraction(atLeast value: Double) -> Double {
            Double(replicates.count { $0 >= value }) / Double(replicates.count)
        }

        /// Standard deviation of the replicates.
        public var standardError: Double { SeedSpread.standardDeviation(replicates) }
    }

    /// Several statistics at once, on the same resamples.
    ///
    /// - Parameters:
    ///   - seedCount: S ≥ 1.
    ///   - exampleCount: n ≥ 1 (every seed is evaluated on the same n examples).
    ///   - statistics: the metrics of seed s on an index list; always the same number of values.
    /// - Returns: one distribution per statistic.
    public static func distributions(
        seedCount: Int, exampleCount: Int, resamples: Int, seed: UInt64,
        statistics: (_ seed: Int, _ indices: [Int]) -> [Double]
    ) -> [Distribution] {
        let arm = Arm(seedCount: seedCount, seed: seed)
        let all = Array(0..<exampleCount)
        let full = (0..<seedCount).map { statistics($0, all) }
        let points = arm.mean(full, draws: nil)
        var replicates = Array(repeating: [Double](), count: points.count)
        var draws = arm.drawGenerator
        Bootstrap.forEachResample(count: exampleCount, resamples: resamples, seed: seed) { indices in
            let perSeed = (0..<seedCount).map { statistics($0, indices) }
            let picked = arm.draw(&draws)
            for (k, value) in arm.mean(perSeed, draws: picked).enumerated() { replicates[k].append(value) }
        }
        return points.indices.map { Distribution(point: points[$0], replicates: replicates[$0]) }
    }

    /// The paired difference (candidate − reference) of seed-means: seeds resampled independently
    /// in each arm, examples jointly. `candidate` and `reference` give one arm's metric of seed s
    /// on an index list into the paired examples.
    public static func difference(
        candidateSeeds: Int, referenceSeeds: Int, exampleCount: Int, resamples: Int, seed: UInt64,
        candidate: (_ seed: Int, _ indices: [Int]) -> Double, reference: (_ seed: Int, _ indices: [Int]) -> Double
    ) -> Distribution {
        // Distinct seed streams per arm: with equal seed counts the arms must not draw the same seeds.
        let candidateArm = Arm(seedCount: candidateSeeds, seed: seed)
        let referenceArm = Arm(seedCount: referenceSeeds, seed: seed &+ 0x9E37_79B9_7F4A_7C15)
        let all = Array(0..<exampleCount)
        func armMean(_ arm: Arm, _ metric: (Int, [Int]) -> Double, _ indices: [Int], _ picked: [Int]?) -> Double {
            arm.mean((0..<arm.seedCount).map { [metric($0, indices)] }, draws: picked)[0]
        }
        let point = armMean(candidateArm, candidate, all, nil) - armMean(referenceArm, reference, all, nil)
        var replicates: [Double] = []
        replicates.reserveCapacity(resamples)
        var candidateDraws = candidateArm.drawGenerator, referenceDraws = referenceArm.drawGenerator
        Bootstrap.forEachResample(count: exampleCount, resamples: resamples, seed: seed) { indices in
            let a = armMean(candidateArm, candidate, indices, candidateArm.draw(&candidateDraws))
            let b = armMean(referenceArm, reference, indices, referenceArm.draw(&referenceDraws))
            replicates.append(a - b)
        }
        return Distribution(point: point, replicates: replicates)
    }

    /// One arm's seed-level resampling.
    struct Arm {
        let seedCount: Int
        let drawGenerator: SplitMix64
        /// √(S/(S−1)): restores the seed variance that resampling S values with replacement loses.
        let inflation: Double

        init(seedCount: Int, seed: UInt64) {
            precondition(seedCount >= 1, "the bootstrap needs at least one seed")
            self.seedCount = seedCount
            drawGenerator = SplitMix64(seed: seed ^ TwoLevelBootstrap.seedStream)
            inflation = seedCount > 1 ? (Double(seedCount) / Double(seedCount - 1)).squareRoot() : 1
        }

        /// S seed indices drawn with replacement (no draws for one seed: it is always seed 0).
        func draw(_ generator: inout SplitMix64) -> [Int]? {
            guard seedCount > 1 else { return nil }
            return (0..<seedCount).map { _ in Int(generator.next(below: UInt64(seedCount))) }
        }

        /// Per statistic: the mean over all seeds, plus (for a resample's draws) the inflated mean
        /// deviation of the drawn seeds from it.
        func mean(_ perSeed: [[Double]], draws: [Int]?) -> [Double] {
            let width = perSeed[0].count
            var out = [Double](repeating: 0, count: width)
            for k in 0..<width {
                let all = perSeed.reduce(0.0) { $0 + $1[k] } / Double(seedCount)
                guard let draws else { out[k] = all; continue }
                let drawn = draws.reduce(0.0) { $0 + perSeed[$1][k] } / Double(seedCount)
                out[k] = all + inflation * (drawn - all)
            }
            return out
        }
    }
}

/// How a metric varied over a candidate's training seeds (each seed's value on the full test set).
public struct SeedSpread: Codable, Equatable, Sendable {
    /// Number of seeds.
    public let count: Int
    /// Sample standard deviation (n − 1 in the denominator); 0 for one seed.
    public let sd: Double
    public let min: Double
    public let max: Double

    public init(_ values: [Double]) {
        precondition(!values.isEmpty, "a spread needs at least one value")
        count = values.count
        sd = SeedSpread.standardDeviation(values)
        min = values.min()!
        max = values.max()!
    }

    /// Itself when it spans several seeds; nil for one (nothing varied, nothing to show).
    public var ifSeveral: SeedSpread? { count > 1 ? self : nil }

    /// The spread of `values` when there are several; nil for one.
    public static func ofSeveral(_ values: [Double]) -> SeedSpread? { values.count > 1 ? SeedSpread(values) : nil }

    /// Sample standard deviation (n − 1); 0 for fewer than two values.
    public static func standardDeviation(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot()
    }

    enum CodingKeys: String, CodingKey { case count = "n", sd, min, max }
}
