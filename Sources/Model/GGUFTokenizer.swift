import Foundation
import Tokenizer

/// The tokenizer a GGUF file carries (`tokenizer.ggml.*`): byte-level BPE (`model` "gpt2") with
/// its vocabulary, merges, special tokens and pre-tokenizer, and the chat template.
public struct GGUFTokenizer: Sendable {
    /// With the file's beginning-of-sequence, end-of-sequence and padding tokens as its `specialTokens`.
    public let bpe: ByteLevelBPETokenizer
    public var bosID: Int32? { bpe.specialTokens.sequenceStart }
    public var eosID: Int32? { bpe.specialTokens.sequenceEnd }
    public var padID: Int32? { bpe.specialTokens.padding }
    /// `tokenizer.chat_template` (a Jinja template), when the file has one.
    public let chatTemplate: String?

    /// Pre-tokenizer names (`tokenizer.ggml.pre`) and whether each isolates digits before the GPT-2
    /// pattern. llama.cpp's `smollm` does (as SmolLM2's own tokenizer.json); `gpt2` and `default` don't.
    static let preTokenizers: [String: Bool] = ["smollm": true, "gpt2": false, "default": false]

    public init(_ file: GGUFFile) throws(ModelInputError) {
        let model = try file.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw ModelInputError(file: file.url.path, detail: "metadata \"tokenizer.ggml.model\" is \"\(model)\"; only byte-level BPE (\"gpt2\") is supported")
        }
        let pre = file.value("tokenizer.ggml.pre") == nil ? "default" : try file.string("tokenizer.ggml.pre")
        guard let splitDigits = Self.preTokenizers[pre] else {
            throw ModelInputError(file: file.url.path, detail: "metadata \"tokenizer.ggml.pre\" is \"\(pre)\", a pre-tokenizer this release does not know (supported: \(Self.preTokenizers.keys.sorted().joined(separator: ", ")))")
        }
        let tokens = try file.strings("tokenizer.ggml.tokens")
        let merges = try file.strings("tokenizer.ggml.merges")
        var special: Set<Int32> = []
        if file.value("tokenizer.ggml.token_type") != nil {
            let types = try file.integers("tokenizer.ggml.token_type")
            guard types.count == tokens.count else {
                throw ModelInputError(file: file.url.path, detail: "metadata \"tokenizer.ggml.token_type\" has \(types.count) entries for \(tokens.count) tokens")
            }
            // 3 = control, 4 = user-defined: matched literally in text (llama.cpp's llama_token_type).
            special = Set(types.indices.filter { types[$0] == 3 || types[$0] == 4 }.map { Int32($0) })
        }
        var bpe: ByteLevelBPETokenizer
        do {
            bpe = try ByteLevelBPETokenizer(tokens: tokens, merges: merges, specialIDs: special, splitDigits: splitDigits, source: file.url)
        } catch let error as TokenizerError {
            throw ModelInputError(file: file.url.path, detail: error.message)
        } catch {
            throw ModelInputError(file: file.url.path, detail: "\(error)")
        }
        func tokenID(_ key: String) throws(ModelInputError) -> Int32? {
            guard file.value(key) != nil else { return nil }
            return Int32(try file.integer(key, in: 0...(tokens.count - 1)))
        }
        bpe.specialTokens = SpecialTokenIDs(sequenceStart: try tokenID("tokenizer.ggml.bos_token_id"),
                                            sequenceEnd: try tokenID("tokenizer.ggml.eos_token_id"),
                                            padding: try tokenID("tokenizer.ggml.padding_token_id"))
        self.bpe = bpe
        chatTemplate = file.value("tokenizer.chat_template") == nil ? nil : try file.string("tokenizer.chat_template")
    }
}
