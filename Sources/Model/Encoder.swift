import Kernels

/// The BERT encoder (post-LayerNorm blocks) on the kernels of `Kernels`. One forward path serves
/// inference and training for every adapter, so a metric difference between candidates is a
/// difference in the adapters, never in the code that measured them.
public final class BertEncoder: @unchecked Sendable {
    public let config: BertConfig
    public let parameters: EncoderParameters
    public let activations: EncoderActivations

    public init(parameters: EncoderParameters) {
        self.config = parameters.config
        self.parameters = parameters
        self.activations = EncoderActivations(config: parameters.config)
    }

    /// Runs the encoder on `batch`. Results stay in `activations` until the next call: the
    /// last hidden state, and with `keepAllLayers` every layer's output (needed for backward).
    public func forward(_ batch: TokenBatch, keepAllLayers: Bool = false) {
        let a = activations, p = parameters
        a.prepare(for: batch, keepAllLayers: keepAllLayers)
        let B = batch.batchSize, T = batch.tokens, C = config.hiddenSize
        let BT = B * T, FF = config.intermediateSize, NH = config.numAttentionHeads
        let eps = config.layerNormEps
        precondition(T <= config.maxPositionEmbeddings, "sequence of \(T) tokens exceeds max_position_embeddings \(config.maxPositionEmbeddings)")

        embeddingForward(out: a.embeddingSum, ids: a.ids,
                         wordEmbeddings: p.pointer(.wordEmbeddings), positionEmbeddings: p.pointer(.positionEmbeddings),
                         tokenTypeEmbeddings: p.pointer(.tokenTypeEmbeddings), batch: B, tokens: T, channels: C)
        layerNormForward(out: a.embeddingNorm, mean: a.embeddingMean, rstd: a.embeddingRstd, inp: a.embeddingSum,
                         weight: p.pointer(.embeddingNormWeight), bias: p.pointer(.embeddingNormBias),
                         rows: BT, channels: C, eps: eps)

        for l in 0..<config.numHiddenLayers {
            let input = a.layerInput(l)
            let act = a.layer(l)
            // self-attention
            matmulForward(out: act.qkv, inp: input, weight: p.pointer(.qkvWeight, layer: l),
                          bias: p.pointer(.qkvBias, layer: l), rows: BT, inFeatures: C, outFeatures: 3 * C)
            attentionForward(out: act.context, probs: act.probs, qkv: act.qkv, lengths: a.lengths,
                             batch: B, tokens: T, channels: C, heads: NH)
            matmulForward(out: act.attentionResidual, inp: act.context, weight: p.pointer(.attentionOutputWeight, layer: l),
                          bias: p.pointer(.attentionOutputBias, layer: l), rows: BT, inFeatures: C, outFeatures: C)
            addInPlace(act.attentionResidual, input, count: BT * C)
            layerNormForward(out: act.attentionNorm, mean: act.attentionMean, rstd: act.attentionRstd,
                             inp: act.attentionResidual, weight: p.pointer(.attentionNormWeight, layer: l),
                             bias: p.pointer(.attentionNormBias, layer: l), rows: BT, channels: C, eps: eps)
            // feed-forward
            matmulForward(out: act.intermediate, inp: act.attentionNorm, weight: p.pointer(.intermediateWeight, layer: l),
                          bias: p.pointer(.intermediateBias, layer: l), rows: BT, inFeatures: C, outFeatures: FF)
            geluForward(out: act.gelu, inp: act.intermediate, count: BT * FF)
            matmulForward(out: act.outputResidual, inp: act.gelu, weight: p.pointer(.outputWeight, layer: l),
                          bias: p.pointer(.outputBias, layer: l), rows: BT, inFeatures: FF, outFeatures: C)
            addInPlace(act.outputResidual, act.attentionNorm, count: BT * C)
            layerNormForward(out: act.outputNorm, mean: act.outputMean, rstd: act.outputRstd,
                             inp: act.outputResidual, weight: p.pointer(.outputNormWeight, layer: l),
                             bias: p.pointer(.outputNormBias, layer: l), rows: BT, channels: C, eps: eps)
        }
    }

    /// Mean of the last hidden state over each item's real tokens: (B, C).
    public func meanPooledLastHiddenState() -> [Float] {
        let a = activations
        let B = a.batchSize, C = config.hiddenSize
        var pooled = [Float](repeating: 0, count: B * C)
        let starts = [Int32](repeating: 0, count: B)
        pooled.withUnsafeMutableBufferPointer { out in
            starts.withUnsafeBufferPointer { starts in
                meanPoolForward(out: out.baseAddress!, inp: a.lastHiddenState, starts: starts.baseAddress!,
                                lengths: a.lengths, batch: B, tokens: a.tokens, channels: C)
            }
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
