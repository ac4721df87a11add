import Foundation

/// Log loss (cross-entropy) as scikit-learn ≥ 1.5 computes it with `log_loss(labels=range(K))`.
///
/// `logLoss = −(1/n) Σ_i ln(clip(p_i[y_i]))`, natural logarithm, where `clip(x) = min(max(x, ε), 1 − ε)`
/// and ε = `Double.ulpOfOne` = 2⁻⁵² ≈ 2.220446049250313e-16 (numpy's `finfo(float64).eps`, the
/// machine epsilon of the probabilities' dtype). The rows are not renormalised after clipping
/// (scikit-learn stopped doing so in 1.5; it only warns when a row does not sum to 1). A
/// probability of exactly 0 for the true class therefore costs −ln ε ≈ 36.04.
public enum LogLoss {
    /// The clipping bound ε.
    public static let epsilon = Double.ulpOfOne

    /// - Precondition: one row per label, each label a valid column index, at least one example.
    public static func compute(labels: [Int], probabilities: [[Double]]) -> Double {
        precondition(!labels.isEmpty && labels.count == probabilities.count, "one probability row per label")
        var total = 0.0
        for (label, row) in zip(labels, probabilities) {
            total -= log(min(max(row[label], epsilon), 1 - epsilon))
        }
        return total / Double(labels.count)
    }
}
