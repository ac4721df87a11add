/// How well a binary task's scores rank positives above negatives, whatever the decision threshold:
/// the area under the ROC curve and under the precision–recall curve, as scikit-learn computes them
/// (`roc_auc_score`, `average_precision_score`), and the score threshold with the best F1 of the
/// positive class (for `task.threshold: {optimize: f1}`).
///
/// A score is the predicted probability of the positive class; an example is predicted positive
/// when its score is at least the threshold.
public enum RankingMetrics {
    /// Counts of positives and negatives at or above each distinct score, highest score first:
    /// scikit-learn's `_binary_clf_curve`.
    public struct Curve {
        /// Distinct scores, descending.
        var thresholds: [Double] = []
        /// True and false positives when every example scoring ≥ thresholds[i] is predicted positive.
        var truePositives: [Int] = []
        var falsePositives: [Int] = []
        var positives: Int { truePositives.last ?? 0 }
        var negatives: Int { falsePositives.last ?? 0 }

        public init(isPositive: [Bool], scores: [Double]) {
            precondition(isPositive.count == scores.count, "one score per label")
            let order = scores.indices.sorted { scores[$0] > scores[$1] }
            var tp = 0, fp = 0
            for (rank, index) in order.enumerated() {
                if isPositive[index] { tp += 1 } else { fp += 1 }
                // A threshold ends where the next score is lower (ties form one point of the curve).
                if rank == order.count - 1 || scores[order[rank + 1]] < scores[index] {
                    thresholds.append(scores[index]); truePositives.append(tp); falsePositives.append(fp)
                }
            }
        }
    }

    /// Area under the ROC curve by the trapezoidal rule over the distinct thresholds (ties count
    /// half): `sklearn.metrics.roc_auc_score`. 0.5 when only one class occurs (scikit-learn raises;
    /// a bootstrap resample of a rare class can draw no positive, and such a sample carries no
    /// ranking information).
    public static func rocAUC(isPositive: [Bool], scores: [Double]) -> Double {
        rocAUC(Curve(isPositive: isPositive, scores: scores))
    }

    /// ROC-AUC of a curve already built (one sort serves both ranking metrics).
    public static func rocAUC(_ curve: Curve) -> Double {
        let P = Double(curve.positives), N = Double(curve.negatives)
        guard P > 0, N > 0 else { return 0.5 }
        var area = 0.0, previousTP = 0.0, previousFP = 0.0
        for i in curve.thresholds.indices {
            let tp = Double(curve.truePositives[i]), fp = Double(curve.falsePositives[i])
            area += (fp - previousFP) * (tp + previousTP) / 2
            previousTP = tp; previousFP = fp
        }
        return area / (P * N)
    }

    /// Average precision, Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct thresholds from the highest score
    /// down (no interpolation): `sklearn.metrics.average_precision_score`, reported as PR-AUC.
    /// 0 when no example is positive (scikit-learn's value, with a warning).
    public static func averagePrecision(isPositive: [Bool], scores: [Double]) -> Double {
        averagePrecision(Curve(isPositive: isPositive, scores: scores))
    }

    /// Average precision of a curve already built.
    public static func averagePrecision(_ curve: Curve) -> Double {
        let P = Double(curve.positives)
        guard P > 0 else { return 0 }
        var sum = 0.0, previousRecall = 0.0
        for i in curve.thresholds.indices {
            let tp = Double(curve.truePositives[i])
            let recall = tp / P, precision = tp / (tp + Double(curve.falsePositives[i]))
            sum += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return sum
    }

    /// The threshold among the distinct scores whose predictions have the highest F1 of the
    /// positive class, the lowest such threshold on ties — `np.argmax` over
    /// `precision_recall_curve`'s ascending thresholds, with F1 = 2PR/(P+R) computed as scikit-learn
    /// does. Nil without positives.
    public static func bestF1Threshold(isPositive: [Bool], scores: [Double]) -> (threshold: Double, f1: Double)? {
        let curve = Curve(isPositive: isPositive, scores: scores)
        let P = Double(curve.positives)
        guard P > 0 else { return nil }
        var best: (threshold: Double, f1: Double)? = nil
        // Descending thresholds: `>=` keeps the lowest threshold among equal F1s.
        for i in curve.thresholds.indices {
            let tp = Double(curve.truePositives[i])
            let precision = tp / (tp + Double(curve.falsePositives[i])), recall = tp / P
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            if best == nil || f1 >= best!.f1 { best = (curve.thresholds[i], f1) }
        }
        return best
    }
}
