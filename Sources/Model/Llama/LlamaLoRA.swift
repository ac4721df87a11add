import COpenBLAS
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

    /// PEFT's module names, `all-linear`, or the encoder's names for the same roles (query, key,
    /// value, attention.output.dense), so that a suite's default `[query, value]` means q_proj
    /// and v_proj. Nil names the first name that is none of these.
    public static func parse(_ names: [String]) -> Result<[LlamaLinear], UnknownName> {
        if names == ["all-linear"] { return .success(allCases) }
        let encoderRoles = ["query": LlamaLinear.query, "key": .key, "value": .value, "attention.output.dense": .output]
        var out: [LlamaLinear] = []
        for name in names {
            guard let target = LlamaLinear(rawValue: name) ?? encoderRoles[name] ?? allCases.first(where: { $0.modulePath == name }) else {
                return .failure(UnknownName(name: name))
            }
            if !out.contains(target) { out.append(target) }
        }
        return .success(out)
    }

    public struct UnknownName: Error, Equatable { public let name: String }
}

/// Low-rank adapters on a Llama decoder's linear layers, as PEFT's LoRA:
///   y = x·Wᵀ + scale · (dropout(x)·Aᵀ)·Bᵀ,   A (r, in), B (out, r), scale = alpha / r,
/// the dropout (PEFT's `lora_dropout`, inverted, on the adapter's input only) active in training steps.
/// A starts as PEFT initialises it (Kaiming-uniform with a = √5: U(±1/√in)), B at zero, so a fresh
/// adapter is the base model exactly. Tensors are keyed by the names PEFT writes in
/// `adapter_model.safetensors` (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`).
public struct LlamaLoRA: LlamaAdapter {
    public let rank: Int
    public let alpha: Float
    public let targets: [LlamaLinear]
    public var tensors: [String: [Float]]
    /// The probability an element of an adapter's input is dropped while training (0: none).
    public var dropout: Float = 0

    public var scale: Float { alpha / Float(rank) }

    public static func name(layer: Int, _ target: LlamaLinear, _ part: Character) -> String {
        "base_model.model.model.layers.\(layer).\(target.modulePath).lora_\(part).weight"
    }

    /// Freshly initialised adapters on `targets` of every layer.
    public init(config c: LlamaConfig, rank: Int, alpha: Float, targets: [LlamaLinear], seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        var tensors: [String: [Float]] = [:]
        for layer in 0..<c.layers {
            for target in targets {
                let (out, inFeatures) = target.shape(c)
                let bound = 1 / Float(inFeatures).squareRoot()
                tensors[Self.name(layer: layer, target, "A")] = (0..<(rank * inFeatures)).map { _ in
                    generator.nextUniform() * 2 * bound - bound
                }
                tensors[Self.name(layer: layer, target, "B")] = [Float](repeating: 0, count: out * rank)
            }
        }
        self.init(rank: rank, alpha: alpha, targets: targets, tensors: tensors)
    }

    /// Adapters with given values (every layer × target must have its A and B).
    public init(rank: Int, alpha: Float, targets: [LlamaLinear], tensors: [String: [Float]]) {
        self.rank = rank; self.alpha = alpha; self.targets = targets; self.tensors = tensors
    }

    public func lowRank(layer: Int, _ target: LlamaLinear) -> LowRankSite? {
        let aName = Self.name(layer: layer, target, "A"), bName = Self.name(layer: layer, target, "B")
        guard targets.contains(target), let a = tensors[aName], let b = tensors[bName] else { return nil }
        return LowRankSite(a: a, b: b, rank: rank, scale: scale, dropout: dropout, aName: aName, bName: bName)
    }

    public func peftTensors(config c: LlamaConfig) -> [(name: String, shape: [Int], values: [Float])] {
        (0..<c.layers).flatMap { layer in
            targets.flatMap { target -> [(name: String, shape: [Int], values: [Float])] in
                let (out, inFeatures) = target.shape(c)
                let a = Self.name(layer: layer, target, "A"), b = Self.name(layer: layer, target, "B")
                return [(a, [rank, inFeatures], tensors[a]!), (b, [out, rank], tensors[b]!)]
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
            let sites = LlamaWeights.layerSites(layer, c)
            return targets.flatMap { target -> [GGUFWriter.Tensor] in
                let site = sites.first { $0.huggingFace.hasSuffix("." + target.modulePath + ".weight") }!
                let (out, inFeatures) = target.shape(c)
                let a = tensors[Self.name(layer: layer, target, "A")]!, b = tensors[Self.name(layer: layer, target, "B")]!
                var permuted = b
                if let heads = site.permutedHeads {
                    // Row t of the Hugging Face order is stored at the row `unpermutedRowOrder` says it came from.
                    for (row, source) in LlamaWeights.unpermutedRowOrder(rows: out, heads: heads).enumerated() {
                        permuted[(source * rank)..<((source + 1) * rank)] = b[(row * rank)..<((row + 1) * rank)]
                    }
                }
                return [GGUFWriter.Tensor(name: site.gguf + ".lora_a", shape: [rank, inFeatures], values: a),
                        GGUFWriter.Tensor(name: site.gguf + ".lora_b", shape: [out, rank], values: permuted)]
            }
        }
        return (metadata, stored)
    }

    /// PEFT 0.21's LoRA fields (no bias, plain alpha/r scaling).
    public func peftConfig(config c: LlamaConfig) -> [String: Any] {
        ["peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": Double(alpha), "lora_dropout": Double(dropout),
         "target_modules": targets.map(\.rawValue), "bias": "none", "fan_in_fan_out": false, "inference_mode": true,
         "init_lora_weights": true, "use_rslora": false, "use_dora": false]
    }

    public func inferenceModel(_ model: LlamaModel) -> LlamaModel {
        LlamaModel(config: model.config, weights: merged(into: model.weights, config: model.config), source: model.source,
                   prefix: model.prefix)
    }

    /// The weights with every adapted layer merged, W + scale·B·A: inference then runs through
    /// the unchanged forward. A quantised base (QLoRA) is decoded to fp32 at the adapted sites
    /// first — the same values its products use.
    public func merged(into weights: LlamaWeights, config c: LlamaConfig) -> LlamaWeights {
        var sites: [String: (layer: Int, target: LlamaLinear)] = [:]
        var out = weights
        for layer in 0..<c.layers {
            for target in targets {
                sites["model.layers.\(layer).\(target.modulePath).weight"] = (layer, target)
                target.set(.dense(target.weight(out.layers[layer]).floats), in: &out.layers[layer])
            }
        }
        out.updateTensors(config: c) { name, values in
            guard let (layer, target) = sites[name], let (a, b) = lowRank(layer: layer, target).map({ ($0.a, $0.b) }) else { return }
            let (rows, columns) = target.shape(c)
            // W (out, in) += scale · B (out, r) · A (r, in)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(columns), Int32(rank),
                        scale, b, Int32(rank), a, Int32(columns), 1, &values, Int32(columns))
        }
        return out
    }
}
