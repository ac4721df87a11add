import Foundation
import Tokenizer

/// What a parameter-efficient method adds to a frozen Llama decoder, in the two places the
/// training graph and inference meet it: low-rank updates at linear sites (LoRA, QLoRA) and
/// virtual tokens before every sequence (prompt tuning). Its tensors are what trains, keyed by
/// the names PEFT saves them under in `adapter_model.safetensors`.
public protocol LlamaAdapter: Sendable {
    var tensors: [String: [Float]] { get set }
    /// (P, d) embeddings placed before every sequence at positions 0..<P; empty for none.
    var prefix: [Float] { get }
    /// The name of the prefix's tensor (its gradient's key).
    var prefixName: String { get }
    /// The low-rank update at one linear site, or nil when the site is not adapted.
    func lowRank(layer: Int, _ target: LlamaLinear) -> LowRankSite?
    /// The model inference runs: the adapter's effect folded into a plain `LlamaModel` (LoRA
    /// merged into the weights, a prompt as the model's prefix).
    func inferenceModel(_ model: LlamaModel) -> LlamaModel
    /// The tensors as PEFT saves them in `adapter_model.safetensors`, with their shapes.
    func peftTensors(config: LlamaConfig) -> [(name: String, shape: [Int], values: [Float])]
    /// PEFT's `adapter_config.json` for a `CAUSAL_LM` model over `baseModel` (its path).
    func peftConfig(config: LlamaConfig, baseModel: String) -> [String: Any]
    /// The adapter as a llama.cpp adapter GGUF holds it, if llama.cpp has such an adapter (LoRA).
    func llamaCppAdapter(config: LlamaConfig) -> (metadata: [(key: String, value: GGUFWriter.Value)], tensors: [GGUFWriter.Tensor])?
}

extension LlamaAdapter {
    public var prefix: [Float] { [] }
    public var prefixName: String { "" }
    public func lowRank(layer: Int, _ target: LlamaLinear) -> LowRankSite? { nil }
    public func llamaCppAdapter(config: LlamaConfig) -> (metadata: [(key: String, value: GGUFWriter.Value)], tensors: [GGUFWriter.Tensor])? { nil }
    /// Trainable values.
    public var parameterCount: Int { tensors.values.reduce(0) { $0 + $1.count } }
}

/// y += scale · (dropout(x)·Aᵀ)·Bᵀ at one linear layer: A (r, in), B (out, r), and their tensors' names.
public struct LowRankSite {
    public let a: [Float], b: [Float]
    public let rank: Int
    public let scale: Float
    /// Dropout on the update's input while training (PEFT's `lora_dropout`).
    public let dropout: Float
    public let aName: String, bName: String
}

/// Soft prompt tuning of a decoder (Lester et al. 2021, https://arxiv.org/abs/2104.08691), as
/// PEFT's `PROMPT_TUNING` for `CAUSAL_LM`: P learned vectors concatenated before every sequence's
/// token embeddings, attended by every token, at positions 0..<P (the real tokens then start at
/// P: PEFT passes no position ids, so transformers numbers the concatenation from 0); the base
/// stays frozen. Saved by PEFT as the one tensor `prompt_embeddings` (P, d).
public struct LlamaPromptTuning: LlamaAdapter {
    public static let tensorName = "prompt_embeddings"
    public let virtualTokens: Int
    /// How the vectors started (nil: given values, which PEFT records as RANDOM).
    public let initialization: PromptInitialization?
    public var tensors: [String: [Float]]

    public var prefix: [Float] { tensors[Self.tensorName] ?? [] }
    public var prefixName: String { Self.tensorName }

    /// Vectors with given values (P·d floats).
    public init(virtualTokens: Int, values: [Float], initialization: PromptInitialization? = nil) {
        self.virtualTokens = virtualTokens
        self.initialization = initialization
        tensors = [Self.tensorName: values]
    }

    /// Vectors starting as the embedding rows of the configuration's initial token ids
    /// (`PromptTuningConfiguration.initialTokenIDs`, the same for every backbone).
    public init(model: LlamaModel, configuration: PromptTuningConfiguration, tokenizer: (any TextTokenizer)?, seed: UInt64) throws {
        let d = model.config.hiddenSize, P = configuration.virtualTokens
        guard P > 0 else { throw AdapterConfigurationError("prompt tuning a decoder needs at least one virtual token") }
        let ids = try configuration.initialTokenIDs(vocabularySize: model.config.vocabSize, tokenizer: tokenizer, seed: seed)
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= model.config.vocabSize }) {
            throw ModelInputError(file: model.source.path, detail: "initial token id \(bad) is outside the vocabulary of \(model.config.vocabSize)")
        }
        var values = [Float](repeating: 0, count: P * d)
        values.withUnsafeMutableBufferPointer { rows in
            for (row, id) in ids.enumerated() { model.weights.embedding.copyRow(Int(id), columns: d, into: rows.baseAddress! + row * d) }
        }
        self.init(virtualTokens: P, values: values, initialization: configuration.initialization)
    }

    public func inferenceModel(_ model: LlamaModel) -> LlamaModel {
        LlamaModel(config: model.config, weights: model.weights, source: model.source, prefix: prefix)
    }

    public func peftTensors(config c: LlamaConfig) -> [(name: String, shape: [Int], values: [Float])] {
        [(Self.tensorName, [virtualTokens, c.hiddenSize], prefix)]
    }

    public func peftConfig(config c: LlamaConfig, baseModel: String) -> [String: Any] {
        // Given values have no initialisation to record: PEFT's RANDOM (the saved tensor is what loads).
        var config = PromptTuningConfiguration.peftConfig(virtualTokens: virtualTokens, initialization: initialization ?? .randomVocabulary,
                                                          taskType: "CAUSAL_LM", tokenDim: c.hiddenSize, heads: c.heads, layers: c.layers,
                                                          baseModel: baseModel)
        if initialization == nil { config["prompt_tuning_init"] = "RANDOM" }
        return config
    }
}
