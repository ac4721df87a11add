import Foundation
import InputFiles
import Tokenizer

/// A decoder language model ready to use: the network, its tokenizer, its stop tokens and its chat
/// format — from a GGUF file (everything inside it) or a Hugging Face Llama folder (`config.json`,
/// `model.safetensors`, `tokenizer.json`, and `tokenizer_config.json` for the chat template and
/// end-of-sequence token).
public struct DecoderLanguageModel: Sendable {
    public let network: LlamaModel
    public let tokenizer: ByteLevelBPETokenizer
    /// Generation stops after any of these (the model's end-of-sequence and end-of-turn tokens).
    public let stopIDs: Set<Int32>
    public let chatTemplate: ChatTemplate?
    /// The beginning-of-sequence, end-of-sequence and padding tokens the model declares (a saved
    /// folder's config keeps them): the tokenizer's `specialTokens`.
    public var bosID: Int32? { tokenizer.specialTokens.sequenceStart }
    public var eosID: Int32? { tokenizer.specialTokens.sequenceEnd }
    public var padID: Int32? { tokenizer.specialTokens.padding }

    public static func load(_ url: URL, storage: LlamaWeights.Storage = .native) throws -> DecoderLanguageModel {
        let network = try LlamaModel.load(url, storage: storage)
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        var tokenizer: ByteLevelBPETokenizer, template: ChatTemplate?
        if isDirectory.boolValue {
            tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: url.appendingPathComponent("tokenizer.json"))
            let configURL = url.appendingPathComponent("tokenizer_config.json")
            let config = (try? InputFile.contents(of: configURL)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
            func token(_ key: String) -> Int32? {
                ((config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String)).flatMap(tokenizer.id(of:))
            }
            tokenizer.specialTokens = SpecialTokenIDs(sequenceStart: token("bos_token"), sequenceEnd: token("eos_token"), padding: token("pad_token"))
            template = (config["chat_template"] as? String).flatMap(ChatTemplate.init(jinja:))
        } else {
            let gguf = try GGUFTokenizer(GGUFFile(contentsOf: url))
            tokenizer = gguf.bpe
            template = gguf.chatTemplate.flatMap(ChatTemplate.init(jinja:))
        }
        try checkTokenizerFits(tokenizer, embeddingRows: network.config.vocabSize, rowsFrom: "the model's vocabulary size", file: url.path)
        return DecoderLanguageModel(network: network, tokenizer: tokenizer, stopIDs: Set([tokenizer.specialTokens.sequenceEnd].compactMap { $0 }),
                                    chatTemplate: template)
    }
}
