/// A model family's tokenizer, as the rest of the tool sees it: a text becomes the ids the model
/// reads for one sequence, every id below `vocabularySize` (checked against the embedding once,
/// when a model loads: `checkTokenizerFits`), and the special tokens by their jobs. BERT's
/// WordPiece and the decoders' byte-level BPE implement it; prompt tuning's text initialisation
/// and the vocabulary check are written against it once. Both families pad batches on the right
/// (the encoder masks padded keys; the decoder's causal mask keeps real tokens from seeing them).
public protocol TextTokenizer: Sendable {
    var vocabularySize: Int { get }
    /// The ids of `text` as the model reads one sequence: WordPiece wraps them in [CLS] … [SEP];
    /// byte-level BPE adds nothing (a decoder's prompt format adds its own markers).
    func encode(_ text: String) -> [Int32]
    var specialTokens: SpecialTokenIDs { get }
}

/// Special tokens by their job; nil where a model declares none.
public struct SpecialTokenIDs: Sendable, Equatable {
    /// [CLS] (BERT) or the beginning-of-sequence token (`<|im_start|>` in SmolLM2).
    public var sequenceStart: Int32?
    /// [SEP] or the end-of-sequence token (`<|im_end|>`): generation stops there.
    public var sequenceEnd: Int32?
    public var padding: Int32?
    public var unknown: Int32?

    public init(sequenceStart: Int32? = nil, sequenceEnd: Int32? = nil, padding: Int32? = nil, unknown: Int32? = nil) {
        self.sequenceStart = sequenceStart; self.sequenceEnd = sequenceEnd; self.padding = padding; self.unknown = unknown
    }
}

extension WordPieceTokenizer: TextTokenizer {
    public func encode(_ text: String) -> [Int32] { encode(text, maxLength: nil) }
    public var specialTokens: SpecialTokenIDs { SpecialTokenIDs(sequenceStart: clsID, sequenceEnd: sepID, padding: padID, unknown: unkID) }
}

extension ByteLevelBPETokenizer: TextTokenizer {}
