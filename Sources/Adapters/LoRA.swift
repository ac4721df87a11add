import Kernels
import Model

/// Linear layers LoRA can adapt, by their Hugging Face module names.
public enum LoRATarget: String, CaseIterable, Codable, Sendable {
    case query, key, value
    case attentionOutput = "attention.output.dense"
    case intermediate = "intermediate.dense"
    case output = "output.dense"

    /// The base tensor this target lives in, and the first output row of its block within it
    /// (query, key and value share the fused (3C, C) weight).
    func site(hidden C: Int) -> (tensor: EncoderParameterLayout.Tensor, rowOffset: Int) {
        switch self {
        case .query: return (.qkvWeight, 0)
        case .key: return (.qkvWeight, C)
        case .value: return (.qkvWeight, 2 * C)
        case .attentionOutput: return (.attentionOutputWeight, 0)
        case .intermediate: return (.intermediateWeight, 0)
        case .output: return (.outputWeight, 0)
        }
    }

    /// (out, in) of the adapted linear layer.
    func shape(_ config: BertConfig) -> (out: Int, in: Int) {
        let C = config.hiddenSize, FF = config.intermediateSize
        switch self {
        case .query, .key, .value, .attentionOutput: return (C, C)
        case .intermediate: return (FF, C)
        case .output: return (C, FF)
        }
    }

    /// Hugging Face module path below `encoder.layer.N.`.
    public var modulePath: String {
        switch self {
        case .query, .key, .value: return "attention.self.\(rawValue)"
        case .attentionOutput: return "attention.output.dense"
        case .intermediate: return "intermediate.dense"
        case .output: return "output.dense"
        }
    }

    /// Parses a suite's target list: module names, or `all-linear`.
    public static func parse(_ names: [String]) throws -> [LoRATarget] {
        if names == ["all-linear"] { return allCases }
        return try names.map { name in
            guard let target = LoRATarget(rawValue: name) ?? allCases.first(where: { $0.modulePath == name }) else {
                throw AdapterConfigurationError("unknown LoRA target module \"\(name)\" (expected query, key, value, attention.output.dense, intermediate.dense, output.dense or all-linear)")
            }
            return target
        }
    }
}

/// A configuration a suite or CLI gave that cannot be used; the message names the field.
public struct AdapterConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// LoRA hyper-parameters, as PEFT's `LoraConfig`.
public struct LoRAConfiguration: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    public var targets: [LoRATarget]

    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targets: [LoRATarget] = [.query, .value]) throws {
        guard rank >= 1 else { throw AdapterConfigurationError("lora rank must be at least 1 (got \(rank))") }
        guard alpha > 0 else { throw AdapterConfigurationError("lora alpha must be positive (got \(alpha))") }
        guard dropout >= 0, dropout < 1 else { throw AdapterConfigurationError("lora dropout must be in [0, 1) (got \(dropout))") }
        guard !targets.isEmpty else { throw AdapterConfigurationError("lora target_modules must name at least one module") }
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
    }

    /// PEFT's scaling: alpha / r.
    public var scale: Float { alpha / Float(rank) }
}

/// Low-rank adapters on the encoder's linear layers (Hu et al. 2021, https://arxiv.org/abs/2106.09685):
///   y = x·Wᵀ + b + scale · (dropout(x)·Aᵀ)·Bᵀ,   A (r, in), B (out, r), scale = alpha / r.
/// A starts as PEFT initialises it (Kaiming-uniform, a = √5: U(±1/√in)), B at zero, so a fresh
/// adapter reproduces the base model exactly.
///
/// All A and B matrices live in one flat buffer (`parameters`), with gradients in the same layout.
public class LoRAAdapter: EncoderAdapter, @unchecked Sendable {
    public let configuration: LoRAConfiguration
    public let config: BertConfig
    public let parameters: FloatBuffer
    public let gradients: FloatBuffer

    /// Where each (layer, target)'s A and B start in `parameters`.
    struct Slot { let layer: Int; let target: LoRATarget; let a: Int; let b: Int; let out: Int; let inFeatures: Int; let rowOffset: Int }
    let slots: [Slot]
    private let slotIndex: [Int: [Int]]                 // key: layer * 16 + tensor.rawValue → slot indices
    private var projected = FloatBuffer(count: 0)       // (rows, r) scratch: dropout(x)·Aᵀ
    private var dProjected = FloatBuffer(count: 0)      // (rows, r) scratch
    private var droppedInputs: [Int: FloatBuffer] = [:] // slot → (rows, in) dropout(x) of the last training forward
    private var dropoutMasks: [Int: MaskBuffer] = [:]   // slot → (rows, in) its mask
    private var dropoutActive = false

    public init(configuration: LoRAConfiguration, config: BertConfig, seed: UInt64) {
        self.configuration = configuration
        self.config = config
        let r = configuration.rank
        var slots: [Slot] = []
        var next = 0
        for layer in 0..<config.numHiddenLayers {
            for target in configuration.targets {
                let (out, inFeatures) = target.shape(config)
                let site = target.site(hidden: config.hiddenSize)
                slots.append(Slot(layer: layer, target: target, a: next, b: next + r * inFeatures, out: out,
                                  inFeatures: inFeatures, rowOffset: site.rowOffset))
                next += r * inFeatures + out * r
            }
        }
        self.slots = slots
        var index: [Int: [Int]] = [:]
        for (i, slot) in slots.enumerated() {
            index[slot.layer * 16 + slot.target.site(hidden: config.hiddenSize).tensor.rawValue, default: []].append(i)
        }
        slotIndex = index
        parameters = FloatBuffer(count: next)
        gradients = FloatBuffer(count: next)
        var generator = SeededGenerator(seed: seed)
        for slot in slots {
            let bound = 1 / Float(slot.inFeatures).squareRoot()
            for i in 0..<(r * slot.inFeatures) { parameters.pointer[slot.a + i] = bound * (2 * generator.nextUniform() - 1) }
        }
    }

    /// Trainable parameter count (all A and B).
    public var trainableCount: Int { parameters.count }

    func slots(for tensor: EncoderParameterLayout.Tensor, layer: Int) -> [Int] {
        slotIndex[layer * 16 + tensor.rawValue] ?? []
    }

    private func ensureScratch(rows: Int) {
        let needed = rows * configuration.rank
        if projected.count < needed {
            projected = FloatBuffer(count: needed, zeroed: false)
            dProjected = FloatBuffer(count: needed, zeroed: false)
        }
    }

    /// LoRA uses the base weights as they are; QLoRA overrides this to dequantise them.
    public func linearWeight(_ tensor: EncoderParameterLayout.Tensor, layer: Int, base: UnsafePointer<Float>) -> UnsafePointer<Float> {
        base
    }

    public func linearForward(_ tensor: EncoderParameterLayout.Tensor, layer: Int,
                              input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int,
                              training: Bool, seed: UInt64) {
        let indices = slots(for: tensor, layer: layer)
        guard !indices.isEmpty else { return }
        ensureScratch(rows: rows)
        let r = configuration.rank
        let outStride = LoRATarget.fusedWidth(tensor, config)
        dropoutActive = training && configuration.dropout > 0
        for i in indices {
            let slot = slots[i]
            var x = input
            if dropoutActive {
                // PEFT draws a separate dropout mask for each adapted module.
                let count = rows * slot.inFeatures
                var buffer = droppedInputs[i] ?? FloatBuffer(count: 0)
                var mask = dropoutMasks[i] ?? MaskBuffer(count: 0)
                if buffer.count < count {
                    buffer = FloatBuffer(count: count, zeroed: false)
                    mask = MaskBuffer(count: count)
                }
                droppedInputs[i] = buffer
                dropoutMasks[i] = mask
                dropoutMaskFill(mask: mask.pointer, count: count, probability: configuration.dropout, seed: seed &+ UInt64(i) &* 0x9E37)
                buffer.pointer.update(from: input, count: count)
                applyDropoutMask(buffer.pointer, mask.pointer, scale: dropoutScale(probability: configuration.dropout), count: count)
                x = UnsafePointer(buffer.pointer)
            }
            // projected (rows, r) = x · Aᵀ
            matmulForward(out: projected.pointer, inp: x, weight: parameters.pointer + slot.a, bias: nil,
                          rows: rows, inFeatures: slot.inFeatures, outFeatures: r)
            // output[:, rowOffset ..< rowOffset + out] += scale · projected · Bᵀ
            addScaledProduct(output: output + slot.rowOffset, outputStride: outStride, left: projected.pointer, rows: rows,
                             inner: r, right: parameters.pointer + slot.b, columns: slot.out, scale: configuration.scale)
        }
    }

    public func linearBackward(_ tensor: EncoderParameterLayout.Tensor, layer: Int,
                               input: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                               dOutput: UnsafePointer<Float>, rows: Int) {
        let indices = slots(for: tensor, layer: layer)
        guard !indices.isEmpty else { return }
        ensureScratch(rows: rows)
        let r = configuration.rank
        let outStride = LoRATarget.fusedWidth(tensor, config)
        let scale = configuration.scale
        for i in indices {
            let slot = slots[i]
            let x = dropoutActive ? UnsafePointer(droppedInputs[i]!.pointer) : input
            let dOut = dOutput + slot.rowOffset  // (rows, out) with row stride outStride
            matmulForward(out: projected.pointer, inp: x, weight: parameters.pointer + slot.a, bias: nil,
                          rows: rows, inFeatures: slot.inFeatures, outFeatures: r)
            // dB (out, r) += scale · dOutᵀ · projected
            stridedGEMM(transposeLeft: true, m: slot.out, n: r, k: rows, alpha: scale,
                        left: dOut, leftStride: outStride, right: projected.pointer, rightStride: r,
                        beta: 1, out: gradients.pointer + slot.b, outStride: r)
            // dProjected (rows, r) = scale · dOut · B
            stridedGEMM(transposeLeft: false, m: rows, n: r, k: slot.out, alpha: scale,
                        left: dOut, leftStride: outStride, right: parameters.pointer + slot.b, rightStride: r,
                        beta: 0, out: dProjected.pointer, outStride: r)
            // dA (r, in) += dProjectedᵀ · x
            stridedGEMM(transposeLeft: true, m: r, n: slot.inFeatures, k: rows, alpha: 1,
                        left: dProjected.pointer, leftStride: r, right: x, rightStride: slot.inFeatures,
                        beta: 1, out: gradients.pointer + slot.a, outStride: slot.inFeatures)
            // dInput (rows, in) += (dProjected · A) ⊙ mask
            if dropoutActive {
                var contribution = [Float](repeating: 0, count: rows * slot.inFeatures)
                stridedGEMM(transposeLeft: false, m: rows, n: slot.inFeatures, k: r, alpha: 1,
                            left: dProjected.pointer, leftStride: r, right: parameters.pointer + slot.a, rightStride: slot.inFeatures,
                            beta: 0, out: &contribution, outStride: slot.inFeatures)
                applyDropoutMask(&contribution, dropoutMasks[i]!.pointer, scale: dropoutScale(probability: configuration.dropout),
                                 count: contribution.count)
                addInPlace(dInput, contribution, count: contribution.count)
            } else {
                stridedGEMM(transposeLeft: false, m: rows, n: slot.inFeatures, k: r, alpha: 1,
                            left: dProjected.pointer, leftStride: r, right: parameters.pointer + slot.a, rightStride: slot.inFeatures,
                            beta: 1, out: dInput, outStride: slot.inFeatures)
            }
        }
    }

    /// Adds scale · B·A into the base weights: the merged model computes what base + adapter does.
    public func merge(into base: EncoderParameters) {
        let r = configuration.rank
        for slot in slots {
            let tensor = slot.target.site(hidden: config.hiddenSize).tensor
            let inFeatures = slot.inFeatures
            let weight = base.pointer(tensor, layer: slot.layer) + slot.rowOffset * inFeatures
            // W[rowOffset ..< rowOffset + out, :] += scale · B (out, r) · A (r, in)
            stridedGEMM(transposeLeft: false, m: slot.out, n: inFeatures, k: r, alpha: configuration.scale,
                        left: parameters.pointer + slot.b, leftStride: r, right: parameters.pointer + slot.a, rightStride: inFeatures,
                        beta: 1, out: weight, outStride: inFeatures)
        }
    }

    /// The adapter's tensors under PEFT's names for `task_type: SEQ_CLS` on a BERT model.
    /// Where each tensor PEFT saves lives in `parameters` (and `gradients`): its PEFT name
    /// (`task_type: SEQ_CLS` on a BERT model), shape, and offset.
    public var peftLayout: [(name: String, shape: [Int], offset: Int)] {
        let r = configuration.rank
        return slots.flatMap { slot -> [(name: String, shape: [Int], offset: Int)] in
            let prefix = "base_model.model.bert.encoder.layer.\(slot.layer).\(slot.target.modulePath)"
            return [(prefix + ".lora_A.weight", [r, slot.inFeatures], slot.a), (prefix + ".lora_B.weight", [slot.out, r], slot.b)]
        }
    }

    /// The adapter's tensors under PEFT's names, for saving.
    public func peftTensors() -> [(name: String, shape: [Int], values: [Float])] {
        peftLayout.map { entry in
            (entry.name, entry.shape, Array(UnsafeBufferPointer(start: parameters.pointer + entry.offset, count: entry.shape.reduce(1, *))))
        }
    }
}

extension LoRATarget {
    /// Row width of the base linear output that a target writes into.
    static func fusedWidth(_ tensor: EncoderParameterLayout.Tensor, _ config: BertConfig) -> Int {
        EncoderParameterLayout.shape(of: tensor, config: config)[0]
    }
}
