import Kernels

/// The BERT encoder (post-LayerNorm blocks) on the kernels of `Kernels`. One forward path serves
/// inference and training for every adapter, so a metric difference between candidates is a
/// difference in the adapters, never in the code that measured them.
public final class BertEncoder: @unchecked Sendable {
    public let config: BertConfig
    public let parameters: EncoderParameters
    public let activations: EncoderActivations
    /// Plugs LoRA, QLoRA or prompt tuning into the forward and backward passes; nil for the plain model.
    public var adapter: EncoderAdapter?
    private var gradientScratch = FloatBuffer(count: 0)

    public init(parameters: EncoderParameters, adapter: EncoderAdapter? = nil) {
        self.config = parameters.config
        self.parameters = parameters
        self.activations = EncoderActivations(config: parameters.config)
        self.adapter = adapter
    }

    // MARK: forward

    /// Runs the encoder on `batch` (inference: dropout off, layers share one activation slot unless
    /// `keepAllLayers`). Results stay in `activations` until the next call.
    public func forward(_ batch: TokenBatch, keepAllLayers: Bool = false) {
        forward(batch, keepAllLayers: keepAllLayers, dropout: .off, training: false)
    }

    /// Forward pass that keeps what `backward` needs; dropout as given (`.off` for parity checks).
    public func trainingForward(_ batch: TokenBatch, dropout: DropoutSettings) {
        forward(batch, keepAllLayers: true, dropout: dropout, training: true)
    }

    private func forward(_ batch: TokenBatch, keepAllLayers: Bool, dropout: DropoutSettings, training: Bool) {
        let a = activations, p = parameters
        let P = adapter?.promptLength ?? 0
        let useDropout = training && (dropout.hidden > 0 || dropout.attention > 0)
        a.prepare(for: batch, promptLength: P, keepAllLayers: keepAllLayers, dropout: useDropout)
        let B = a.batchSize, T = a.tokens, C = config.hiddenSize
        let BT = B * T, FF = config.intermediateSize, NH = config.numAttentionHeads
        let eps = config.layerNormEps
        precondition(T <= config.maxPositionEmbeddings, "sequence of \(T) tokens exceeds max_position_embeddings \(config.maxPositionEmbeddings)")
        // Each dropout site draws from its own stream: seed ⊕ a site number.
        a.hiddenDropoutScale = dropoutScale(probability: dropout.hidden)
        a.attentionDropoutScale = dropoutScale(probability: dropout.attention)
        let hiddenScale = a.hiddenDropoutScale
        func mask(_ pointer: UnsafeMutablePointer<UInt8>?, count: Int, probability: Float, site: UInt64) {
            guard let pointer else { return }
            dropoutMaskFill(mask: pointer, count: count, probability: probability, seed: dropout.seed &+ site &* 0x1000_0000_01B3)
        }

        embeddingForward(out: a.embeddingSum, ids: a.ids,
                         wordEmbeddings: p.pointer(.wordEmbeddings), positionEmbeddings: p.pointer(.positionEmbeddings),
                         tokenTypeEmbeddings: p.pointer(.tokenTypeEmbeddings),
                         prompt: adapter?.promptEmbeddings, promptLength: P, batch: B, tokens: T, channels: C)
        layerNormForward(out: a.embeddingNorm, mean: a.embeddingMean, rstd: a.embeddingRstd, inp: a.embeddingSum,
                         weight: p.pointer(.embeddingNormWeight), bias: p.pointer(.embeddingNormBias),
                         rows: BT, channels: C, eps: eps)
        if let embeddingDropout = a.embeddingDropout {
            mask(embeddingDropout, count: BT * C, probability: dropout.hidden, site: 1)
            applyDropoutMask(a.embeddingNorm, embeddingDropout, scale: hiddenScale, count: BT * C)
        }

        for l in 0..<config.numHiddenLayers {
            let input = a.layerInput(l)
            let act = a.layer(l)
            let site = UInt64(l + 1) * 8
            // self-attention
            linear(.qkvWeight, .qkvBias, layer: l, input: input, output: act.qkv, rows: BT, training: training, seed: dropout.seed &+ site)
            mask(act.probsDropout, count: B * NH * T * T, probability: dropout.attention, site: site + 1)
            attentionForward(out: act.context, probs: act.probs, qkv: act.qkv, lengths: a.lengths,
                             dropoutMask: act.probsDropout, dropoutScale: a.attentionDropoutScale, scratch: a.attentionScratch,
                             batch: B, tokens: T, channels: C, heads: NH)
            linear(.attentionOutputWeight, .attentionOutputBias, layer: l, input: act.context, output: act.attentionResidual,
                   rows: BT, training: training, seed: dropout.seed &+ site + 2)
            if let m = act.attentionOutputDropout {
                mask(m, count: BT * C, probability: dropout.hidden, site: site + 3)
                applyDropoutMask(act.attentionResidual, m, scale: hiddenScale, count: BT * C)
            }
            addInPlace(act.attentionResidual, input, count: BT * C)
            layerNormForward(out: act.attentionNorm, mean: act.attentionMean, rstd: act.attentionRstd,
                             inp: act.attentionResidual, weight: p.pointer(.attentionNormWeight, layer: l),
                             bias: p.pointer(.attentionNormBias, layer: l), rows: BT, channels: C, eps: eps)
            // feed-forward
            linear(.intermediateWeight, .intermediateBias, layer: l, input: act.attentionNorm, output: act.intermediate,
                   rows: BT, training: training, seed: dropout.seed &+ site + 4)
            geluForward(out: act.gelu, inp: act.intermediate, count: BT * FF)
            linear(.outputWeight, .outputBias, layer: l, input: act.gelu, output: act.outputResidual,
                   rows: BT, training: training, seed: dropout.seed &+ site + 5)
            if let m = act.outputDropout {
                mask(m, count: BT * C, probability: dropout.hidden, site: site + 6)
                applyDropoutMask(act.outputResidual, m, scale: hiddenScale, count: BT * C)
            }
            addInPlace(act.outputResidual, act.attentionNorm, count: BT * C)
            layerNormForward(out: act.outputNorm, mean: act.outputMean, rstd: act.outputRstd,
                             inp: act.outputResidual, weight: p.pointer(.outputNormWeight, layer: l),
                             bias: p.pointer(.outputNormBias, layer: l), rows: BT, channels: C, eps: eps)
        }
    }

    /// A linear layer through the adapter's hooks: base weight (possibly dequantised), then the
    /// adapter's additive term.
    private func linear(_ weight: EncoderParameterLayout.Tensor, _ bias: EncoderParameterLayout.Tensor, layer l: Int,
                        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, rows: Int,
                        training: Bool, seed: UInt64) {
        let shape = parameters.layout.shape(of: weight)
        let base = UnsafePointer(parameters.pointer(weight, layer: l))
        let w = adapter?.linearWeight(weight, layer: l, base: base) ?? base
        matmulForward(out: output, inp: input, weight: w, bias: parameters.pointer(bias, layer: l),
                      rows: rows, inFeatures: shape[1], outFeatures: shape[0])
        adapter?.linearForward(weight, layer: l, input: input, output: output, rows: rows, training: training, seed: seed)
    }

    // MARK: backward

    /// Backward of the last `trainingForward`, from the gradient of the last hidden state
    /// (B, T, C). Base-weight gradients accumulate into `gradients` (nil: the base is frozen, as
    /// for LoRA, QLoRA and prompt tuning); adapter gradients accumulate inside the adapter.
    /// `trainEmbeddings` false skips the three embedding tables (full fine-tuning's freeze option).
    /// `dLastHidden` is consumed: the pass reuses its memory for each layer's input gradient.
    public func backward(dLastHidden: UnsafeMutablePointer<Float>, gradients: EncoderParameters?, trainEmbeddings: Bool = true) {
        let a = activations, p = parameters
        precondition(a.keepsAllLayers, "backward needs a trainingForward first")
        let B = a.batchSize, T = a.tokens, C = config.hiddenSize
        let BT = B * T, FF = config.intermediateSize, NH = config.numAttentionHeads
        let g = gradients
        let needed = 7 * BT * C + BT * FF // the buffers carved below
        if gradientScratch.count < needed { gradientScratch = FloatBuffer(count: needed, zeroed: false) }
        var next = gradientScratch.pointer
        func take(_ count: Int) -> UnsafeMutablePointer<Float> { defer { next += count }; return next }
        var dOut = dLastHidden                      // (B, T, C) gradient of the current layer's output
        let dOutputResidual = take(BT * C)          // (B, T, C)
        let dAttentionNorm = take(BT * C)           // (B, T, C)
        let dIntermediate = take(BT * FF)           // (B, T, FF) holds dGelu until the GELU backward
        let dAttentionResidual = take(BT * C)       // (B, T, C)
        let dContext = take(BT * C)                 // (B, T, C)
        let dQKV = take(3 * BT * C)                 // (B, T, 3C)
        var dInput = dLastHidden                    // (B, T, C) gradient of the layer's input

        for l in stride(from: config.numHiddenLayers - 1, through: 0, by: -1) {
            let act = a.layer(l)
            let input = a.layerInput(l)
            // output LayerNorm
            dOutputResidual.update(repeating: 0, count: BT * C)
            layerNormBackward(dinp: dOutputResidual, dweight: g?.pointer(.outputNormWeight, layer: l), dbias: g?.pointer(.outputNormBias, layer: l),
                              dout: dOut, inp: act.outputResidual, weight: p.pointer(.outputNormWeight, layer: l),
                              mean: act.outputMean, rstd: act.outputRstd, rows: BT, channels: C)
            // residual: the attention block's output receives the gradient unchanged
            dAttentionNorm.update(from: dOutputResidual, count: BT * C)
            if let m = act.outputDropout { applyDropoutMask(dOutputResidual, m, scale: a.hiddenDropoutScale, count: BT * C) }
            // output dense (its input, the GELU output, is recomputed: layers share one buffer), GELU, intermediate dense
            geluForward(out: act.gelu, inp: act.intermediate, count: BT * FF)
            dIntermediate.update(repeating: 0, count: BT * FF)
            linearBackward(.outputWeight, .outputBias, layer: l, input: act.gelu, dInput: dIntermediate, dOutput: dOutputResidual, rows: BT, gradients: g)
            geluBackwardInPlace(dIntermediate, inp: act.intermediate, count: BT * FF)
            linearBackward(.intermediateWeight, .intermediateBias, layer: l, input: act.attentionNorm, dInput: dAttentionNorm,
                           dOutput: dIntermediate, rows: BT, gradients: g)
            // attention LayerNorm
            dAttentionResidual.update(repeating: 0, count: BT * C)
            layerNormBackward(dinp: dAttentionResidual, dweight: g?.pointer(.attentionNormWeight, layer: l), dbias: g?.pointer(.attentionNormBias, layer: l),
                              dout: dAttentionNorm, inp: act.attentionResidual, weight: p.pointer(.attentionNormWeight, layer: l),
                              mean: act.attentionMean, rstd: act.attentionRstd, rows: BT, channels: C)
            // residual: the layer input receives the gradient unchanged; dOut's buffer is free now
            dInput = dOut
            dInput.update(from: dAttentionResidual, count: BT * C)
            if let m = act.attentionOutputDropout { applyDropoutMask(dAttentionResidual, m, scale: a.hiddenDropoutScale, count: BT * C) }
            dContext.update(repeating: 0, count: BT * C)
            linearBackward(.attentionOutputWeight, .attentionOutputBias, layer: l, input: act.context, dInput: dContext,
                           dOutput: dAttentionResidual, rows: BT, gradients: g)
            dQKV.update(repeating: 0, count: 3 * BT * C)
            attentionBackward(dqkv: dQKV, dout: dContext, qkv: act.qkv, probs: act.probs, lengths: a.lengths,
                              dropoutMask: act.probsDropout, dropoutScale: a.attentionDropoutScale, scratch: a.attentionScratch, batch: B, tokens: T, channels: C, heads: NH)
            linearBackward(.qkvWeight, .qkvBias, layer: l, input: input, dInput: dInput, dOutput: dQKV, rows: BT, gradients: g)
            dOut = dInput
        }

        // embeddings: dropout, LayerNorm, lookup
        let trainsTables = g != nil && trainEmbeddings
        guard trainsTables || adapter?.promptGradients != nil else { return }
        if let m = a.embeddingDropout { applyDropoutMask(dOut, m, scale: a.hiddenDropoutScale, count: BT * C) }
        let dEmbeddingSum = dOutputResidual
        dEmbeddingSum.update(repeating: 0, count: BT * C)
        layerNormBackward(dinp: dEmbeddingSum, dweight: trainsTables ? g?.pointer(.embeddingNormWeight) : nil,
                          dbias: trainsTables ? g?.pointer(.embeddingNormBias) : nil,
                          dout: dOut, inp: a.embeddingSum, weight: p.pointer(.embeddingNormWeight),
                          mean: a.embeddingMean, rstd: a.embeddingRstd, rows: BT, channels: C)
        embeddingBackward(dwordEmbeddings: trainsTables ? g?.pointer(.wordEmbeddings) : nil,
                          dpositionEmbeddings: trainsTables ? g?.pointer(.positionEmbeddings) : nil,
                          dtokenTypeEmbeddings: trainsTables ? g?.pointer(.tokenTypeEmbeddings) : nil,
                          dprompt: adapter?.promptGradients, promptLength: a.promptLength,
                          dout: dEmbeddingSum, ids: a.ids, lengths: a.lengths, batch: B, tokens: T, channels: C)
    }

    /// Backward of `linear`: base gradients (when trainable), input gradient through the base
    /// weight, then the adapter's backward.
    private func linearBackward(_ weight: EncoderParameterLayout.Tensor, _ bias: EncoderParameterLayout.Tensor, layer l: Int,
                                input: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>,
                                rows: Int, gradients: EncoderParameters?) {
        let shape = parameters.layout.shape(of: weight)
        let base = UnsafePointer(parameters.pointer(weight, layer: l))
        let w = adapter?.linearWeight(weight, layer: l, base: base) ?? base
        matmulBackward(dinp: dInput, dweight: gradients?.pointer(weight, layer: l), dbias: gradients?.pointer(bias, layer: l),
                       dout: dOutput, inp: input, weight: w, rows: rows, inFeatures: shape[1], outFeatures: shape[0])
        adapter?.linearBackward(weight, layer: l, input: input, dInput: dInput, dOutput: dOutput, rows: rows)
    }

    // MARK: outputs

    /// Mean of the last hidden state over each item's real tokens (virtual prompt tokens excluded): (B, C).
    public func meanPooledLastHiddenState() -> [Float] {
        let a = activations
        let B = a.batchSize, C = config.hiddenSize
        var pooled = [Float](repeating: 0, count: B * C)
        let starts = [Int32](repeating: Int32(a.promptLength), count: B)
        let realLengths = (0..<B).map { a.lengths[$0] - Int32(a.promptLength) }
        pooled.withUnsafeMutableBufferPointer { out in
            meanPoolForward(out: out.baseAddress!, inp: a.lastHiddenState, starts: starts, lengths: realLengths,
                            batch: B, tokens: a.tokens, channels: C)
        }
        return pooled
    }

    /// Copy of one layer's output for the current batch, (B, T, C); layer 0 is the embedding
    /// output, layer l the output of block l. Needs a forward with `keepAllLayers`.
    public func hiddenState(_ layer: Int) -> [Float] {
        let a = activations
        precondition(layer == 0 || a.keepsAllLayers || layer == config.numHiddenLayers, "run forward with keepAllLayers")
        let source = layer == 0 ? a.embeddingNorm : a.layer(layer - 1).outputNorm
        return Array(UnsafeBufferPointer(start: source, count: a.batchSize * a.tokens * config.hiddenSize))
    }
}
