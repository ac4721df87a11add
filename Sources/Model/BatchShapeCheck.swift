import Kernels
import Tokenizer

/// Every token id a tokenizer produces must index the embedding table, for every family: checked
/// once, when a model and its tokenizer load, before any id reaches a kernel. Fewer tokens than
/// rows is fine (some checkpoints pad the table); more is refused. `rowsFrom` says where the row
/// count came from.
public func checkTokenizerFits(_ tokenizer: any TextTokenizer, embeddingRows: Int, rowsFrom: String, file: String) throws(ModelInputError) {
    try checkTokenizerFits(tokenCount: tokenizer.vocabularySize, embeddingRows: embeddingRows, rowsFrom: rowsFrom, file: file)
}

func checkTokenizerFits(tokenCount: Int, embeddingRows: Int, rowsFrom: String, file: String) throws(ModelInputError) {
    guard tokenCount <= embeddingRows else {
        throw ModelInputError(file: file, detail: "vocabulary: has \(tokenCount) tokens but the model's embedding table has \(embeddingRows) rows (\(rowsFrom)); token ids would index past it")
    }
}

extension BertConfig {
    /// `checkTokenizerFits` for a vocabulary file of `tokenCount` tokens.
    public func checkVocabulary(tokenCount: Int, file: String) throws(ModelInputError) {
        try checkTokenizerFits(tokenCount: tokenCount, embeddingRows: vocabSize, rowsFrom: "config.json vocab_size", file: file)
    }

    /// Checks a batch shape against the model before any buffer is sized — the boundary where the
    /// model, the suite and the command line meet. `tokens` counts the real tokens and
    /// `virtualTokens` the prompt-tuning tokens placed in front: together they must fit the
    /// position table, and batch × tokens must fit the 32-bit dimensions BLAS takes.
    /// `source` names the input that chose the shape (a flag, a suite field).
    public func checkBatchShape(batch: Int, tokens: Int, virtualTokens: Int = 0, source: String) throws(ModelInputError) {
        guard batch >= 1, tokens >= 1, virtualTokens >= 0 else {
            throw ModelInputError(file: source, detail: "a batch needs at least one sequence of at least one token (got batch \(batch), \(tokens) tokens)")
        }
        let positions = CheckedCount(tokens) + virtualTokens
        guard let total = positions.value, total <= maxPositionEmbeddings else {
            let virtual = virtualTokens > 0 ? " plus \(virtualTokens) virtual tokens" : ""
            throw ModelInputError(file: source, detail: "\(tokens) tokens\(virtual) exceed the model's \(maxPositionEmbeddings) positions (max_position_embeddings)")
        }
        guard let rows = (CheckedCount(batch) * total).value, rows <= Int(Int32.max) else {
            throw ModelInputError(file: source, detail: "batch \(batch) × \(total) tokens is more rows than a 32-bit matrix dimension holds (\(Int32.max))")
        }
    }
}
