/// How much of a capability fine-tuning lost, e.g. the Spearman correlation between the
/// encoder's cosine similarities and human similarity scores, before and after.
public struct ForgettingReport: Codable, Equatable, Sendable {
    /// The score of the base model.
    public let base: Double
    /// The score of the fine-tuned candidate.
    public let candidate: Double
    /// base − candidate (positive: the candidate forgot).
    public let absoluteDrop: Double
    /// (base − candidate) / |base|; nil when base is 0.
    public let relativeDrop: Double?

    public init(base: Double, candidate: Double) {
        self.base = base
        self.candidate = candidate
        absoluteDrop = base - candidate
        relativeDrop = base == 0 ? nil : (base - candidate) / abs(base)
    }

    enum CodingKeys: String, CodingKey {
        case base, candidate
        case absoluteDrop = "absolute_drop"
        case relativeDrop = "relative_drop"
    }
}
