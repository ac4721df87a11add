import Foundation
import Model
import Tokenizer

/// Saves a decoder (a fully fine-tuned one) as a Hugging Face Llama folder — `config.json`,
/// `model.safetensors` (fp32, every tensor under `LlamaForCausalLM`'s names, no `lm_head.weight`
/// when tied), `tokenizer.json`, `tokenizer_config.json` (the chat template and special tokens),
/// `generation_config.json` (the special tokens `generate` uses) —
/// which `AutoModelForCausalLM.from_pretrained(DIR)` and evalharness itself (`model.path: DIR`) load.
/// Written to a temporary sibling folder, then renamed to `directory`, which must not exist yet.
public enum LlamaFolderExport {
    public static func save(_ weights: LlamaWeights, config: LlamaConfig, language lm: DecoderLanguageModel, to directory: URL) throws {
        try AdapterExport.writeStaged(to: directory) { staging in
            try SafeTensorsWriter.write(weights.namedTensors(config: config), metadata: ["format": "pt"],
                                        to: staging.appendingPathComponent("model.safetensors"))
            try AdapterExport.writeJSON(config.huggingFaceConfig(bosID: lm.bosID, eosID: lm.eosID, padID: lm.padID ?? lm.eosID),
                                        to: staging.appendingPathComponent("config.json"))
            func id(_ token: Int32?) -> Any { token.map { Int($0) as Any } ?? NSNull() }
            try AdapterExport.writeJSON(["bos_token_id": id(lm.bosID), "eos_token_id": id(lm.eosID), "pad_token_id": id(lm.padID ?? lm.eosID)],
                                        to: staging.appendingPathComponent("generation_config.json"))
            try AdapterExport.writeJSON(lm.tokenizer.tokenizerJSON(source: lm.network.source), to: staging.appendingPathComponent("tokenizer.json"))
            func token(_ id: Int32?) -> Any { id.map { lm.tokenizer.tokens[Int($0)] as Any } ?? NSNull() }
            var tokenizerConfig: [String: Any] = [
                "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": token(lm.bosID), "eos_token": token(lm.eosID),
                "pad_token": token(lm.padID ?? lm.eosID), "add_bos_token": false, "add_eos_token": false, "clean_up_tokenization_spaces": false,
                "model_max_length": config.contextLength,
            ]
            if let template = lm.chatTemplate?.source { tokenizerConfig["chat_template"] = template }
            try AdapterExport.writeJSON(tokenizerConfig, to: staging.appendingPathComponent("tokenizer_config.json"))
        }
    }
}
