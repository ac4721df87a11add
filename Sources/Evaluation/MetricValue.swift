/// A point estimate with its bootstrap confidence interval, written as
/// `{"value": …, "ci_low": …, "ci_high": …}`.
public struct MetricValue: Codable, Equatable, Sendable {
    /// The statistic on the full data.
    public let value: Double
    /// Lower end of the confidence interval.
    public let low: Double
    /// Upper end of the confidence interval.
    public let high: Double

    public init(value: Double, low: Double, high: Double) {
        self.value = value
        self.low = low
        self.high = high
    }

    enum CodingKeys: String, CodingKey {
        case value
        case low = "ci_low"
        case high = "ci_high"
    }
}
