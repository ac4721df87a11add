import Foundation
import Kernels
import Tokenizer

/// Text in, sentence embeddings out — what sentence-transformers' `encode(normalize_embeddings=True)`
/// computes for a BERT model with mean pooling: tokenise (truncating to `maxLength`), batch texts
/// of similar length together, run the shared encoder, mean-pool over real tokens, L2-normalise.
public final class SentenceEmbedder {
    public let tokenizer: WordPieceTokenizer
    public let encoder: BertEncoder
    /// sentence-transformers' default for all-MiniLM-L6-v2.
    public static let defaultMaxLength = 256

    public init(tokenizer: WordPieceTokenizer, encoder: BertEncoder) {
        self.tokenizer = tokenizer
        self.encoder = encoder
    }

    /// Loads the tokenizer and weights of a Hugging Face model folder.
    public static func load(modelDirectory: URL) throws -> SentenceEmbedder {
        let parameters = try PretrainedEncoder.loadParameters(directory: modelDirectory)
        let tokenizer = try WordPieceTokenizer.load(modelDirectory: modelDirectory)
        try parameters.config.checkVocabulary(tokenCount: tokenizer.vocabularySize,
                                              file: modelDirectory.appendingPathComponent("vocab.txt").path)
        return SentenceEmbedder(tokenizer: tokenizer, encoder: BertEncoder(parameters: parameters))
    }

    /// Normalised embeddings, one `[C]` row per text, in input order.
    /// Texts are sorted by token count so each batch pads to a similar length.
    public func embed(_ texts: [String], maxLength: Int = defaultMaxLength, batchSize: Int = 32,
                      progress: ((_ done: Int, _ total: Int) -> Void)? = nil) -> [[Float]] {
        let limit = min(maxLength, encoder.config.maxPositionEmbeddings)
        let ids = texts.map { tokenizer.encode($0, maxLength: limit) }
        return embed(tokenIDs: ids, batchSize: batchSize, progress: progress)
    }

    /// As `embed(_:)`, from token ids that already include [CLS] and [SEP].
    public func embed(tokenIDs ids: [[Int32]], batchSize: Int = 32,
                      progress: ((_ done: Int, _ total: Int) -> Void)? = nil) -> [[Float]] {
        let C = encoder.config.hiddenSize
        let order = ids.indices.sorted { ids[$0].count > ids[$1].count }
        var result = [[Float]](repeating: [], count: ids.count)
        for start in stride(from: 0, to: order.count, by: max(1, batchSize)) {
            let members = Array(order[start..<min(start + batchSize, order.count)])
            encoder.forward(TokenBatch(sequences: members.map { ids[$0] }, padID: tokenizer.padID))
            var pooled = encoder.meanPooledLastHiddenState()
            pooled.withUnsafeMutableBufferPointer { l2NormalizeRows($0.baseAddress!, rows: members.count, channels: C) }
            for (row, index) in members.enumerated() {
                result[index] = Array(pooled[(row * C)..<((row + 1) * C)])
            }
            progress?(min(start + batchSize, order.count), order.count)
        }
        return result
    }
}
