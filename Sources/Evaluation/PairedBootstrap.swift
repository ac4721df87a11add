/// Paired bootstrap of the difference of one metric between two candidates evaluated on the
/// same examples.
///
/// Each resample (drawn exactly as in `Bootstrap`, from `SplitMix64(seed: seed)`) is applied to
/// both candidates, giving d*_r = candidate(resample r) − baseline(resample r). The point
/// difference is candidate(all) − baseline(all); the confidence interval is the percentile
/// interval of the d*_r at the given level (as in `Bootstrap`); the two-sided p-value is
///
///     p = min(1, 2 · min(#{r : d*_r ≤ 0}, #{r : d*_r ≥ 0}) / R),
///
/// the smallest α for which the percentile interval at level 1 − α would exclude 0 (the
/// bootstrap distribution's mass on the far side of 0, doubled). Its resolution is 2/R: 0 means
/// "every resample on the same side of 0", i.e. p < 1/R. Identical candidates give p = 1.
public enum PairedBootstrap {
    /// - Parameters:
    ///   - count: number of paired examples n ≥ 1.
    ///   - resamples: number of resamples R ≥ 1.
    ///   - level: confidence level in (0, 1).
    ///   - seed: seed of the index generator.
    ///   - candidate: the metric of the candidate on a list of example indices.
    ///   - baseline: the same metric of the baseline on a list of example indices.
    public static func compare(
        count: Int, resamples: Int = 1000, level: Double = 0.95, seed: UInt64,
        candidate: ([Int]) -> Double, baseline: ([Int]) -> Double
    ) -> PairedDifference {
        let all = Array(0..<count)
        let candidateValue = candidate(all)
        let baselineValue = baseline(all)
        var differences: [Double] = []
        differences.reserveCapacity(resamples)
        Bootstrap.forEachResample(count: count, resamples: resamples, seed: seed) { indices in
            differences.append(candidate(indices) - baseline(indices))
        }
        let (low, high) = Bootstrap.percentileInterval(differences, level: level)
        return PairedDifference(
            candidate: candidateValue,
            baseline: baselineValue,
            difference: candidateValue - baselineValue,
            low: low,
            high: high,
            pValue: PairedDifference.twoSidedPValue(differences),
            level: level,
            resamples: resamples)
    }
}

/// The outcome of `PairedBootstrap.compare`.
public struct PairedDifference: Codable, Equatable, Sendable {
    /// The candidate's metric on all examples.
    public let candidate: Double
    /// The baseline's metric on all examples.
    public let baseline: Double
    /// candidate − baseline.
    public let difference: Double
    /// Lower end of the percentile interval of the difference.
    public let low: Double
    /// Upper end of the percentile interval of the difference.
    public let high: Double
    /// Two-sided bootstrap p-value for "no difference", see `PairedBootstrap`.
    public let pValue: Double
    /// Confidence level of [low, high].
    public let level: Double
    /// Number of resamples R.
    public let resamples: Int
    /// Training seeds averaged in each arm (nil: one each, as before seeds existed).
    public var candidateSeeds: Int?
    public var baselineSeeds: Int?

    public init(candidate: Double, baseline: Double, difference: Double, low: Double, high: Double, pValue: Double,
                level: Double, resamples: Int, candidateSeeds: Int? = nil, baselineSeeds: Int? = nil) {
        self.candidate = candidate; self.baseline = baseline; self.difference = difference; self.low = low; self.high = high
        self.pValue = pValue; self.level = level; self.resamples = resamples
        self.candidateSeeds = candidateSeeds; self.baselineSeeds = baselineSeeds
    }

    /// A two-level paired difference from its bootstrap distribution: interval at `level`, two-sided
    /// p-value as `PairedBootstrap` defines it.
    init(_ distribution: TwoLevelBootstrap.Distribution, candidate: Double, baseline: Double, level: Double,
         candidateSeeds: Int, baselineSeeds: Int) {
        let (low, high) = distribution.interval(level: level)
        self.init(candidate: candidate, baseline: baseline, difference: distribution.point, low: low, high: high,
                  pValue: Self.twoSidedPValue(distribution.replicates), level: level,
                  resamples: distribution.replicates.count, candidateSeeds: candidateSeeds, baselineSeeds: baselineSeeds)
    }

    /// min(1, 2 · min(#{d ≤ 0}, #{d ≥ 0}) / R): see `PairedBootstrap`.
    static func twoSidedPValue(_ replicates: [Double]) -> Double {
        let atMostZero = replicates.count(where: { $0 <= 0 }), atLeastZero = replicates.count(where: { $0 >= 0 })
        return min(1, 2 * Double(min(atMostZero, atLeastZero)) / Double(replicates.count))
    }

    enum CodingKeys: String, CodingKey {
        case candidate, baseline, difference
        case low = "ci_low"
        case high = "ci_high"
        case pValue = "p_value"
        case level, resamples
        case candidateSeeds = "candidate_seeds", baselineSeeds = "baseline_seeds"
    }
}
