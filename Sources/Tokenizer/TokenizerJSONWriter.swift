import Foundation

extension ByteLevelBPETokenizer {
    /// The tokenizer as a Hugging Face `tokenizer.json` (the layout `tokenizers` writes for a
    /// byte-level BPE): the vocabulary and merges, the special tokens as `added_tokens`, the
    /// pre-tokenizer (ByteLevel with GPT-2's pattern and no prefix space, after
    /// `Digits(individual_digits)` when digits are split), no post-processor (no token is added)
    /// and the ByteLevel decoder — field for field what SmolLM2's own tokenizer.json holds. Reading it
    /// back (`init(tokenizerJSON:)`, or `tokenizers`) gives the same ids.
    /// - Throws: `TokenizerError` when two ids share a spelling, which the vocabulary mapping cannot hold.
    public func tokenizerJSON(source: URL) throws -> [String: Any] {
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            if let other = vocabulary[token] {
                throw TokenizerError(file: source, "tokens \(other) and \(id) are both \"\(token)\"; a tokenizer.json vocabulary cannot hold both")
            }
            vocabulary[token] = id
        }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let preTokenizer: [String: Any] = splitDigits
            ? ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
            : byteLevel
        return [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "normalizer": NSNull(),
            "added_tokens": specialIDs.sorted().map { id -> [String: Any] in
                ["id": Int(id), "content": tokens[Int(id)], "single_word": false, "lstrip": false, "rstrip": false,
                 "normalized": false, "special": true]
            },
            "pre_tokenizer": preTokenizer,
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true] as [String: Any],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocabulary, "merges": mergeRules,
            ] as [String: Any],
        ]
    }
}
