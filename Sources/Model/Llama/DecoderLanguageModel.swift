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
    /// folder's config keeps them).
    public let bosID: Int32?, eosID: Int32?, padID: Int32?

    public static func load(_ url: URL, storage: LlamaWeights.Storage = .native) throws -> DecoderLanguageModel {
        let network = try LlamaModel.load(url, storage: storage)
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let tokenizer: ByteLevelBPETokenizer, template: ChatTemplate?, bos: Int32?, eos: Int32?, pad: Int32?
        if isDirectory.boolValue {
            tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: url.appendingPathComponent("tokenizer.json"))
            let configURL = url.appendingPathComponent("tokenizer_config.json")
            let config = (try? InputFile.contents(of: configURL)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
            func token(_ key: String) -> Int32? {
                ((config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String)).flatMap(tokenizer.id(of:))
            }
            (bos, eos, pad) = (token("bos_token"), token("eos_token"), token("pad_token"))
            template = (config["chat_template"] as? String).flatMap(ChatTemplate.init(jinja:))
        } else {
            let gguf = try GGUFTokenizer(GGUFFile(contentsOf: url))
            tokenizer = gguf.bpe
            (bos, eos, pad) = (gguf.bosID, gguf.eosID, gguf.padID)
            template = gguf.chatTemplate.flatMap(ChatTemplate.init(jinja:))
        }
        guard tokenizer.vocabularySize <= network.config.vocabSize else {
            throw ModelInputError(file: url.path, detail: "the tokenizer has \(tokenizer.vocabularySize) tokens but the model's embedding only \(network.config.vocabSize) rows")
        }
        return DecoderLanguageModel(network: network, tokenizer: tokenizer, stopIDs: Set([eos].compactMap { $0 }), chatTemplate: template,
                                    bosID: bos, eosID: eos, padID: pad)
    }
}
