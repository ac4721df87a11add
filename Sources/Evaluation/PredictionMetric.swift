/// A metric of a candidate's test predictions: what is bootstrapped into an interval, averaged over
/// seeds, paired against a reference and gated with `bound` and `non_inferior_to`. The six headline
/// metrics, precision, recall and F1 of one class, and for binary tasks with a `positive_label` the
/// areas under the ROC and precision–recall curves of the positive class.
///
/// Checks name a class's metric `recall[grain]`: the metric, then the class's label in brackets,
/// as the suite's `labels` spell it; the ranking metrics `roc_auc` and `pr_auc` need no class (it
/// is the positive label).
public struct PredictionMetric: Hashable, Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case accuracy
        case precisionMacro = "precision_macro"
        case recallMacro = "recall_macro"
        case f1Macro = "f1_macro"
        case logLoss = "log_loss"
        case ece
        // Per class.
        case precision, recall, f1
        // Of the positive class of a binary task, from its scores.
        case rocAUC = "roc_auc"
        case prAUC = "pr_auc"

        public var isPerClass: Bool { self == .precision || self == .recall || self == .f1 }
        /// Computed from the positive class's scores, not from the predicted labels.
        public var isRanking: Bool { self == .rocAUC || self == .prAUC }
        /// Names a class: per-class metrics the one in brackets, ranking metrics the positive one.
        var namesClass: Bool { isPerClass || isRanking }
        /// Log loss and calibration error are better when lower.
        public var higherIsBetter: Bool { !(self == .logLoss || self == .ece) }
    }

    public let kind: Kind
    /// The class index of a per-class metric, the positive class of a ranking metric; nil for the
    /// headline metrics.
    public let classIndex: Int?

    public init(_ kind: Kind, classIndex: Int? = nil) {
        precondition(kind.namesClass == (classIndex != nil), "per-class and ranking metrics, and only they, name a class")
        self.kind = kind
        self.classIndex = classIndex
    }

    /// The six headline metrics, in results.json's and the reports' order.
    public static let headline: [PredictionMetric] = Kind.allCases.filter { !$0.namesClass }.map { PredictionMetric($0) }

    /// ROC-AUC and PR-AUC of the positive class, in results.json's order.
    public static func ranking(positiveClass: Int) -> [PredictionMetric] {
        [PredictionMetric(.rocAUC, classIndex: positiveClass), PredictionMetric(.prAUC, classIndex: positiveClass)]
    }

    /// Precision, recall and F1 of each of `classCount` classes, class by class.
    public static func perClass(classCount: Int) -> [PredictionMetric] {
        (0..<classCount).flatMap { c in [Kind.precision, .recall, .f1].map { PredictionMetric($0, classIndex: c) } }
    }

    public var higherIsBetter: Bool { kind.higherIsBetter }

    /// The name checks use: "accuracy", "recall[grain]", "roc_auc".
    public func name(labels: [String]) -> String {
        guard let classIndex, kind.isPerClass else { return kind.rawValue }
        return Self.perClassName(kind, label: classIndex < labels.count ? labels[classIndex] : String(classIndex))
    }

    /// "recall[grain]": a per-class metric's name for a class label.
    public static func perClassName(_ kind: Kind, label: String) -> String { "\(kind.rawValue)[\(label)]" }

    /// How a name failed to parse, for the suite parser's messages.
    public enum NameProblem: Error, Equatable {
        /// Not a prediction metric at all (maybe another family: forgetting, training, …).
        case notAPredictionMetric
        /// `recall[gran]`: the metric is per-class but the label is not one of the suite's.
        case unknownLabel(String)
        /// `accuracy[grain]`: a class on a metric that has none.
        case notPerClass(String)
        /// `roc_auc` in a task without `positive_label`.
        case needsPositiveLabel(String)
    }

    /// Parses a check's metric name against the task's labels and positive class (its index in
    /// `labels`, nil without `positive_label`).
    public static func named(_ name: String, labels: [String], positiveClass: Int? = nil) -> Result<PredictionMetric, NameProblem> {
        guard let open = name.firstIndex(of: "["), name.hasSuffix("]") else {
            guard let kind = Kind(rawValue: name), !kind.isPerClass else { return .failure(.notAPredictionMetric) }
            if kind.isRanking {
                guard let positiveClass else { return .failure(.needsPositiveLabel(name)) }
                return .success(PredictionMetric(kind, classIndex: positiveClass))
            }
            return .success(PredictionMetric(kind))
        }
        let base = String(name[..<open])
        let label = String(name[name.index(after: open)..<name.index(before: name.endIndex)])
        guard let kind = Kind(rawValue: base) else { return .failure(.notAPredictionMetric) }
        guard kind.isPerClass else { return .failure(.notPerClass(base)) }
        guard let index = labels.firstIndex(of: label) else { return .failure(.unknownLabel(label)) }
        return .success(PredictionMetric(kind, classIndex: index))
    }

    /// The metric's value in a classification report; ranking metrics are not in it (see `values`).
    public func value(of report: ClassificationReport) -> Double {
        switch kind {
        case .accuracy: report.accuracy
        case .precisionMacro: report.macro.precision
        case .recallMacro: report.macro.recall
        case .f1Macro: report.macro.f1
        case .logLoss: report.logLoss
        case .ece: report.expectedCalibrationError
        case .precision: report.perClass[classIndex!].precision
        case .recall: report.perClass[classIndex!].recall
        case .f1: report.perClass[classIndex!].f1
        case .rocAUC, .prAUC: preconditionFailure("\(kind.rawValue) is computed from scores, not from a classification report")
        }
    }

    /// The positive class's scores at `indices` ranked against whether each example is of that
    /// class: the curve both ranking metrics are read from.
    static func rankingCurve(of rows: [Prediction], at indices: [Int], positiveClass positive: Int) -> RankingMetrics.Curve {
        RankingMetrics.Curve(isPositive: indices.map { rows[$0].label == positive },
                             scores: indices.map { rows[$0].probabilities[positive] })
    }

    /// The ranking metric read from its curve.
    func rankingValue(_ curve: RankingMetrics.Curve) -> Double {
        kind == .rocAUC ? RankingMetrics.rocAUC(curve) : RankingMetrics.averagePrecision(curve)
    }

    /// Several metrics of the predictions at `indices`, with one classification report and one
    /// ranking curve for all (a bootstrap computes these once per seed and resample).
    static func values(_ metrics: [PredictionMetric], of rows: [Prediction], at indices: [Int], classCount: Int) -> [Double] {
        let needsReport = metrics.contains { !$0.kind.isRanking }
        let report = needsReport ? PredictionMetric.report(of: rows, at: indices, classCount: classCount) : nil
        let curve = metrics.first { $0.kind.isRanking }.map { rankingCurve(of: rows, at: indices, positiveClass: $0.classIndex!) }
        return metrics.map { $0.kind.isRanking ? $0.rankingValue(curve!) : $0.value(of: report!) }
    }

    /// The metric of the predictions at `indices` (with repetitions), as `ClassificationMetrics`
    /// computes it; accuracy, log loss and ECE without building the whole report.
    public func value(of rows: [Prediction], at indices: [Int], classCount: Int) -> Double {
        switch kind {
        case .accuracy:
            return Double(indices.count { rows[$0].predicted == rows[$0].label }) / Double(indices.count)
        case .logLoss:
            return LogLoss.compute(labels: indices.map { rows[$0].label }, probabilities: indices.map { rows[$0].probabilities })
        case .ece:
            return ExpectedCalibrationError.compute(labels: indices.map { rows[$0].label }, probabilities: indices.map { rows[$0].probabilities })
        case .rocAUC, .prAUC:
            return rankingValue(Self.rankingCurve(of: rows, at: indices, positiveClass: classIndex!))
        default:
            return value(of: PredictionMetric.report(of: rows, at: indices, classCount: classCount))
        }
    }

    /// The classification report of the predictions at `indices`.
    static func report(of rows: [Prediction], at indices: [Int], classCount: Int) -> ClassificationReport {
        ClassificationMetrics.compute(
            labels: indices.map { rows[$0].label }, predicted: indices.map { rows[$0].predicted },
            probabilities: indices.map { rows[$0].probabilities }, classCount: classCount)
    }
}

/// One class's precision, recall and F1 on the test set (results.json `per_class_metrics`), each
/// the mean over seeds with a two-level bootstrap interval and the seeds' spread, as the headline
/// metrics are; `support` and `predicted` are one seed's counts (the mean over seeds for `predicted`).
public struct ClassMetricValues: Codable, Equatable, Sendable {
    /// The class index and its label as the suite spells it.
    public let classIndex: Int
    public let label: String
    /// Test examples of this class.
    public let support: Int
    /// Test examples predicted as this class, mean over seeds.
    public let predicted: Double
    public let precision: MetricValue
    public let recall: MetricValue
    public let f1: MetricValue

    public init(classIndex: Int, label: String, support: Int, predicted: Double,
                precision: MetricValue, recall: MetricValue, f1: MetricValue) {
        self.classIndex = classIndex; self.label = label; self.support = support; self.predicted = predicted
        self.precision = precision; self.recall = recall; self.f1 = f1
    }

    enum CodingKeys: String, CodingKey {
        case classIndex = "class", label, support, predicted, precision, recall, f1
    }

    /// Precision, recall and F1, in that order.
    public var metrics: [(kind: PredictionMetric.Kind, value: MetricValue)] {
        [(.precision, precision), (.recall, recall), (.f1, f1)]
    }

    /// The name a check uses for this class's metric: "recall[grain]".
    public func checkName(_ kind: PredictionMetric.Kind) -> String { PredictionMetric.perClassName(kind, label: label) }

    /// The value of a per-class metric kind.
    public func value(_ kind: PredictionMetric.Kind) -> MetricValue? {
        switch kind {
        case .precision: precision
        case .recall: recall
        case .f1: f1
        default: nil
        }
    }
}

/// Signs that a candidate learned the class balance instead of the task: it predicts one class
/// for (nearly) every test example, or never predicts a class that occurs. Accuracy alone hides
/// both when one class dominates (predicting the majority of a 91 % task scores 0.91).
public enum ClassCollapse {
    /// The share of predictions above which one class counts as "every example".
    public static let dominantShare = 0.98

    /// One sentence per problem found in `perClass` (counts are per seed, averaged over seeds).
    public static func warnings(_ perClass: [ClassMetricValues]) -> [String] {
        let total = perClass.reduce(0.0) { $0 + $1.predicted }
        guard total > 0 else { return [] }
        var out: [String] = []
        if let top = perClass.max(by: { $0.predicted < $1.predicted }), top.predicted / total >= dominantShare {
            out.append("predicts \(top.label) for \(Self.count(top.predicted)) of \(Self.count(total)) test examples "
                + "(\(String(format: "%.1f", 100 * top.predicted / total)) %): it may have collapsed to one class")
        }
        for scores in perClass where scores.support > 0 && scores.predicted == 0 {
            out.append("never predicts \(scores.label) (\(scores.support) test example\(scores.support == 1 ? "" : "s")): recall of \(scores.label) is 0")
        }
        return out
    }

    private static func count(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
