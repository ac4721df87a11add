import Kernels
import Tokenizer

/// How prompt-tuning vectors start, as PEFT's `prompt_tuning_init`.
public enum PromptInitialization: Sendable, Equatable {
    /// Rows of the word-embedding table at random token ids (PEFT's SAMPLE_VOCAB).
    case randomVocabulary
    /// The word embeddings of a text's token ids, the text tokenised as the model reads a
    /// sequence (BERT's [CLS] … [SEP] included, as PEFT tokenises it), repeated or cut to the
    /// number of virtual tokens (PEFT's TEXT).
    case text(String)
}

/// Soft prompt tuning's settings (Lester et al. 2021, https://arxiv.org/abs/2104.08691), as
/// PEFT's `PromptTuningConfig`, for any backbone: the initial token ids and `adapter_config.json`
/// are written once here; each backbone places the vectors before its sequences.
public struct PromptTuningConfiguration: Sendable, Equatable {
    public var virtualTokens: Int
    public var initialization: PromptInitialization

    public init(virtualTokens: Int, initialization: PromptInitialization) throws(AdapterConfigurationError) {
        guard virtualTokens >= 0 else { throw AdapterConfigurationError("prompt num_virtual_tokens must be ≥ 0 (got \(virtualTokens))") }
        self.virtualTokens = virtualTokens
        self.initialization = initialization
    }

    /// The `virtualTokens` ids whose embedding rows the vectors start as: ids drawn uniformly from
    /// the vocabulary with `seed`, or the text's ids repeated or cut to length.
    public func initialTokenIDs(vocabularySize: Int, tokenizer: (any TextTokenizer)?, seed: UInt64) throws(AdapterConfigurationError) -> [Int32] {
        switch initialization {
        case .randomVocabulary:
            var generator = SeededGenerator(seed: seed)
            return (0..<virtualTokens).map { _ in Int32(generator.next() % UInt64(vocabularySize)) }
        case .text(let text):
            guard let tokenizer else { throw AdapterConfigurationError("prompt init text needs the model's tokenizer") }
            let ids = tokenizer.encode(text)
            guard !ids.isEmpty else { throw AdapterConfigurationError("prompt init text \"\(text)\" has no tokens") }
            return (0..<virtualTokens).map { ids[$0 % ids.count] }
        }
    }

    /// PEFT 0.21's `adapter_config.json` for these vectors on a model of `layers` blocks with
    /// `heads` attention heads and width `tokenDim`; `baseModel` is the base's path (also the
    /// tokenizer's, for a text initialisation). A head to save is the caller's to add.
    public func peftConfig(taskType: String, tokenDim: Int, heads: Int, layers: Int, baseModel: String) -> [String: Any] {
        Self.peftConfig(virtualTokens: virtualTokens, initialization: initialization, taskType: taskType, tokenDim: tokenDim,
                        heads: heads, layers: layers, baseModel: baseModel)
    }

    /// The same for vectors of any origin (a saved adapter's count, however it started).
    public static func peftConfig(virtualTokens: Int, initialization: PromptInitialization, taskType: String, tokenDim: Int,
                                  heads: Int, layers: Int, baseModel: String) -> [String: Any] {
        var config: [String: Any] = [
            "peft_type": "PROMPT_TUNING", "task_type": taskType, "base_model_name_or_path": baseModel,
            "num_virtual_tokens": virtualTokens, "token_dim": tokenDim, "num_transformer_submodules": 1,
            "num_attention_heads": heads, "num_layers": layers, "inference_mode": true,
        ]
        switch initialization {
        case .randomVocabulary: config["prompt_tuning_init"] = "SAMPLE_VOCAB"
        case .text(let text):
            config["prompt_tuning_init"] = "TEXT"
            config["prompt_tuning_init_text"] = text
            config["tokenizer_name_or_path"] = baseModel
        }
        return config
    }
}
