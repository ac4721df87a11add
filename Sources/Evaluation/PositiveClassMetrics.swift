/// A binary task's positive class (`task.positive_label`): how well the candidate ranks it (ROC-AUC
/// and PR-AUC, each the mean over seeds with a two-level bootstrap interval, as the headline
/// metrics are) and the decision threshold applied to its probability (results.json
/// `candidates[].positive_class`).
public struct PositiveClassMetrics: Codable, Equatable, Sendable {
    public let classIndex: Int
    public let label: String
    public let rocAUC: MetricValue
    public let prAUC: MetricValue
    /// The threshold chosen on validation (`task.threshold`); nil when predictions take the most
    /// probable class.
    public let threshold: DecisionThreshold?

    public init(classIndex: Int, label: String, rocAUC: MetricValue, prAUC: MetricValue, threshold: DecisionThreshold?) {
        self.classIndex = classIndex; self.label = label; self.rocAUC = rocAUC; self.prAUC = prAUC; self.threshold = threshold
    }

    enum CodingKeys: String, CodingKey {
        case classIndex = "class", label, rocAUC = "roc_auc", prAUC = "pr_auc", threshold
    }

    /// The value of a ranking metric kind.
    public func value(_ kind: PredictionMetric.Kind) -> MetricValue? {
        switch kind {
        case .rocAUC: rocAUC
        case .prAUC: prAUC
        default: nil
        }
    }
}

/// The threshold one seed chose on the validation split: the positive class's probability at or
/// above which an example is predicted positive, and the validation F1 it gave.
public struct ChosenThreshold: Codable, Equatable, Sendable {
    public let value: Double
    public let validationF1: Double
    public init(value: Double, validationF1: Double) { self.value = value; self.validationF1 = validationF1 }
    enum CodingKeys: String, CodingKey { case value, validationF1 = "validation_f1" }

    /// The threshold with the best F1 of the positive class on `validation` (scores: the positive
    /// class's probabilities). Nil without a positive example.
    public static func optimizingF1(validationLabels: [Int], scores: [Double], positiveClass: Int) -> ChosenThreshold? {
        RankingMetrics.bestF1Threshold(isPositive: validationLabels.map { $0 == positiveClass }, scores: scores)
            .map { ChosenThreshold(value: $0.threshold, validationF1: $0.f1) }
    }

    /// The class a binary prediction takes under this threshold.
    public func predictedClass(probabilities: [Double], positiveClass: Int) -> Int {
        probabilities[positiveClass] >= value ? positiveClass : 1 - positiveClass
    }
}

/// A candidate's decision thresholds over its seeds: each seed chooses its own on validation and
/// applies it to test.
public struct DecisionThreshold: Codable, Equatable, Sendable {
    /// What the threshold optimises on validation ("f1").
    public let optimize: String
    /// The mean of the seeds' thresholds (each seed's test predictions use its own).
    public let value: Double
    /// The mean validation F1 at the chosen thresholds.
    public let validationF1: Double
    public let seeds: SeedSpread?

    enum CodingKeys: String, CodingKey { case optimize, value, validationF1 = "validation_f1", seeds }

    /// The seeds' thresholds, or nil when no seed chose one.
    static func summarize(_ runs: [SeedRun]) -> DecisionThreshold? {
        let chosen = runs.compactMap(\.threshold)
        guard !chosen.isEmpty else { return nil }
        let values = chosen.map(\.value)
        return DecisionThreshold(optimize: "f1", value: values.reduce(0, +) / Double(values.count),
                                 validationF1: chosen.map(\.validationF1).reduce(0, +) / Double(chosen.count),
                                 seeds: SeedSpread.ofSeveral(values))
    }
}
