/// The six numbers reported first for a candidate, each with a percentile-bootstrap confidence
/// interval (see `Bootstrap`). All six are computed on the same resamples: for each resample, the
/// `ClassificationReport` of the resampled examples gives accuracy, macro precision, macro recall,
/// macro F1, log loss and ECE.
public struct HeadlineMetrics: Codable, Equatable, Sendable {
    public let accuracy: MetricValue
    public let precisionMacro: MetricValue
    public let recallMacro: MetricValue
    public let f1Macro: MetricValue
    public let logLoss: MetricValue
    public let expectedCalibrationError: MetricValue

    enum CodingKeys: String, CodingKey {
        case accuracy
        case precisionMacro = "precision_macro"
        case recallMacro = "recall_macro"
        case f1Macro = "f1_macro"
        case logLoss = "log_loss"
        case expectedCalibrationError = "ece"
    }

    /// The six values in `Gate.headlineMetricNames` order.
    init(_ values: [MetricValue]) {
        precondition(values.count == 6, "six headline metrics")
        self.init(accuracy: values[0], precisionMacro: values[1], recallMacro: values[2], f1Macro: values[3],
                  logLoss: values[4], expectedCalibrationError: values[5])
    }

    public init(accuracy: MetricValue, precisionMacro: MetricValue, recallMacro: MetricValue, f1Macro: MetricValue,
                logLoss: MetricValue, expectedCalibrationError: MetricValue) {
        self.accuracy = accuracy; self.precisionMacro = precisionMacro; self.recallMacro = recallMacro
        self.f1Macro = f1Macro; self.logLoss = logLoss; self.expectedCalibrationError = expectedCalibrationError
    }

    /// The metric named as checks name it (`Gate.headlineMetricNames`).
    public func value(named name: String) -> MetricValue? {
        switch PredictionMetric.Kind(rawValue: name) {
        case .accuracy: accuracy
        case .precisionMacro: precisionMacro
        case .recallMacro: recallMacro
        case .f1Macro: f1Macro
        case .logLoss: logLoss
        case .ece: expectedCalibrationError
        default: nil
        }
    }

    /// The six metrics of a report, in `Gate.headlineMetricNames` order.
    static func values(of report: ClassificationReport) -> [Double] {
        PredictionMetric.headline.map { $0.value(of: report) }
    }

    /// The headline metrics of one candidate; the arguments are those of
    /// `ClassificationMetrics.compute` and `Bootstrap.confidenceIntervals`.
    public static func compute(
        labels: [Int], predicted: [Int], probabilities: [[Double]], classCount: Int,
        resamples: Int = 1000, level: Double = 0.95, seed: UInt64
    ) -> HeadlineMetrics {
        let values = Bootstrap.confidenceIntervals(
            count: labels.count, resamples: resamples, level: level, seed: seed
        ) { indices in
            Self.values(of: ClassificationMetrics.compute(
                labels: indices.map { labels[$0] },
                predicted: indices.map { predicted[$0] },
                probabilities: indices.map { probabilities[$0] },
                classCount: classCount))
        }
        return HeadlineMetrics(values)
    }
}
