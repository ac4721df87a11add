import Foundation

/// One test example of a generation task: what the model generated greedily, how it matched the
/// references (`AnswerMatching`), and how probable the model found the first reference (its
/// tokens, then the end-of-answer token, teacher-forced after the prompt).
public struct GeneratedAnswer: Codable, Equatable, Sendable {
    public var id: String
    /// The generated text, without the stop token.
    public var output: String
    /// The accepted answers; the first is the one trained on and scored for `referenceLoss`.
    public var references: [String]
    /// 1 or 0 (`AnswerMatching.exactMatch`).
    public var exactMatch: Double
    public var tokenF1: Double
    /// −log p(first reference + end token | prompt), in nats, summed over its tokens.
    public var referenceLoss: Double
    /// How many tokens `referenceLoss` sums over.
    public var referenceTokens: Int

    public init(id: String, output: String, references: [String], referenceLoss: Double, referenceTokens: Int) {
        self.id = id; self.output = output; self.references = references
        exactMatch = AnswerMatching.exactMatch(output, references: references)
        tokenF1 = AnswerMatching.tokenF1(output, references: references)
        self.referenceLoss = referenceLoss; self.referenceTokens = referenceTokens
    }

    enum CodingKeys: String, CodingKey {
        case id, output, references, exactMatch = "exact_match", tokenF1 = "token_f1"
        case referenceLoss = "reference_loss", referenceTokens = "reference_tokens"
    }
}

/// A metric of a generation task's test answers: bootstrapped into an interval, averaged over
/// seeds, paired against a reference and gated like the classification metrics.
public enum GenerationMetric: String, CaseIterable, Sendable {
    /// The share of answers that equal a reference after normalisation.
    case exactMatch = "exact_match"
    /// The mean best token F1.
    case tokenF1 = "token_f1"
    /// Nats per reference token: the references' summed loss over their summed tokens.
    case answerLoss = "answer_loss"
    /// exp(answer_loss): the references' perplexity under the model.
    case perplexity

    public var higherIsBetter: Bool { self == .exactMatch || self == .tokenF1 }
    /// Exact match and token F1 are fractions from 0 to 1.
    public var isFraction: Bool { higherIsBetter }

    /// The metric of the answers at `indices` (with repetitions).
    public func value(of rows: [GeneratedAnswer], at indices: [Int]) -> Double {
        guard !indices.isEmpty else { return .nan }
        switch self {
        case .exactMatch: return indices.reduce(0) { $0 + rows[$1].exactMatch } / Double(indices.count)
        case .tokenF1: return indices.reduce(0) { $0 + rows[$1].tokenF1 } / Double(indices.count)
        case .answerLoss, .perplexity:
            let loss = indices.reduce(0.0) { $0 + rows[$1].referenceLoss }
            let tokens = indices.reduce(0) { $0 + rows[$1].referenceTokens }
            let perToken = tokens == 0 ? .nan : loss / Double(tokens)
            return self == .answerLoss ? perToken : Foundation.exp(perToken)
        }
    }

    static func values(of rows: [GeneratedAnswer], at indices: [Int]) -> [Double] {
        allCases.map { $0.value(of: rows, at: indices) }
    }
}

/// A generation task's four test metrics for one candidate (results.json `generation_metrics`):
/// each the mean over seeds with a two-level bootstrap interval and the seeds' spread, like
/// `HeadlineMetrics`.
public struct GenerationMetrics: Codable, Equatable, Sendable {
    public let exactMatch: MetricValue
    public let tokenF1: MetricValue
    public let answerLoss: MetricValue
    public let perplexity: MetricValue

    enum CodingKeys: String, CodingKey {
        case exactMatch = "exact_match", tokenF1 = "token_f1", answerLoss = "answer_loss", perplexity
    }

    public init(exactMatch: MetricValue, tokenF1: MetricValue, answerLoss: MetricValue, perplexity: MetricValue) {
        self.exactMatch = exactMatch; self.tokenF1 = tokenF1; self.answerLoss = answerLoss; self.perplexity = perplexity
    }

    public func value(_ metric: GenerationMetric) -> MetricValue {
        switch metric {
        case .exactMatch: exactMatch
        case .tokenF1: tokenF1
        case .answerLoss: answerLoss
        case .perplexity: perplexity
        }
    }

    /// The four metrics over seeds (each seed's answers to the same examples in the same order):
    /// the seeds' mean on all examples, a two-level bootstrap interval on shared resamples, the
    /// seeds' spread. Nil without answers.
    public static func summarize(_ seeds: [[GeneratedAnswer]], resamples: Int, level: Double, seed: UInt64) -> GenerationMetrics? {
        guard let first = seeds.first, !first.isEmpty else { return nil }
        let distributions = TwoLevelBootstrap.distributions(
            seedCount: seeds.count, exampleCount: first.count, resamples: resamples, seed: seed
        ) { s, indices in GenerationMetric.values(of: seeds[s], at: indices) }
        let perSeed = seeds.map { GenerationMetric.values(of: $0, at: Array($0.indices)) }
        let values = distributions.indices.map { k in
            var value = distributions[k].metricValue(level: level)
            value.seeds = SeedSpread(perSeed.map { $0[k] })
            return value
        }
        return GenerationMetrics(exactMatch: values[0], tokenF1: values[1], answerLoss: values[2], perplexity: values[3])
    }
}
