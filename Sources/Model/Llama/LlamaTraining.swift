import Foundation
import Kernels

/// A sequence to learn from with the causal-LM objective: every token from `firstTarget` on is
/// predicted from the tokens before it (completion-only training, as TRL's SFT with a completion
/// mask: the prompt's tokens are context, not targets). `firstTarget` 1 learns the whole text.
public struct LanguageModelingExample: Sendable, Equatable {
    public var ids: [Int32]
    public var firstTarget: Int
    public init(ids: [Int32], firstTarget: Int) { self.ids = ids; self.firstTarget = firstTarget }
    /// Tokens predicted.
    public var targetCount: Int { max(0, ids.count - firstTarget) }
}

/// The training forward and backward of a Llama decoder in fp32 over a right-padded batch, on the
/// inference kernels and their backwards: the loss is the mean negative log-likelihood over every
/// target token of the batch (`LanguageModelingExample`), made through the chunked head
/// (`languageModelHeadLoss`), so no (batch, seq, vocab) block exists. Every weight gets its
/// gradient (full fine-tuning); gradients are keyed by Hugging Face's parameter names
/// (`LlamaWeights.layerSites`), the names PyTorch's `named_parameters()` gives them.
///
/// With LoRA adapters (`LlamaLoRA`) the base weights are frozen and only the adapters' A and B
/// get gradients, keyed by PEFT's names. The weights must be fp32 (`LlamaWeights.Storage.float32`,
/// or a safetensors folder).
public struct LlamaTrainingGraph {
    public let model: LlamaModel

    public init(model: LlamaModel) throws(ModelInputError) {
        let matrices = model.weights.layers.flatMap { [$0.query, $0.key, $0.value, $0.output, $0.gate, $0.up, $0.down] }
            + [model.weights.embedding] + (model.weights.lmHead.map { [$0] } ?? [])
        guard matrices.allSatisfy({ if case .dense = $0 { return true }; return false }) else {
            throw ModelInputError(file: model.source.path, detail: "training needs fp32 weights; load the GGUF with storage float32")
        }
        self.model = model
    }

    /// Activations of one layer kept for the backward.
    private struct LayerActivations {
        var input: [Float]          // (N, d): the residual stream entering the layer
        var attentionNormed: [Float], attentionRstd: [Float]
        var query: [Float], key: [Float], value: [Float]   // rotated q and k
        var probs: [Float]          // (B, H, T, T)
        var context: [Float]        // (N, H·D)
        var middle: [Float]         // (N, d): after the attention residual
        var mlpNormed: [Float], mlpRstd: [Float]
        var gate: [Float], up: [Float], activated: [Float]  // (N, F)
        /// Per adapted layer: scale · x·Aᵀ (N, r), the adapter's input to B.
        var adapted: [LlamaLinear: [Float]] = [:]
    }

    /// What one pass measured: the mean loss over the batch's target tokens, how many targets
    /// there were and how many the model ranked first, and (after a backward) every gradient.
    public struct Pass {
        public var loss: Double
        public var targets: Int
        public var correct: Int
        public var gradients: [String: [Float]]
    }

    /// The loss alone (no activations kept beyond a layer, no backward): validation.
    public func loss(_ batch: [LanguageModelingExample], lora: LlamaLoRA? = nil) throws(ModelInputError) -> Pass {
        try check(batch)
        return run(batch, backward: false, lora: lora)
    }

    /// The mean loss over the batch's target tokens and the gradient of every trainable tensor:
    /// every weight, or with `lora` the adapters only.
    public func lossAndGradients(_ batch: [LanguageModelingExample], lora: LlamaLoRA? = nil) throws(ModelInputError) -> Pass {
        try check(batch)
        return run(batch, backward: true, lora: lora)
    }

    private func check(_ batch: [LanguageModelingExample]) throws(ModelInputError) {
        try model.validate(batch.map(\.ids))
        if let bad = batch.firstIndex(where: { $0.firstTarget < 1 || $0.firstTarget > $0.ids.count }) {
            throw ModelInputError(file: model.source.path, detail: "sequence \(bad): first target \(batch[bad].firstTarget) is outside 1...\(batch[bad].ids.count) (position 0 has no context to predict it from)")
        }
    }

    private static func dense(_ weight: LinearWeight) -> [Float] {
        if case .dense(let values) = weight { return values }
        return []
    }

    /// out (+)= inp·Wᵀ of one linear layer, plus its adapter's scale·(inp·Aᵀ)·Bᵀ; returns the
    /// adapter's scaled projection (N, r) for the backward (nil without an adapter).
    private func project(_ target: LlamaLinear, layer index: Int, lora: LlamaLoRA?, out: inout [Float], inp: [Float],
                         rows N: Int, accumulate: Bool = false) -> [Float]? {
        let (outFeatures, inFeatures) = target.shape(model.config)
        target.weight(model.weights.layers[index]).forward(out: &out, inp: inp, rows: N, inFeatures: inFeatures,
                                                           outFeatures: outFeatures, accumulate: accumulate)
        guard let lora, let (a, b) = lora.site(layer: index, target) else { return nil }
        var projected = [Float](repeating: 0, count: N * lora.rank)
        matmulForward(out: &projected, inp: inp, weight: a, bias: nil, rows: N, inFeatures: inFeatures, outFeatures: lora.rank)
        let scale = lora.scale
        projected.withUnsafeMutableBufferPointer { scaleInPlace($0.baseAddress!, count: $0.count, by: scale) }
        matmulForward(out: &out, inp: projected, weight: b, bias: nil, rows: N, inFeatures: lora.rank, outFeatures: outFeatures,
                      accumulate: true)
        return projected
    }

    /// Backward of `project`: dinp += dout·W (+ the adapter's path); the weight's gradient into
    /// `gradients` under its Hugging Face name when the base trains, else A's and B's under PEFT's.
    private func projectBackward(_ target: LlamaLinear, layer index: Int, lora: LlamaLoRA?, adapted: [Float]?,
                                 dinp: inout [Float], dout: [Float], inp: [Float], rows N: Int,
                                 gradients: inout [String: [Float]]) {
        let c = model.config
        let (outFeatures, inFeatures) = target.shape(c)
        let weight = Self.dense(target.weight(model.weights.layers[index]))
        if lora == nil {
            var dweight = [Float](repeating: 0, count: outFeatures * inFeatures)
            matmulBackward(dinp: &dinp, dweight: &dweight, dbias: nil, dout: dout, inp: inp, weight: weight,
                           rows: N, inFeatures: inFeatures, outFeatures: outFeatures)
            gradients["model.layers.\(index).\(target.modulePath).weight"] = dweight
            return
        }
        matmulBackward(dinp: &dinp, dweight: nil, dbias: nil, dout: dout, inp: inp, weight: weight,
                       rows: N, inFeatures: inFeatures, outFeatures: outFeatures)
        guard let lora, let adapted, let (a, b) = lora.site(layer: index, target) else { return }
        let r = lora.rank
        // y += P·Bᵀ with P = scale·x·Aᵀ:  dB += doutᵀ·P,  dP = dout·B;  then dA += scale·dPᵀ·x, dx += scale·dP·A.
        var dB = [Float](repeating: 0, count: outFeatures * r), dP = [Float](repeating: 0, count: N * r)
        matmulBackward(dinp: &dP, dweight: &dB, dbias: nil, dout: dout, inp: adapted, weight: b, rows: N, inFeatures: r, outFeatures: outFeatures)
        let scale = lora.scale
        dP.withUnsafeMutableBufferPointer { scaleInPlace($0.baseAddress!, count: $0.count, by: scale) }
        var dA = [Float](repeating: 0, count: r * inFeatures)
        matmulBackward(dinp: &dinp, dweight: &dA, dbias: nil, dout: dP, inp: inp, weight: a, rows: N, inFeatures: inFeatures, outFeatures: r)
        gradients[LlamaLoRA.name(layer: index, target, "A")] = dA
        gradients[LlamaLoRA.name(layer: index, target, "B")] = dB
    }

    private func run(_ batch: [LanguageModelingExample], backward: Bool, lora: LlamaLoRA?) -> Pass {
        let m = model, c = m.config, w = m.weights
        let trainsBase = lora == nil
        let B = batch.count, T = batch.map(\.ids.count).max()!, N = B * T
        let d = c.hiddenSize, D = c.headDim, H = c.heads, KV = c.kvHeads, qWidth = H * D, kvWidth = KV * D, F = c.intermediateSize
        let V = c.vocabSize, eps = c.rmsNormEps
        let ids = batch.flatMap { $0.ids + [Int32](repeating: 0, count: T - $0.ids.count) }
        let embedding = Self.dense(w.embedding), head = w.lmHead.map(Self.dense) ?? embedding

        // Forward, keeping each layer's activations.
        var x = [Float](repeating: 0, count: N * d)
        for (row, id) in ids.enumerated() { x[(row * d)..<((row + 1) * d)] = embedding[(Int(id) * d)..<((Int(id) + 1) * d)] }
        var saved: [LayerActivations] = []
        for (index, layer) in w.layers.enumerated() {
            var a = LayerActivations(
                input: x, attentionNormed: .init(repeating: 0, count: N * d), attentionRstd: .init(repeating: 0, count: N),
                query: .init(repeating: 0, count: N * qWidth), key: .init(repeating: 0, count: N * kvWidth),
                value: .init(repeating: 0, count: N * kvWidth), probs: .init(repeating: 0, count: B * H * T * T),
                context: .init(repeating: 0, count: N * qWidth), middle: [], mlpNormed: .init(repeating: 0, count: N * d),
                mlpRstd: .init(repeating: 0, count: N), gate: .init(repeating: 0, count: N * F), up: .init(repeating: 0, count: N * F),
                activated: .init(repeating: 0, count: N * F))
            rmsNormForward(out: &a.attentionNormed, rstd: &a.attentionRstd, inp: x, weight: layer.attentionNorm, rows: N, channels: d, eps: eps)
            a.adapted[.query] = project(.query, layer: index, lora: lora, out: &a.query, inp: a.attentionNormed, rows: N)
            a.adapted[.key] = project(.key, layer: index, lora: lora, out: &a.key, inp: a.attentionNormed, rows: N)
            a.adapted[.value] = project(.value, layer: index, lora: lora, out: &a.value, inp: a.attentionNormed, rows: N)
            rotaryForward(&a.query, tables: m.rope, batch: B, tokens: T, heads: H, rowStride: qWidth)
            rotaryForward(&a.key, tables: m.rope, batch: B, tokens: T, heads: KV, rowStride: kvWidth)
            causalAttentionForward(out: &a.context, probs: &a.probs, query: a.query, key: a.key, value: a.value,
                                   batch: B, tokens: T, heads: H, kvHeads: KV, headDim: D)
            a.adapted[.output] = project(.output, layer: index, lora: lora, out: &x, inp: a.context, rows: N, accumulate: true)
            a.middle = x
            rmsNormForward(out: &a.mlpNormed, rstd: &a.mlpRstd, inp: x, weight: layer.mlpNorm, rows: N, channels: d, eps: eps)
            a.adapted[.gate] = project(.gate, layer: index, lora: lora, out: &a.gate, inp: a.mlpNormed, rows: N)
            a.adapted[.up] = project(.up, layer: index, lora: lora, out: &a.up, inp: a.mlpNormed, rows: N)
            swigluForward(out: &a.activated, gate: a.gate, up: a.up, count: N * F)
            a.adapted[.down] = project(.down, layer: index, lora: lora, out: &x, inp: a.activated, rows: N, accumulate: true)
            if backward { saved.append(a) }
        }
        var final = [Float](repeating: 0, count: N * d), finalRstd = [Float](repeating: 0, count: N)
        rmsNormForward(out: &final, rstd: &finalRstd, inp: x, weight: w.finalNorm, rows: N, channels: d, eps: eps)

        // The loss at the target positions: the row before each target token predicts it.
        var rows: [Int] = [], targets: [Int32] = []
        for (b, example) in batch.enumerated() {
            for t in example.firstTarget..<example.ids.count {
                rows.append(b * T + t - 1)
                targets.append(example.ids[t])
            }
        }
        var gradients: [String: [Float]] = [:]
        guard !rows.isEmpty else { return Pass(loss: 0, targets: 0, correct: 0, gradients: gradients) }
        var gathered = [Float](repeating: 0, count: rows.count * d)
        for (r, row) in rows.enumerated() { gathered[(r * d)..<((r + 1) * d)] = final[(row * d)..<((row + 1) * d)] }
        guard backward else {
            let (loss, correct) = languageModelHeadLoss(dhidden: nil, dweight: nil, hidden: gathered, weight: head, targets: targets,
                                                        rows: rows.count, dim: d, vocabulary: V)
            return Pass(loss: loss, targets: rows.count, correct: correct, gradients: [:])
        }
        var dGathered = [Float](repeating: 0, count: rows.count * d)
        // The head's gradient: the embedding's when tied, the head's own otherwise; none when frozen.
        var dHead = trainsBase ? [Float](repeating: 0, count: V * d) : []
        let (loss, correct) = trainsBase
            ? languageModelHeadLoss(dhidden: &dGathered, dweight: &dHead, hidden: gathered, weight: head, targets: targets,
                                    rows: rows.count, dim: d, vocabulary: V)
            : languageModelHeadLoss(dhidden: &dGathered, dweight: nil, hidden: gathered, weight: head, targets: targets,
                                    rows: rows.count, dim: d, vocabulary: V)

        // Backward, layer by layer from the top; `dx` is the residual stream's gradient.
        var dFinal = [Float](repeating: 0, count: N * d)
        for (r, row) in rows.enumerated() { dFinal[(row * d)..<((row + 1) * d)] = dGathered[(r * d)..<((r + 1) * d)] }
        var dx = [Float](repeating: 0, count: N * d)
        // The norms' gradients are cheap (N·d): computed always, kept when the base trains.
        var dFinalNorm = [Float](repeating: 0, count: d)
        rmsNormBackward(dinp: &dx, dweight: &dFinalNorm, dout: dFinal, inp: x, weight: w.finalNorm, rstd: finalRstd,
                        rows: N, channels: d)
        var dNormed = [Float](repeating: 0, count: N * d)
        var dActivated = [Float](repeating: 0, count: N * F), dGate = dActivated, dUp = dActivated
        var dContext = [Float](repeating: 0, count: N * qWidth), dQuery = dContext
        var dKey = [Float](repeating: 0, count: N * kvWidth), dValue = dKey
        for index in w.layers.indices.reversed() {
            let layer = w.layers[index], a = saved[index]
            var dAttentionNorm = [Float](repeating: 0, count: d), dMlpNorm = dAttentionNorm
            // MLP: x += down(SiLU(gate(h)) ⊙ up(h)), h = RMSNorm(middle)
            zero(&dActivated); zero(&dGate); zero(&dUp); zero(&dNormed)
            projectBackward(.down, layer: index, lora: lora, adapted: a.adapted[.down] ?? nil, dinp: &dActivated, dout: dx,
                            inp: a.activated, rows: N, gradients: &gradients)
            swigluBackward(dgate: &dGate, dup: &dUp, dout: dActivated, gate: a.gate, up: a.up, count: N * F)
            projectBackward(.gate, layer: index, lora: lora, adapted: a.adapted[.gate] ?? nil, dinp: &dNormed, dout: dGate,
                            inp: a.mlpNormed, rows: N, gradients: &gradients)
            projectBackward(.up, layer: index, lora: lora, adapted: a.adapted[.up] ?? nil, dinp: &dNormed, dout: dUp,
                            inp: a.mlpNormed, rows: N, gradients: &gradients)
            rmsNormBackward(dinp: &dx, dweight: &dMlpNorm, dout: dNormed, inp: a.middle, weight: layer.mlpNorm,
                            rstd: a.mlpRstd, rows: N, channels: d)
            // Attention: x += o(attention(rope(q(h)), rope(k(h)), v(h))), h = RMSNorm(input)
            zero(&dContext); zero(&dQuery); zero(&dKey); zero(&dValue); zero(&dNormed)
            projectBackward(.output, layer: index, lora: lora, adapted: a.adapted[.output] ?? nil, dinp: &dContext, dout: dx,
                            inp: a.context, rows: N, gradients: &gradients)
            causalAttentionBackward(dquery: &dQuery, dkey: &dKey, dvalue: &dValue, dout: dContext, probs: a.probs,
                                    query: a.query, key: a.key, value: a.value, batch: B, tokens: T,
                                    heads: H, kvHeads: KV, headDim: D)
            rotaryBackward(&dQuery, tables: m.rope, batch: B, tokens: T, heads: H, rowStride: qWidth)
            rotaryBackward(&dKey, tables: m.rope, batch: B, tokens: T, heads: KV, rowStride: kvWidth)
            projectBackward(.query, layer: index, lora: lora, adapted: a.adapted[.query] ?? nil, dinp: &dNormed, dout: dQuery,
                            inp: a.attentionNormed, rows: N, gradients: &gradients)
            projectBackward(.key, layer: index, lora: lora, adapted: a.adapted[.key] ?? nil, dinp: &dNormed, dout: dKey,
                            inp: a.attentionNormed, rows: N, gradients: &gradients)
            projectBackward(.value, layer: index, lora: lora, adapted: a.adapted[.value] ?? nil, dinp: &dNormed, dout: dValue,
                            inp: a.attentionNormed, rows: N, gradients: &gradients)
            rmsNormBackward(dinp: &dx, dweight: &dAttentionNorm, dout: dNormed, inp: a.input,
                            weight: layer.attentionNorm, rstd: a.attentionRstd, rows: N, channels: d)
            if trainsBase {
                let names = LlamaWeights.layerSites(index, c).map(\.huggingFace)
                gradients[names[0]] = dAttentionNorm
                gradients[names[5]] = dMlpNorm
            }
        }
        guard trainsBase else { return Pass(loss: loss, targets: rows.count, correct: correct, gradients: gradients) }
        // The embedding lookup: each real position adds its gradient to its token's row (serially:
        // repeated ids would race). Padded positions carry none (nothing downstream used them).
        var dEmbedding = w.lmHead == nil ? dHead : [Float](repeating: 0, count: V * d)
        for (b, example) in batch.enumerated() {
            for t in 0..<example.ids.count {
                let row = Int(example.ids[t]), source = (b * T + t) * d
                for j in 0..<d { dEmbedding[row * d + j] += dx[source + j] }
            }
        }
        gradients[LlamaWeights.embeddingSite(c).huggingFace] = dEmbedding
        gradients[LlamaWeights.finalNormSite(c).huggingFace] = dFinalNorm
        if w.lmHead != nil { gradients[LlamaWeights.lmHeadSite(c).huggingFace] = dHead }
        return Pass(loss: loss, targets: rows.count, correct: correct, gradients: gradients)
    }

    private func zero(_ buffer: inout [Float]) {
        buffer.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

extension MemoryBudget {
    /// A lower bound of the bytes training a Llama decoder needs for a (batch, tokens) batch: the
    /// weights (with full fine-tuning also their gradients and two AdamW moments), and each layer's saved
    /// activations (`LlamaTrainingGraph`: four (N, d) rows, q, k, v, the context, three (N, F)
    /// MLP buffers and the (B, H, T, T) attention probabilities).
    public static func decoderTrainingBytes(config c: LlamaConfig, batch B: Int, tokens T: Int, trainsAllWeights: Bool) -> CheckedCount {
        let N = CheckedCount(B) * CheckedCount(T)
        let d = CheckedCount(c.hiddenSize), q = CheckedCount(c.heads * c.headDim), kv = CheckedCount(c.kvHeads * c.headDim)
        let perRow = d * 4 + q * 2 + kv * 2 + CheckedCount(c.intermediateSize) * 3
        let perLayer = N * perRow + CheckedCount(B) * CheckedCount(c.heads) * CheckedCount(T) * CheckedCount(T)
        let parameters = CheckedCount(c.parameterCount) * (trainsAllWeights ? 4 : 1)
        return (parameters + perLayer * CheckedCount(c.layers)) * MemoryLayout<Float>.stride
    }
}
