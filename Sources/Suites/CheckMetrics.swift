/// The metric names a check may use (see `CheckSpec`'s documentation and suites/README.md).
public enum CheckMetrics {
    /// Test-set metrics with bootstrap confidence intervals (results.json `metrics`).
    public static let headline = ["accuracy", "precision_macro", "recall_macro", "f1_macro", "log_loss", "ece"]
    /// `forgetting.<retention check>.<suffix>`.
    public static let forgettingSuffixes = ["absolute_drop", "relative_drop", "candidate"]
    public static let overfitting = ["overfitting.loss_gap", "overfitting.accuracy_gap"]
    public static let training = ["training.examples_per_s", "training.seconds", "training.peak_rss_bytes"]

    /// Every valid metric name for a suite with these retention checks (`similarity:lee`, …).
    public static func all(retentionChecks: [String]) -> [String] {
        headline
            + retentionChecks.flatMap { check in forgettingSuffixes.map { "forgetting.\(check).\($0)" } }
            + overfitting + training
    }

    /// `forgetting.similarity:lee.absolute_drop` → ("similarity:lee", "absolute_drop"); nil for
    /// any other shape.
    public static func forgettingParts(_ metric: String) -> (check: String, suffix: String)? {
        guard metric.hasPrefix("forgetting.") else { return nil }
        let rest = metric.dropFirst("forgetting.".count)
        guard let dot = rest.lastIndex(of: ".") else { return nil }
        let check = String(rest[..<dot]), suffix = String(rest[rest.index(after: dot)...])
        guard !check.isEmpty, forgettingSuffixes.contains(suffix) else { return nil }
        return (check, suffix)
    }

    /// Whether a confidence bound (`bound: ci_low | ci_high`) exists for the metric.
    public static func hasConfidenceInterval(_ metric: String) -> Bool { headline.contains(metric) }
}
