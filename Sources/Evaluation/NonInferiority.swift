/// Non-inferiority of a candidate to a baseline within a margin, decided from a paired-bootstrap
/// interval of (candidate − baseline) (see `PairedBootstrap`).
///
/// For a metric where higher is better (accuracy, F1): the candidate is non-inferior when the
/// lower end of the interval is above −margin, i.e. it is not worse by more than `margin` at the
/// interval's level. For a metric where lower is better (log loss, ECE): when the upper end is
/// below +margin. With a two-sided 95 % interval this is a one-sided test at the 2.5 % level.
public enum NonInferiority {
    /// - Parameters:
    ///   - difference: the paired comparison of candidate and baseline.
    ///   - margin: the largest tolerated loss, in the metric's units (≥ 0).
    ///   - higherIsBetter: the metric's direction.
    public static func decide(
        _ difference: PairedDifference, margin: Double, higherIsBetter: Bool = true
    ) -> NonInferiorityDecision {
        precondition(margin >= 0, "margin must be non-negative")
        let bound = higherIsBetter ? difference.low : difference.high
        return NonInferiorityDecision(
            margin: margin,
            higherIsBetter: higherIsBetter,
            level: difference.level,
            bound: bound,
            nonInferior: higherIsBetter ? bound > -margin : bound < margin)
    }
}

/// The outcome of `NonInferiority.decide`.
public struct NonInferiorityDecision: Codable, Equatable, Sendable {
    public let margin: Double
    public let higherIsBetter: Bool
    /// Confidence level of the interval the decision used.
    public let level: Double
    /// The interval end compared with the margin: the lower end of (candidate − baseline) when
    /// higher is better, the upper end otherwise.
    public let bound: Double
    /// Whether the candidate is not worse than the baseline by more than `margin`.
    public let nonInferior: Bool

    enum CodingKeys: String, CodingKey {
        case margin
        case higherIsBetter = "higher_is_better"
        case level, bound
        case nonInferior = "non_inferior"
    }
}
