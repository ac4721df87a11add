/// A point estimate with its bootstrap confidence interval, written as
/// `{"value": …, "ci_low": …, "ci_high": …, "seeds": {"n", "sd", "min", "max"}}`. With several
/// training seeds the value is the mean over seeds, the interval is `TwoLevelBootstrap`'s, and
/// `seeds` says how the seeds' own values spread (absent in results written before seeds existed).
public struct MetricValue: Codable, Equatable, Sendable {
    /// The statistic on the full data.
    public let value: Double
    /// Lower end of the confidence interval.
    public let low: Double
    /// Upper end of the confidence interval.
    public let high: Double
    /// The per-seed values' spread (nil: not recorded).
    public var seeds: SeedSpread?

    public init(value: Double, low: Double, high: Double, seeds: SeedSpread? = nil) {
        self.value = value
        self.low = low
        self.high = high
        self.seeds = seeds
    }

    enum CodingKeys: String, CodingKey {
        case value
        case low = "ci_low"
        case high = "ci_high"
        case seeds
    }
}
