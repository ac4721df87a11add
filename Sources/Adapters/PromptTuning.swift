import Kernels
import Model
import Tokenizer

/// Soft prompt tuning (Lester et al. 2021, https://arxiv.org/abs/2104.08691): P learned vectors
/// placed before the input's word embeddings, as PEFT's prompt tuning feeds them to BERT — they get
/// position embeddings 0..P−1 and token type 0, pass through the embedding LayerNorm, and every base
/// weight stays frozen. The classification head reads position 0 (the first virtual token, as in
/// PEFT); mean pooling for similarity covers real tokens only.
public final class PromptTuningAdapter: EncoderAdapter, @unchecked Sendable {
    public let virtualTokens: Int
    public let hiddenSize: Int
    /// (P, C)
    public let parameters: FloatBuffer
    /// (P, C)
    public let gradients: FloatBuffer

    public init(configuration: PromptTuningConfiguration, base: EncoderParameters, tokenizer: (any TextTokenizer)?, seed: UInt64) throws {
        let C = base.config.hiddenSize, P = configuration.virtualTokens
        self.virtualTokens = P
        self.hiddenSize = C
        parameters = FloatBuffer(count: max(1, P * C))
        gradients = FloatBuffer(count: max(1, P * C))
        guard P > 0 else { return }
        let ids = try configuration.initialTokenIDs(vocabularySize: base.config.vocabSize, tokenizer: tokenizer, seed: seed)
        for (row, id) in ids.enumerated() {
            (parameters.pointer + row * C).update(from: base.pointer(.wordEmbeddings) + Int(id) * C, count: C)
        }
    }

    public var promptLength: Int { virtualTokens }
    public var promptEmbeddings: UnsafePointer<Float>? { virtualTokens > 0 ? UnsafePointer(parameters.pointer) : nil }
    public var promptGradients: UnsafeMutablePointer<Float>? { virtualTokens > 0 ? gradients.pointer : nil }
    public var trainableCount: Int { virtualTokens * hiddenSize }
}
