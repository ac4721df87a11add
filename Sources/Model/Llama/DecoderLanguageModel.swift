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

    public static func load(_ url: URL, storage: LlamaWeights.Storage = .native) throws -> DecoderLanguageModel {
        let network = try LlamaModel.load(url, storage: storage)
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let tokenizer: ByteLevelBPETokenizer, stop: Set<Int32>, template: ChatTemplate?
        if isDirectory.boolValue {
            tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: url.appendingPathComponent("tokenizer.json"))
            let configURL = url.appendingPathComponent("tokenizer_config.json")
            let config = (try? InputFile.contents(of: configURL)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
            let eos = (config["eos_token"] as? String) ?? ((config["eos_token"] as? [String: Any])?["content"] as? String)
            stop = Set([eos.flatMap(tokenizer.id(of:))].compactMap { $0 })
            template = (config["chat_template"] as? String).flatMap(ChatTemplate.init(jinja:))
        } else {
            let gguf = try GGUFTokenizer(GGUFFile(contentsOf: url))
            tokenizer = gguf.bpe
            stop = Set([gguf.eosID].compactMap { $0 })
            template = gguf.chatTemplate.flatMap(ChatTemplate.init(jinja:))
        }
        guard tokenizer.vocabularySize <= network.config.vocabSize else {
            throw ModelInputError(file: url.path, detail: "the tokenizer has \(tokenizer.vocabularySize) tokens but the model's embedding only \(network.config.vocabSize) rows")
        }
        return DecoderLanguageModel(network: network, tokenizer: tokenizer, stopIDs: stop, chatTemplate: template)
    }
}
