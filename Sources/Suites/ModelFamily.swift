import Foundation

/// The kind of network a suite's `model.path` holds, told from the path before anything loads:
/// what it can be asked (a trained classification head, or label scoring), which retention
/// checks apply, and which files its folder needs.
public enum ModelFamily: String, Sendable, Equatable {
    /// A BERT-style encoder folder (config.json, model.safetensors, vocab.txt): classification
    /// through a trained head; retention through sentence similarity and probes.
    case bertEncoder = "bert"
    /// A Llama-architecture decoder (a GGUF file, or a folder whose config.json says model_type
    /// llama): classification by scoring each class's verbaliser; retention through the
    /// causal-LM loss on general text.
    case llamaDecoder = "llama"

    /// A `.gguf` file is a decoder (the GGUF reader checks its architecture); a folder is a
    /// decoder when its config.json says `"model_type": "llama"`, else an encoder (a config.json
    /// that does not parse is the encoder loader's to report).
    public static func of(modelPath path: String) -> ModelFamily {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path.lowercased().hasSuffix(".gguf") ? .llamaDecoder : .bertEncoder
        }
        let config = URL(fileURLWithPath: path).appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: config), data.count < 1 << 20,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              object["model_type"] as? String == "llama" else { return .bertEncoder }
        return .llamaDecoder
    }

    /// The files a model folder of this family must hold.
    public var folderFiles: [String] {
        switch self {
        case .bertEncoder: return ["config.json", "model.safetensors", "vocab.txt"]
        case .llamaDecoder: return ["config.json", "model.safetensors", "tokenizer.json"]
        }
    }

    /// Whether a single file (rather than a folder) can hold the model.
    public var loadsFromFile: Bool { self == .llamaDecoder }
}

extension SuiteSpec {
    /// The family of `model.path` (see `ModelFamily.of`).
    public var modelFamily: ModelFamily { ModelFamily.of(modelPath: model.path) }

    /// Refuses what the suite asks that its model family cannot do, pointing at the line that
    /// asks it: decoder keys (`task.prompt`, `verbalizers`, `chat`, `retention.language_modeling`,
    /// `method: base`, `quantization`) on an encoder; embedding-based retention checks and a
    /// GGUF-block base without a GGUF file on a decoder.
    public func validate(for family: ModelFamily) throws(SuiteError) {
        func fail(_ field: String, _ message: String) -> SuiteError {
            SuiteError(file: sourcePath, line: lines[field], field: field, message: message)
        }
        switch family {
        case .bertEncoder:
            if task.generation != nil {
                throw fail("task.type", "a generation task needs a decoder model (a GGUF file or a Llama folder) to generate answers; \(model.path) is a BERT encoder, which classifies")
            }
            for key in ["prompt", "verbalizers", "chat"] where lines["task.\(key)"] != nil {
                throw fail("task.\(key)", "only used with a decoder model (a GGUF file or a Llama folder); \(model.path) is a BERT encoder, which classifies through a trained head")
            }
            if !retention.languageModeling.isEmpty {
                throw fail("retention.language_modeling", "needs a decoder model (a causal language model); \(model.path) is a BERT encoder: use retention.similarity or retention.probes")
            }
            if !retention.zeroShot.isEmpty {
                throw fail("retention.zero_shot", "needs a decoder model (label scoring); \(model.path) is a BERT encoder, which has no zero-shot answer: use retention.probes")
            }
            if let index = candidates.firstIndex(where: { !$0.method.trains }) {
                throw fail("candidates[\(index)].method", "an encoder has no zero-shot answer (its classification head must be trained); method base needs a decoder model (a GGUF file or a Llama folder)")
            }
            for (index, candidate) in candidates.enumerated() {
                if candidate.quantization != nil {
                    throw fail("candidates[\(index)].quantization", "chooses how a decoder's base is held; \(model.path) is a BERT encoder, whose QLoRA base is always NF4")
                }
                if let name = candidate.targetModules?.first(where: { SuiteParser.decoderLoRATargets.contains($0) }) {
                    throw fail("candidates[\(index)].target_modules", "\(name) is a decoder's layer; \(model.path) is a BERT encoder (query, key, value, attention.output.dense, intermediate.dense, output.dense)")
                }
            }
        case .llamaDecoder:
            if !retention.similarity.isEmpty {
                throw fail("retention.similarity", "measures an encoder's sentence embeddings; \(model.path) is a decoder: use retention.language_modeling (loss and perplexity on general text)")
            }
            if !retention.probes.isEmpty {
                throw fail("retention.probes", "measures an encoder's sentence embeddings; \(model.path) is a decoder: use retention.language_modeling (loss and perplexity on general text)")
            }
            for (index, candidate) in candidates.enumerated() where candidate.method == .lora || candidate.method == .qlora {
                if candidate.quantization == .gguf, !model.path.lowercased().hasSuffix(".gguf") {
                    throw fail("candidates[\(index)].quantization", "gguf trains over the blocks of a GGUF file; \(model.path) is a folder of fp32 weights: use nf4")
                }
                if let name = candidate.targetModules?.first(where: { ["intermediate.dense", "output.dense"].contains($0) }) {
                    throw fail("candidates[\(index)].target_modules", "\(name) is an encoder's layer with no single counterpart in a Llama block; name the decoder's: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (query, key, value and attention.output.dense are taken as q_proj, k_proj, v_proj and o_proj)")
                }
            }
            if let verbalizers = task.verbalizers, let index = verbalizers.firstIndex(where: \.isEmpty) {
                throw fail("task.verbalizers", "the verbaliser of \(Field.quoted(task.labels[index])) is empty; a class needs a continuation to score")
            }
        }
    }
}
