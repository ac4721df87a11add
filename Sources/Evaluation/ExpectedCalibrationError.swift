/// Expected calibration error (ECE) with equal-width confidence bins (Guo et al., 2017).
///
/// For example i, the confidence is `conf_i = max_k p_i[k]` and the example counts as correct when
/// the first class attaining that maximum (numpy's `argmax`) equals the label. Example i falls in
/// bin b (0-based, B bins) when `b/B < conf_i ≤ (b+1)/B`, the bin edges being the correctly rounded
/// quotients `Double(b) / Double(B)`; a confidence of exactly 0 falls in bin 0. Then
///
///     ECE = Σ_b (|bin_b| / n) · | acc(bin_b) − conf(bin_b) |
///
/// where `acc` is the fraction of correct examples in the bin and `conf` their mean confidence;
/// empty bins contribute nothing. The result lies in [0, 1]; 0 means perfectly calibrated.
/// Correctness is taken from the probabilities, not from a separate list of predictions, so the
/// statistic depends on the probabilities alone.
public enum ExpectedCalibrationError {
    /// The number of bins used in reports.
    public static let defaultBinCount = 15

    /// - Precondition: one non-empty probability row per label, and at least one example.
    public static func compute(labels: [Int], probabilities: [[Double]], binCount: Int = defaultBinCount) -> Double {
        precondition(binCount >= 1, "binCount must be positive")
        precondition(!labels.isEmpty && labels.count == probabilities.count, "one probability row per label")
        var counts = Array(repeating: 0, count: binCount)
        var correctCounts = Array(repeating: 0, count: binCount)
        var confidenceSums = Array(repeating: 0.0, count: binCount)
        for (label, row) in zip(labels, probabilities) {
            var best = 0
            for k in row.indices where row[k] > row[best] {
                best = k
            }
            let confidence = row[best]
            let bin = binIndex(of: confidence, binCount: binCount)
            counts[bin] += 1
            confidenceSums[bin] += confidence
            if best == label {
                correctCounts[bin] += 1
            }
        }
        let exampleCount = Double(labels.count)
        var total = 0.0
        for bin in 0..<binCount where counts[bin] > 0 {
            let size = Double(counts[bin])
            let gap = Double(correctCounts[bin]) / size - confidenceSums[bin] / size
            total += size / exampleCount * abs(gap)
        }
        return total
    }

    /// The bin b with `edge(b) < confidence ≤ edge(b + 1)`, clamped to `0..<binCount`.
    static func binIndex(of confidence: Double, binCount: Int) -> Int {
        func edge(_ b: Int) -> Double { Double(b) / Double(binCount) }
        var bin = min(max(Int((confidence * Double(binCount)).rounded(.up)) - 1, 0), binCount - 1)
        while bin > 0 && confidence <= edge(bin) {
            bin -= 1
        }
        while bin < binCount - 1 && confidence > edge(bin + 1) {
            bin += 1
        }
        return bin
    }
}
