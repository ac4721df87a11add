/// Percentile bootstrap over example indices.
///
/// Resample r (r = 0, 1, …, R−1) is the list of n indices drawn, in order, as
/// `generator.next(below: n)` from one `SplitMix64(seed: seed)` shared by all resamples (so
/// resample r uses the draws n·r … n·r + n − 1 when no draw is rejected). A statistic is a function
/// of such an index list (with repetitions); its value is the statistic of `[0, 1, …, n−1]`.
/// The interval at level L is the pair of empirical quantiles of the R resampled statistics at
/// (1 − L)/2 and (1 + L)/2, each by linear interpolation between order statistics
/// (numpy's default `percentile(method="linear")`: with the sorted values s_0 ≤ … ≤ s_{R−1} and
/// h = (R − 1)·q, the quantile is s_⌊h⌋ + (h − ⌊h⌋)·(s_⌊h⌋+1 − s_⌊h⌋)).
public enum Bootstrap {
    /// The statistic on all examples and its percentile-bootstrap confidence interval.
    ///
    /// - Parameters:
    ///   - count: number of examples n ≥ 1.
    ///   - resamples: number of bootstrap resamples R ≥ 1.
    ///   - level: confidence level L in (0, 1).
    ///   - seed: seed of the `SplitMix64` that draws the indices.
    ///   - statistic: a finite value computed from a list of example indices.
    public static func confidenceInterval(
        count: Int, resamples: Int = 1000, level: Double = 0.95, seed: UInt64,
        statistic: ([Int]) -> Double
    ) -> MetricValue {
        confidenceIntervals(count: count, resamples: resamples, level: level, seed: seed) { [statistic($0)] }[0]
    }

    /// Several statistics bootstrapped on the same resamples: `statistics` returns one value per
    /// statistic, always the same number of them; the result has one interval per statistic, each
    /// identical to what `confidenceInterval` gives for that statistic alone with the same seed.
    public static func confidenceIntervals(
        count: Int, resamples: Int = 1000, level: Double = 0.95, seed: UInt64,
        statistics: ([Int]) -> [Double]
    ) -> [MetricValue] {
        let values = statistics(Array(0..<count))
        var samples = Array(repeating: [Double](), count: values.count)
        forEachResample(count: count, resamples: resamples, seed: seed) { indices in
            let resampled = statistics(indices)
            precondition(resampled.count == values.count, "statistics must return the same number of values")
            for (statistic, value) in resampled.enumerated() {
                samples[statistic].append(value)
            }
        }
        return zip(values, samples).map { value, sample in
            let (low, high) = percentileInterval(sample, level: level)
            return MetricValue(value: value, low: low, high: high)
        }
    }

    /// The statistic on each resample, in order (no interval): for standard errors.
    static func forEachStatistic(count: Int, resamples: Int, seed: UInt64, statistic: ([Int]) -> Double) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(resamples)
        forEachResample(count: count, resamples: resamples, seed: seed) { out.append(statistic($0)) }
        return out
    }

    /// Calls `body` with each of the `resamples` index lists described in the type's documentation.
    static func forEachResample(count: Int, resamples: Int, seed: UInt64, body: ([Int]) -> Void) {
        precondition(count >= 1, "the bootstrap needs at least one example")
        precondition(resamples >= 1, "the bootstrap needs at least one resample")
        var generator = SplitMix64(seed: seed)
        var indices = Array(repeating: 0, count: count)
        for _ in 0..<resamples {
            for position in 0..<count {
                indices[position] = Int(generator.next(below: UInt64(count)))
            }
            body(indices)
        }
    }

    /// The (1 − level)/2 and (1 + level)/2 quantiles of `sample` (linear interpolation).
    static func percentileInterval(_ sample: [Double], level: Double) -> (low: Double, high: Double) {
        precondition(level > 0 && level < 1, "level must be in (0, 1)")
        let sorted = sample.sorted()
        return (quantile(sorted: sorted, (1 - level) / 2), quantile(sorted: sorted, (1 + level) / 2))
    }

    /// The q-quantile of sorted values by numpy's default linear interpolation.
    static func quantile(sorted: [Double], _ q: Double) -> Double {
        let position = Double(sorted.count - 1) * q
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + fraction * (sorted[upper] - sorted[lower])
    }
}
