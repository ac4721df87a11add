/// Everything `ClassificationMetrics.compute` measures on one candidate's predictions, in the
/// shape written to results.json (snake_case keys).
public struct ClassificationReport: Codable, Equatable, Sendable {
    /// Number of examples, n.
    public let exampleCount: Int
    /// Number of classes, K; classes are `0..<K`.
    public let classCount: Int
    /// Fraction of examples whose predicted class equals the label.
    public let accuracy: Double
    /// One entry per class `0..<K`, in order, including classes that occur in neither the
    /// labels nor the predictions (all zeros there).
    public let perClass: [ClassScores]
    /// Unweighted mean of the per-class scores over the *averaged classes*: those that occur in
    /// the labels or in the predictions (scikit-learn's default `labels=None`).
    public let macro: AveragedScores
    /// Scores of the pooled counts: Σtp / Σpredicted, Σtp / Σsupport, 2Σtp / (Σsupport + Σpredicted).
    /// For single-label classification all three equal the accuracy.
    public let micro: AveragedScores
    /// Mean of the per-class scores weighted by support: Σ support_c · score_c / n.
    public let weighted: AveragedScores
    /// `confusionMatrix[t][p]` = number of examples with label `t` predicted as `p` (K × K).
    public let confusionMatrix: [[Int]]
    /// Mean negative log probability of the true class, see `LogLoss`.
    public let logLoss: Double
    /// 15-bin expected calibration error, see `ExpectedCalibrationError`.
    public let expectedCalibrationError: Double

    enum CodingKeys: String, CodingKey {
        case exampleCount = "example_count"
        case classCount = "class_count"
        case accuracy
        case perClass = "per_class"
        case macro, micro, weighted
        case confusionMatrix = "confusion_matrix"
        case logLoss = "log_loss"
        case expectedCalibrationError = "ece"
    }
}

/// Precision, recall and F1 of one class c, from the confusion matrix M:
/// tp = M[c][c], predicted = Σ_t M[t][c], support = Σ_p M[c][p];
/// precision = tp / predicted, recall = tp / support, F1 = 2·tp / (support + predicted)
/// (the harmonic mean of precision and recall), each 0 when its denominator is 0
/// (scikit-learn's `zero_division=0`).
public struct ClassScores: Codable, Equatable, Sendable {
    /// The class index c.
    public let label: Int
    public let precision: Double
    public let recall: Double
    public let f1: Double
    /// Number of examples whose label is c.
    public let support: Int
    /// Number of examples predicted as c.
    public let predictedCount: Int

    enum CodingKeys: String, CodingKey {
        case label = "class"
        case precision, recall, f1, support
        case predictedCount = "predicted_count"
    }
}

/// Precision, recall and F1 averaged over classes (how is said where each is used).
public struct AveragedScores: Codable, Equatable, Sendable {
    public let precision: Double
    public let recall: Double
    public let f1: Double
}
