/// One gated check as a suite writes it. Each check × candidate it applies to becomes one
/// `CheckResult` (one JUnit testcase).
///
/// Two kinds:
/// - threshold: `metric` compared with `min` (value ≥ min passes) or `max` (value ≤ max passes),
///   on the point estimate or, with `bound: ci_low` / `ci_high`, on a confidence bound;
/// - non-inferiority: `metric` of the candidate against a reference ("prompt" — the suite's
///   prompt-tuned candidate — or "baseline" — the stored baseline run), passing when the paired
///   bootstrap CI of (candidate − reference) lies above −margin (metrics where higher is better) or
///   below +margin (log_loss, ece, forgetting drops).
///
/// Metric names: accuracy, precision_macro, recall_macro, f1_macro, log_loss, ece;
/// forgetting.<check name>.absolute_drop | relative_drop | candidate (e.g.
/// forgetting.similarity:lee.absolute_drop); overfitting.loss_gap, overfitting.accuracy_gap;
/// training.examples_per_s, training.seconds, training.peak_rss_bytes.
public struct CheckSpec: Codable, Equatable, Sendable {
    public enum Bound: String, Codable, Sendable { case value, ciLow = "ci_low", ciHigh = "ci_high" }
    public enum Kind: Equatable, Sendable, Codable {
        case minimum(Double)
        case maximum(Double)
        case nonInferior(reference: String, margin: Double)
    }

    public var metric: String
    public var kind: Kind
    public var bound: Bound
    /// Candidates the check applies to; nil: every candidate (for non-inferiority, every candidate
    /// but the reference itself).
    public var candidates: [String]?

    public init(metric: String, kind: Kind, bound: Bound = .value, candidates: [String]? = nil) {
        self.metric = metric
        self.kind = kind
        self.bound = bound
        self.candidates = candidates
    }

    /// The human name used as the JUnit testcase name, e.g. "accuracy >= 0.85",
    /// "ci_low(accuracy) >= 0.8", "accuracy non-inferior to prompt (margin 0.01)".
    public var displayName: String {
        let subject = bound == .value ? metric : "\(bound.rawValue)(\(metric))"
        switch kind {
        case .minimum(let threshold): return "\(subject) >= \(formatThreshold(threshold))"
        case .maximum(let threshold): return "\(subject) <= \(formatThreshold(threshold))"
        case .nonInferior(let reference, let margin): return "\(metric) non-inferior to \(reference) (margin \(formatThreshold(margin)))"
        }
    }

    /// Whether a larger value of `metric` is better (decides the direction of non-inferiority).
    public var higherIsBetter: Bool { Gate.higherIsBetter(metric) }
}

/// Shortest decimal text of a threshold: 0.85, not 0.8500000000000001.
func formatThreshold(_ value: Double) -> String {
    var text = String(value)
    if text.hasSuffix(".0") { text.removeLast(2) }
    return text
}
