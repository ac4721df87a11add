import Kernels
import Model

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

    /// Where each (layer, site)'s A and B start in `parameters`, and the base tensor rows it adds to.
    struct Slot { let layer: Int; let site: LinearSite; let tensor: EncoderParameterLayout.Tensor; let rowOffset: Int; let a: Int; let b: Int }
    let slots: [Slot]
    private let slotIndex: [Int: [Int]]                 // key: layer * 16 + tensor.rawValue → slot indices
    private var projected = FloatBuffer(count: 0)       // (rows, r) scratch: dropout(x)·Aᵀ, recomputed in the backward
    private var dProjected = FloatBuffer(count: 0)      // (rows, r) scratch
    private var droppedInputs: [Int: FloatBuffer] = [:] // slot → (rows, in) dropout(x) of the last training forward
    private var dropoutMasks: [Int: MaskBuffer] = [:]   // slot → (rows, in) its mask
    private var dropoutActive = false

    public init(configuration: LoRAConfiguration, config: BertConfig, seed: UInt64) {
        self.configuration = configuration
        self.config = config
        let r = configuration.rank
        let layout = EncoderParameterLayout(config: config)
        var slots: [Slot] = []
        var next = 0
        for layer in 0..<config.numHiddenLayers {
            for site in configuration.targets {
                let (tensor, rowOffset) = layout.location(of: site)
                slots.append(Slot(layer: layer, site: site, tensor: tensor, rowOffset: rowOffset, a: next, b: next + r * site.inFeatures))
                next += r * site.inFeatures + site.out * r
            }
        }
        self.slots = slots
        var index: [Int: [Int]] = [:]
        for (i, slot) in slots.enumerated() { index[slot.layer * 16 + slot.tensor.rawValue, default: []].append(i) }
        slotIndex = index
        parameters = FloatBuffer(count: next)
        gradients = FloatBuffer(count: next)
        var generator = SeededGenerator(seed: seed)
        for slot in slots { configuration.initializeA(parameters.pointer + slot.a, inFeatures: slot.site.inFeatures, generator: &generator) }
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
        let outStride = fusedWidth(tensor)
        dropoutActive = training && configuration.dropout > 0
        for i in indices {
            let slot = slots[i]
            var x = input
            if dropoutActive {
                // PEFT draws a separate dropout mask for each adapted module.
                let count = rows * slot.site.inFeatures
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
            LowRankUpdate.forward(out: output + slot.rowOffset, outStride: outStride, projected: projected.pointer, input: x,
                                  a: parameters.pointer + slot.a, b: parameters.pointer + slot.b, rows: rows,
                                  inFeatures: slot.site.inFeatures, rank: r, outFeatures: slot.site.out, scale: configuration.scale)
        }
    }

    public func linearBackward(_ tensor: EncoderParameterLayout.Tensor, layer: Int,
                               input: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>,
                               dOutput: UnsafePointer<Float>, rows: Int) {
        let indices = slots(for: tensor, layer: layer)
        guard !indices.isEmpty else { return }
        ensureScratch(rows: rows)
        let r = configuration.rank
        let outStride = fusedWidth(tensor)
        for i in indices {
            let slot = slots[i]
            let x = dropoutActive ? UnsafePointer(droppedInputs[i]!.pointer) : input
            let mask = dropoutActive ? (UnsafePointer(dropoutMasks[i]!.pointer), dropoutScale(probability: configuration.dropout)) : nil
            LowRankUpdate.project(projected: projected.pointer, input: x, a: parameters.pointer + slot.a, rows: rows,
                                  inFeatures: slot.site.inFeatures, rank: r)
            LowRankUpdate.backward(dOut: dOutput + slot.rowOffset, outStride: outStride, projected: projected.pointer,
                                   dProjected: dProjected.pointer, input: x, a: parameters.pointer + slot.a, b: parameters.pointer + slot.b,
                                   dA: gradients.pointer + slot.a, dB: gradients.pointer + slot.b, dInput: dInput, dropoutMask: mask,
                                   rows: rows, inFeatures: slot.site.inFeatures, rank: r, outFeatures: slot.site.out, scale: configuration.scale)
        }
    }

    /// Adds scale · B·A into the base weights: the merged model computes what base + adapter does.
    public func merge(into base: EncoderParameters) {
        for slot in slots {
            let inFeatures = slot.site.inFeatures
            LowRankUpdate.merge(into: base.pointer(slot.tensor, layer: slot.layer) + slot.rowOffset * inFeatures,
                                a: parameters.pointer + slot.a, b: parameters.pointer + slot.b,
                                outFeatures: slot.site.out, inFeatures: inFeatures, rank: configuration.rank, scale: configuration.scale)
        }
    }

    /// Where each tensor PEFT saves lives in `parameters` (and `gradients`): its PEFT name
    /// (`task_type: SEQ_CLS` on a BERT model), shape, and offset.
    public var peftLayout: [(name: String, shape: [Int], offset: Int)] {
        let r = configuration.rank, sites = config.linearSites
        return slots.flatMap { slot -> [(name: String, shape: [Int], offset: Int)] in
            [(sites.loraTensorName(layer: slot.layer, slot.site, "A"), [r, slot.site.inFeatures], slot.a),
             (sites.loraTensorName(layer: slot.layer, slot.site, "B"), [slot.site.out, r], slot.b)]
        }
    }

    /// The adapter's tensors under PEFT's names, for saving.
    public func peftTensors() -> [(name: String, shape: [Int], values: [Float])] {
        peftLayout.map { entry in
            (entry.name, entry.shape, Array(UnsafeBufferPointer(start: parameters.pointer + entry.offset, count: entry.shape.reduce(1, *))))
        }
    }

    /// Row width of the base linear output that `tensor`'s sites write into.
    private func fusedWidth(_ tensor: EncoderParameterLayout.Tensor) -> Int {
        EncoderParameterLayout.shape(of: tensor, config: config)[0]
    }
}
