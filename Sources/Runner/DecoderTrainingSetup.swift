import Foundation
import Kernels
import Model
import Suites
import Tokenizer

/// How each training method starts on a decoder: the base it trains over and its fresh adapter.
public enum DecoderTrainingSetup {
    /// The model a training candidate starts from — a fresh copy for every call, so the one a
    /// run keeps is untouched — and its fresh adapter (nil: full fine-tuning), initialised from
    /// `seed` (a suite passes the unit's seed mixed with the candidate's name, as for the encoder):
    /// - full, lora, prompt: the weights in fp32 (the values transformers dequantises a GGUF to);
    /// - qlora: every linear weight in NF4 quantised from those fp32 values (bitsandbytes'
    ///   `Linear4bit`), or with `quantization: gguf` in the file's own blocks; the embedding in fp32.
    public static func make(_ candidate: CandidateSpec, initializationSeed seed: UInt64, source: URL,
                            tokenizer: (any TextTokenizer)?) throws -> (LlamaModel, (any LlamaAdapter)?) {
        func lora(_ config: LlamaConfig) throws -> LlamaLoRA {
            LlamaLoRA(config: config, configuration: try candidate.loraConfiguration(on: config.linearSites), seed: seed)
        }
        switch candidate.method {
        case .full:
            return (try LlamaModel.load(source, storage: .float32), nil)
        case .lora:
            let model = try LlamaModel.load(source, storage: .float32)
            return (model, try lora(model.config))
        case .qlora:
            let model: LlamaModel
            switch candidate.quantization ?? .nf4 {
            case .nf4:
                let full = try LlamaModel.load(source, storage: .float32)
                model = LlamaModel(config: full.config,
                                   weights: full.weights.quantizingLinearsToNF4(config: full.config, doubleQuantize: candidate.doubleQuantization ?? false),
                                   source: source)
            case .gguf:
                let native = try LlamaModel.load(source, storage: .native)
                model = LlamaModel(config: native.config, weights: native.weights.withFloatEmbedding(), source: source)
            }
            return (model, try lora(model.config))
        case .prompt:
            let model = try LlamaModel.load(source, storage: .float32)
            return (model, try LlamaPromptTuning(model: model, configuration: try candidate.promptTuning(), tokenizer: tokenizer, seed: seed))
        case .base:
            preconditionFailure("a base candidate trains nothing")
        }
    }

}
