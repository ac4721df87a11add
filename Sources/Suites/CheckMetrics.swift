import Evaluation

/// The metric names a check may use (see `CheckSpec`'s documentation and suites/README.md), as
/// the gate defines them: the suite parser validates against the same lists the gate looks up.
public enum CheckMetrics {
    /// Test-set metrics with bootstrap confidence intervals (results.json `metrics`).
    public static let headline = Gate.headlineMetricNames
    /// A generation task's test metrics, also with intervals (results.json `generation_metrics`).
    public static let generation = Gate.generationMetricNames
    /// `forgetting.<retention check>.<suffix>`.
    public static let forgettingSuffixes = Gate.forgettingFields
    public static let overfitting = Gate.overfittingMetricNames
    public static let training = Gate.trainingMetricNames

    /// Every valid metric name for a suite with these retention checks (`similarity:lee`, …).
    public static func all(retentionChecks: [String], generation isGeneration: Bool = false) -> [String] {
        (isGeneration ? generation : headline)
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

    /// Whether a confidence bound (`bound: ci_low | ci_high`) exists for the metric: the headline
    /// metrics, the per-class ones (`recall[grain]`) and the positive class's ranking metrics.
    public static func hasConfidenceInterval(_ metric: String, labels: [String], positiveClass: Int? = nil, generation: Bool = false) -> Bool {
        TestMetric.named(metric, labels: labels, positiveClass: positiveClass, generation: generation) != nil
    }
}
