import Foundation
import InputFiles

/// The sizes of a Llama-architecture decoder (Llama 2/3, SmolLM, Mistral without sliding window),
/// from a GGUF file's `llama.*` metadata or a Hugging Face `config.json` with `model_type: llama`.
/// Validated once, when read: every size positive and consistent, so kernels can trust them.
public struct LlamaConfig: Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ropeTheta: Float
    public var rmsNormEps: Float
    public var contextLength: Int
    public var tiedEmbeddings: Bool

    public init(vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, kvHeads: Int,
                headDim: Int, ropeTheta: Float, rmsNormEps: Float, contextLength: Int, tiedEmbeddings: Bool) {
        self.vocabSize = vocabSize; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.layers = layers; self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
        self.ropeTheta = ropeTheta; self.rmsNormEps = rmsNormEps; self.contextLength = contextLength
        self.tiedEmbeddings = tiedEmbeddings
    }

    /// Parameters of the base model (the tied head counted once).
    public var parameterCount: Int {
        let attention = hiddenSize * heads * headDim * 2 + hiddenSize * kvHeads * headDim * 2
        let mlp = 3 * hiddenSize * intermediateSize
        let perLayer = attention + mlp + 2 * hiddenSize
        return vocabSize * hiddenSize * (tiedEmbeddings ? 1 : 2) + layers * perLayer + hiddenSize
    }

    /// Refuses sizes the kernels cannot run, naming the field.
    func validated(file: String) throws(ModelInputError) -> LlamaConfig {
        func check(_ condition: Bool, _ detail: String) throws(ModelInputError) {
            if !condition { throw ModelInputError(file: file, detail: detail) }
        }
        for (name, value) in [("vocab size", vocabSize), ("hidden size", hiddenSize), ("intermediate size", intermediateSize),
                              ("layer count", layers), ("head count", heads), ("key/value head count", kvHeads),
                              ("head size", headDim), ("context length", contextLength)] {
            try check(value >= 1 && value <= 1 << 24, "\(name) is \(value) (expected 1 to \(1 << 24))")
        }
        try check(heads % kvHeads == 0, "head count \(heads) is not a multiple of the key/value head count \(kvHeads)")
        try check(headDim % 2 == 0, "head size \(headDim) is odd; rotary embeddings need an even size")
        try check(ropeTheta.isFinite && ropeTheta > 1, "RoPE base \(ropeTheta) is not a number above 1")
        try check(rmsNormEps.isFinite && rmsNormEps > 0 && rmsNormEps < 1, "RMSNorm epsilon \(rmsNormEps) is not in (0, 1)")
        return self
    }

    /// From a GGUF file whose `general.architecture` is "llama".
    public init(gguf file: GGUFFile) throws(ModelInputError) {
        let architecture = try file.string("general.architecture")
        guard architecture == "llama" else {
            throw ModelInputError(file: file.url.path, detail: "metadata \"general.architecture\" is \"\(architecture)\"; only \"llama\" decoders are supported")
        }
        let hidden = try file.integer("llama.embedding_length", in: 1...(1 << 24))
        let heads = try file.integer("llama.attention.head_count", in: 1...(1 << 16))
        let vocab = file.value("llama.vocab_size") != nil ? try file.integer("llama.vocab_size", in: 1...(1 << 24))
            : try file.strings("tokenizer.ggml.tokens").count
        let headDim = file.value("llama.rope.dimension_count") != nil
            ? try file.integer("llama.rope.dimension_count", in: 1...(1 << 16)) : hidden / heads
        self.init(vocabSize: vocab, hiddenSize: hidden,
                  intermediateSize: try file.integer("llama.feed_forward_length", in: 1...(1 << 24)),
                  layers: try file.integer("llama.block_count", in: 1...4096), heads: heads,
                  kvHeads: file.value("llama.attention.head_count_kv") != nil ? try file.integer("llama.attention.head_count_kv", in: 1...(1 << 16)) : heads,
                  headDim: headDim,
                  ropeTheta: file.value("llama.rope.freq_base") != nil ? Float(try file.float("llama.rope.freq_base")) : 10_000,
                  rmsNormEps: Float(try file.float("llama.attention.layer_norm_rms_epsilon")),
                  contextLength: try file.integer("llama.context_length", in: 1...(1 << 24)),
                  tiedEmbeddings: file.tensor("output.weight") == nil)
        self = try validated(file: file.url.path)
    }

    /// The Hugging Face `config.json` of a `LlamaForCausalLM` with these sizes (read back by
    /// `init(configJSON:)` and by transformers).
    public func huggingFaceConfig(bosID: Int32?, eosID: Int32?, padID: Int32?) -> [String: Any] {
        [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocabSize, "hidden_size": hiddenSize,
            "intermediate_size": intermediateSize, "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_key_value_heads": kvHeads, "head_dim": headDim, "hidden_act": "silu", "max_position_embeddings": contextLength,
            "rms_norm_eps": Double(rmsNormEps), "rope_theta": Double(ropeTheta),
            "rope_parameters": ["rope_type": "default", "rope_theta": Double(ropeTheta)] as [String: Any],
            "tie_word_embeddings": tiedEmbeddings, "attention_bias": false, "attention_dropout": 0.0, "mlp_bias": false,
            "bos_token_id": bosID.map { Int($0) as Any } ?? NSNull(), "eos_token_id": eosID.map { Int($0) as Any } ?? NSNull(),
            "pad_token_id": padID.map { Int($0) as Any } ?? NSNull(),
            "dtype": "float32", "use_cache": true,
        ]
    }

    /// From a Hugging Face `config.json` with `model_type: llama`.
    public init(configJSON url: URL) throws(ModelInputError) {
        let data: Data
        do { data = try InputFile.contents(of: url) } catch {
            throw ModelInputError(file: url.path, detail: "cannot read the file: \(error.reason)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            throw ModelInputError(file: url.path, detail: "not a JSON object")
        }
        func int(_ key: String, default fallback: Int? = nil) throws(ModelInputError) -> Int {
            guard let value = json[key] else {
                if let fallback { return fallback }
                throw ModelInputError(file: url.path, detail: "field \"\(key)\" is missing")
            }
            guard let number = value as? NSNumber, let int = Int(exactly: number.doubleValue) else {
                throw ModelInputError(file: url.path, detail: "field \"\(key)\" must be an integer")
            }
            return int
        }
        func float(_ value: Any?, _ key: String) throws(ModelInputError) -> Float? {
            guard let value else { return nil }
            guard let number = value as? NSNumber else { throw ModelInputError(file: url.path, detail: "field \"\(key)\" must be a number") }
            return number.floatValue
        }
        guard (json["model_type"] as? String) == "llama" else {
            throw ModelInputError(file: url.path, detail: "field \"model_type\" is \(json["model_type"].map { "\"\($0)\"" } ?? "missing"); expected \"llama\"")
        }
        if let activation = json["hidden_act"] as? String, activation != "silu" {
            throw ModelInputError(file: url.path, detail: "field \"hidden_act\" is \"\(activation)\"; only \"silu\" is supported")
        }
        for key in ["rope_scaling", "rope_parameters"] {
            if let rope = json[key] as? [String: Any], let type = rope["rope_type"] as? String ?? rope["type"] as? String, type != "default" {
                throw ModelInputError(file: url.path, detail: "field \"\(key).rope_type\" is \"\(type)\"; only the default rotary embedding is supported")
            }
        }
        let hidden = try int("hidden_size"), heads = try int("num_attention_heads")
        let topLevelTheta = try float(json["rope_theta"], "rope_theta")
        let nestedTheta = try float((json["rope_parameters"] as? [String: Any])?["rope_theta"], "rope_parameters.rope_theta")
        let theta = topLevelTheta ?? nestedTheta ?? 10_000
        self.init(vocabSize: try int("vocab_size"), hiddenSize: hidden, intermediateSize: try int("intermediate_size"),
                  layers: try int("num_hidden_layers"), heads: heads,
                  kvHeads: try int("num_key_value_heads", default: heads),
                  headDim: try int("head_dim", default: heads > 0 ? hidden / heads : 0), ropeTheta: theta,
                  rmsNormEps: try float(json["rms_norm_eps"], "rms_norm_eps") ?? 1e-6,
                  contextLength: try int("max_position_embeddings", default: 2048),
                  tiedEmbeddings: (json["tie_word_embeddings"] as? Bool) ?? false)
        self = try validated(file: url.path)
    }
}
