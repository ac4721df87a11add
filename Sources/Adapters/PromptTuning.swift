import Kernels
import Model
import Tokenizer

/// How prompt-tuning vectors start, as PEFT's `prompt_tuning_init`.
public enum PromptInitialization: Sendable, Equatable {
    /// Rows of the word-embedding table at random token ids (PEFT's SAMPLE_VOCAB).
    case randomVocabulary
    /// The word embeddings of a text's token ids ([CLS] … [SEP] included, as PEFT tokenises it),
    /// repeated or cut to the number of virtual tokens (PEFT's TEXT).
    case text(String)
}

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

    public init(virtualTokens: Int, base: EncoderParameters, initialization: PromptInitialization,
                tokenizer: WordPieceTokenizer?, seed: UInt64) throws {
        guard virtualTokens >= 0 else { throw AdapterConfigurationError("prompt num_virtual_tokens must be ≥ 0 (got \(virtualTokens))") }
        let C = base.config.hiddenSize
        self.virtualTokens = virtualTokens
        self.hiddenSize = C
        parameters = FloatBuffer(count: max(1, virtualTokens * C))
        gradients = FloatBuffer(count: max(1, virtualTokens * C))
        guard virtualTokens > 0 else { return }
        let ids: [Int32]
        switch initialization {
        case .randomVocabulary:
            var generator = SeededGenerator(seed: seed)
            ids = (0..<virtualTokens).map { _ in Int32(generator.next() % UInt64(base.config.vocabSize)) }
        case .text(let text):
            guard let tokenizer else { throw AdapterConfigurationError("prompt init text needs the model's tokenizer") }
            let textIDs = tokenizer.encode(text)
            ids = (0..<virtualTokens).map { textIDs[$0 % textIDs.count] }
        }
        for (row, id) in ids.enumerated() {
            (parameters.pointer + row * C).update(from: base.pointer(.wordEmbeddings) + Int(id) * C, count: C)
        }
    }

    public var promptLength: Int { virtualTokens }
    public var promptEmbeddings: UnsafePointer<Float>? { virtualTokens > 0 ? UnsafePointer(parameters.pointer) : nil }
    public var promptGradients: UnsafeMutablePointer<Float>? { virtualTokens > 0 ? gradients.pointer : nil }
    public var trainableCount: Int { virtualTokens * hiddenSize }
}
