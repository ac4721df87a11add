import Foundation
import Kernels

/// The linear layers of a Llama block, by the module names PEFT's `target_modules` uses for it.
public enum LlamaLinear: String, CaseIterable, Sendable {
    case query = "q_proj", key = "k_proj", value = "v_proj", output = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"

    /// The module's path below `model.layers.N.`.
    public var modulePath: String {
        switch self {
        case .query, .key, .value, .output: return "self_attn.\(rawValue)"
        case .gate, .up, .down: return "mlp.\(rawValue)"
        }
    }

    /// (out, in) of the layer.
    public func shape(_ c: LlamaConfig) -> (out: Int, in: Int) {
        let d = c.hiddenSize, q = c.heads * c.headDim, kv = c.kvHeads * c.headDim, f = c.intermediateSize
        switch self {
        case .query: return (q, d)
        case .key, .value: return (kv, d)
        case .output: return (d, q)
        case .gate, .up: return (f, d)
        case .down: return (d, f)
        }
    }

    /// Replaces the layer's weight in a block (same shape).
    func set(_ weight: LinearWeight, in layer: inout LlamaWeights.Layer) {
        switch self {
        case .query: layer.query = weight
        case .key: layer.key = weight
        case .value: layer.value = weight
        case .output: layer.output = weight
        case .gate: layer.gate = weight
        case .up: layer.up = weight
        case .down: layer.down = weight
        }
    }

    /// The layer's weight in a block.
    public func weight(_ layer: LlamaWeights.Layer) -> LinearWeight {
        switch self {
        case .query: return layer.query
        case .key: return layer.key
        case .value: return layer.value
        case .output: return layer.output
        case .gate: return layer.gate
        case .up: return layer.up
        case .down: return layer.down
        }
    }

    /// The weight's name in a GGUF file (llama.cpp's), in block `layer`.
    func ggufName(layer: Int) -> String {
        let stem: String
        switch self {
        case .query: stem = "attn_q"
        case .key: stem = "attn_k"
        case .value: stem = "attn_v"
        case .output: stem = "attn_output"
        case .gate: stem = "ffn_gate"
        case .up: stem = "ffn_up"
        case .down: stem = "ffn_down"
        }
        return "blk.\(layer).\(stem).weight"
    }

    /// Query and key rows llama.cpp's converter stores interleaved per head (the head count), nil for the others.
    func permutedHeads(_ c: LlamaConfig) -> Int? {
        switch self {
        case .query: return c.heads
        case .key: return c.kvHeads
        default: return nil
        }
    }

    /// The layer's role across families (nil for the MLP's three).
    var role: LinearRole? {
        switch self {
        case .query: return .query
        case .key: return .key
        case .value: return .value
        case .output: return .attentionOutput
        case .gate, .up, .down: return nil
        }
    }

    /// The layer's entry in the config's site table.
    public func site(_ c: LlamaConfig) -> LinearSite {
        let (out, inFeatures) = shape(c)
        return LinearSite(name: rawValue, modulePath: modulePath, role: role, out: out, in: inFeatures)
    }

    public init?(site: LinearSite) { self.init(rawValue: site.name) }
}

extension LlamaConfig {
    /// A Llama block's seven linear layers, by PEFT's names, in LlamaForCausalLM (`model.layers.N.…`).
    public var linearSites: LinearSiteTable {
        LinearSiteTable(family: "a Llama decoder", backbonePrefix: "model.", layerPath: "layers.",
                        sites: LlamaLinear.allCases.map { $0.site(self) })
    }
}

/// Low-rank adapters on a Llama decoder's linear layers, as PEFT's LoRA:
///   y = x·Wᵀ + scale · (dropout(x)·Aᵀ)·Bᵀ,   A (r, in), B (out, r), scale = alpha / r,
/// the dropout (PEFT's `lora_dropout`, inverted, on the adapter's input only) active in training steps.
/// A starts as PEFT initialises it (Kaiming-uniform with a = √5: U(±1/√in)), B at zero, so a fresh
/// adapter is the base model exactly. Tensors are keyed by the names PEFT writes in
/// `adapter_model.safetensors` (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`).
public struct LlamaLoRA: LlamaAdapter {
    public var configuration: LoRAConfiguration
    /// The model's site table (the names and shapes of what is adapted).
    public let sites: LinearSiteTable
    public var tensors: [String: [Float]]

    public var rank: Int { configuration.rank }
    public var alpha: Float { configuration.alpha }
    public var scale: Float { configuration.scale }
    /// The probability an element of an adapter's input is dropped while training (0: none).
    public var dropout: Float {
        get { configuration.dropout }
        set { configuration.dropout = newValue }
    }
    /// The adapted layers, in the configuration's order.
    public var targets: [LlamaLinear] { configuration.targets.compactMap(LlamaLinear.init(site:)) }

    /// PEFT's name of a factor (`part` "A" or "B") of `target` in block `layer`.
    public func name(layer: Int, _ target: LlamaLinear, _ part: Character) -> String {
        sites.loraTensorName(layer: layer, site(target), part)
    }

    private func site(_ target: LlamaLinear) -> LinearSite { sites.site(named: target.rawValue)! }

    /// Freshly initialised adapters on the configuration's targets of every layer (A drawn as
    /// `LoRAConfiguration.initializeA` draws it for every backbone, B zero).
    public init(config c: LlamaConfig, configuration: LoRAConfiguration, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let sites = c.linearSites
        var tensors: [String: [Float]] = [:]
        for layer in 0..<c.layers {
            for site in configuration.targets {
                var a = [Float](repeating: 0, count: configuration.rank * site.inFeatures)
                a.withUnsafeMutableBufferPointer { configuration.initializeA($0.baseAddress!, inFeatures: site.inFeatures, generator: &generator) }
                tensors[sites.loraTensorName(layer: layer, site, "A")] = a
                tensors[sites.loraTensorName(layer: layer, site, "B")] = [Float](repeating: 0, count: site.out * configuration.rank)
            }
        }
        self.init(config: c, configuration: configuration, tensors: tensors)
    }

    /// The same with the hyper-parameters spelled out (tests, benchmarks).
    public init(config c: LlamaConfig, rank: Int, alpha: Float, targets: [LlamaLinear], seed: UInt64) throws(AdapterConfigurationError) {
        self.init(config: c, configuration: try LoRAConfiguration(rank: rank, alpha: alpha, targets: targets.map { $0.site(c) }), seed: seed)
    }

    /// Adapters with given values (every layer × target must have its A and B).
    public init(config c: LlamaConfig, configuration: LoRAConfiguration, tensors: [String: [Float]]) {
        self.configuration = configuration; self.sites = c.linearSites; self.tensors = tensors
    }

    public func lowRank(layer: Int, _ target: LlamaLinear) -> LowRankSite? {
        let aName = name(layer: layer, target, "A"), bName = name(layer: layer, target, "B")
        guard targets.contains(target), let a = tensors[aName], let b = tensors[bName] else { return nil }
        return LowRankSite(a: a, b: b, rank: rank, scale: scale, dropout: dropout, aName: aName, bName: bName)
    }

    public func peftTensors(config c: LlamaConfig) -> [(name: String, shape: [Int], values: [Float])] {
        (0..<c.layers).flatMap { layer in
            configuration.targets.flatMap { site -> [(name: String, shape: [Int], values: [Float])] in
                let a = sites.loraTensorName(layer: layer, site, "A"), b = sites.loraTensorName(layer: layer, site, "B")
                return [(a, [rank, site.inFeatures], tensors[a]!), (b, [site.out, rank], tensors[b]!)]
            }
        }
    }

    /// The adapter as llama.cpp loads one (`--lora FILE`, `convert_lora_to_gguf.py`'s layout):
    /// metadata `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha` (llama.cpp
    /// scales by alpha / r, as PEFT does); per adapted weight `<GGUF name>.lora_a` of shape (r, in)
    /// and `.lora_b` of shape (out, r), fp32 — B's rows of `attn_q` / `attn_k` permuted as the
    /// converter permutes the base weights for llama.cpp's rotation (A is not).
    public func llamaCppAdapter(config c: LlamaConfig) -> (metadata: [(key: String, value: GGUFWriter.Value)], tensors: [GGUFWriter.Tensor])? {
        let metadata: [(key: String, value: GGUFWriter.Value)] = [
            ("general.architecture", .string("llama")), ("general.type", .string("adapter")),
            ("adapter.type", .string("lora")), ("adapter.lora.alpha", .float32(alpha)),
        ]
        let stored = (0..<c.layers).flatMap { layer -> [GGUFWriter.Tensor] in
            targets.flatMap { target -> [GGUFWriter.Tensor] in
                let (out, inFeatures) = target.shape(c), gguf = target.ggufName(layer: layer)
                let a = tensors[name(layer: layer, target, "A")]!, b = tensors[name(layer: layer, target, "B")]!
                var permuted = b
                if let heads = target.permutedHeads(c) {
                    // Row t of the Hugging Face order is stored at the row `unpermutedRowOrder` says it came from.
                    for (row, source) in LlamaWeights.unpermutedRowOrder(rows: out, heads: heads).enumerated() {
                        permuted[(source * rank)..<((source + 1) * rank)] = b[(row * rank)..<((row + 1) * rank)]
                    }
                }
                return [GGUFWriter.Tensor(name: gguf + ".lora_a", shape: [rank, inFeatures], values: a),
                        GGUFWriter.Tensor(name: gguf + ".lora_b", shape: [out, rank], values: permuted)]
            }
        }
        return (metadata, stored)
    }

    public func peftConfig(config c: LlamaConfig, baseModel: String) -> [String: Any] {
        configuration.peftConfig(taskType: "CAUSAL_LM", baseModel: baseModel)
    }

    public func inferenceModel(_ model: LlamaModel) -> LlamaModel {
        LlamaModel(config: model.config, weights: merged(into: model.weights, config: model.config), source: model.source,
                   prefix: model.prefix)
    }

    /// The weights with every adapted layer merged, W + scale·B·A: inference then runs through
    /// the unchanged forward. A quantised base (QLoRA) is decoded to fp32 at the adapted sites
    /// first — the same values its products use.
    public func merged(into weights: LlamaWeights, config c: LlamaConfig) -> LlamaWeights {
        var adapted: [String: (layer: Int, target: LlamaLinear)] = [:]
        var out = weights
        for layer in 0..<c.layers {
            for target in targets {
                adapted[sites.weightName(layer: layer, site(target))] = (layer, target)
                target.set(.dense(target.weight(out.layers[layer]).floats), in: &out.layers[layer])
            }
        }
        out.updateTensors(config: c) { name, values in
            guard let (layer, target) = adapted[name], let update = lowRank(layer: layer, target) else { return }
            let (rows, columns) = target.shape(c)
            LowRankUpdate.merge(into: &values, a: update.a, b: update.b, outFeatures: rows, inFeatures: columns, rank: rank, scale: scale)
        }
        return out
    }
}
