/// Single-label classification metrics, matching scikit-learn's `accuracy_score`,
/// `precision_recall_fscore_support(zero_division=0)`, `confusion_matrix` and `log_loss`.
public enum ClassificationMetrics {
    /// Measures predictions against labels.
    ///
    /// - Parameters:
    ///   - labels: the true class of each example, in `0..<classCount`.
    ///   - predicted: the predicted class of each example, in `0..<classCount`.
    ///   - probabilities: one row of `classCount` predicted probabilities per example (used for
    ///     log loss and calibration; the rows are used as given, not renormalised).
    ///   - classCount: K ≥ 2.
    /// - Precondition: the three arrays have the same non-zero length and every value is in range.
    public static func compute(
        labels: [Int], predicted: [Int], probabilities: [[Double]], classCount: Int
    ) -> ClassificationReport {
        precondition(classCount >= 2, "classCount must be at least 2")
        precondition(!labels.isEmpty, "no examples")
        precondition(
            predicted.count == labels.count && probabilities.count == labels.count,
            "labels, predicted and probabilities must have one entry per example")
        for index in labels.indices {
            precondition((0..<classCount).contains(labels[index]), "label out of range at \(index)")
            precondition((0..<classCount).contains(predicted[index]), "prediction out of range at \(index)")
            precondition(probabilities[index].count == classCount, "probability row \(index) has the wrong length")
        }

        let matrix = confusionMatrix(labels: labels, predicted: predicted, classCount: classCount)
        let perClass = (0..<classCount).map { label in
            let truePositives = matrix[label][label]
            let support = matrix[label].reduce(0, +)
            let predictedCount = matrix.reduce(0) { $0 + $1[label] }
            return ClassScores(
                label: label,
                precision: ratio(truePositives, predictedCount),
                recall: ratio(truePositives, support),
                f1: ratio(2 * truePositives, support + predictedCount),
                support: support,
                predictedCount: predictedCount)
        }

        let averaged = perClass.filter { $0.support + $0.predictedCount > 0 }
        let macro = AveragedScores(
            precision: averaged.reduce(0) { $0 + $1.precision } / Double(averaged.count),
            recall: averaged.reduce(0) { $0 + $1.recall } / Double(averaged.count),
            f1: averaged.reduce(0) { $0 + $1.f1 } / Double(averaged.count))

        let exampleCount = labels.count
        let weighted = AveragedScores(
            precision: perClass.reduce(0) { $0 + Double($1.support) * $1.precision } / Double(exampleCount),
            recall: perClass.reduce(0) { $0 + Double($1.support) * $1.recall } / Double(exampleCount),
            f1: perClass.reduce(0) { $0 + Double($1.support) * $1.f1 } / Double(exampleCount))

        let truePositiveSum = (0..<classCount).reduce(0) { $0 + matrix[$1][$1] }
        let micro = AveragedScores(
            precision: ratio(truePositiveSum, exampleCount),
            recall: ratio(truePositiveSum, exampleCount),
            f1: ratio(2 * truePositiveSum, 2 * exampleCount))

        return ClassificationReport(
            exampleCount: exampleCount,
            classCount: classCount,
            accuracy: ratio(truePositiveSum, exampleCount),
            perClass: perClass,
            macro: macro,
            micro: micro,
            weighted: weighted,
            confusionMatrix: matrix,
            logLoss: LogLoss.compute(labels: labels, probabilities: probabilities),
            expectedCalibrationError: ExpectedCalibrationError.compute(labels: labels, probabilities: probabilities))
    }

    /// `matrix[t][p]` = number of examples with label `t` and prediction `p`.
    public static func confusionMatrix(labels: [Int], predicted: [Int], classCount: Int) -> [[Int]] {
        var matrix = Array(repeating: Array(repeating: 0, count: classCount), count: classCount)
        for (label, prediction) in zip(labels, predicted) {
            matrix[label][prediction] += 1
        }
        return matrix
    }

    /// numerator / denominator, or 0 when the denominator is 0 (`zero_division=0`).
    private static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }
}
