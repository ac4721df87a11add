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
/// The weights must be fp32 (`LlamaWeights.Storage.float32`, or a safetensors folder).
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
    public func loss(_ batch: [LanguageModelingExample]) throws(ModelInputError) -> Pass {
        try check(batch)
        return run(batch, backward: false)
    }

    /// The mean loss over the batch's target tokens and the gradient of every parameter.
    public func lossAndGradients(_ batch: [LanguageModelingExample]) throws(ModelInputError) -> Pass {
        try check(batch)
        return run(batch, backward: true)
    }

    private func check(_ batch: [LanguageModelingExample]) throws(ModelInputError) {
        try model.validate(batch.map(\.ids))
        if let bad = batch.firstIndex(where: { $0.firstTarget < 1 || $0.firstTarget > $0.ids.count }) {
            throw ModelInputError(file: model.source.path, detail: "sequence \(bad): first target \(batch[bad].firstTarget) is outside 1...\(batch[bad].ids.count) (position 0 has no context to predict it from)")
        }
    }

    private func run(_ batch: [LanguageModelingExample], backward: Bool) -> Pass {
        let m = model, c = m.config, w = m.weights
        let B = batch.count, T = batch.map(\.ids.count).max()!, N = B * T
        let d = c.hiddenSize, D = c.headDim, H = c.heads, KV = c.kvHeads, qWidth = H * D, kvWidth = KV * D, F = c.intermediateSize
        let V = c.vocabSize, eps = c.rmsNormEps
        let ids = batch.flatMap { $0.ids + [Int32](repeating: 0, count: T - $0.ids.count) }
        func dense(_ weight: LinearWeight) -> [Float] { if case .dense(let values) = weight { return values }; return [] }
        let embedding = dense(w.embedding), head = w.lmHead.map(dense) ?? embedding

        // Forward, keeping each layer's activations.
        var x = [Float](repeating: 0, count: N * d)
        for (row, id) in ids.enumerated() { x[(row * d)..<((row + 1) * d)] = embedding[(Int(id) * d)..<((Int(id) + 1) * d)] }
        var saved: [LayerActivations] = []
        for layer in w.layers {
            var a = LayerActivations(
                input: x, attentionNormed: .init(repeating: 0, count: N * d), attentionRstd: .init(repeating: 0, count: N),
                query: .init(repeating: 0, count: N * qWidth), key: .init(repeating: 0, count: N * kvWidth),
                value: .init(repeating: 0, count: N * kvWidth), probs: .init(repeating: 0, count: B * H * T * T),
                context: .init(repeating: 0, count: N * qWidth), middle: [], mlpNormed: .init(repeating: 0, count: N * d),
                mlpRstd: .init(repeating: 0, count: N), gate: .init(repeating: 0, count: N * F), up: .init(repeating: 0, count: N * F),
                activated: .init(repeating: 0, count: N * F))
            rmsNormForward(out: &a.attentionNormed, rstd: &a.attentionRstd, inp: x, weight: layer.attentionNorm, rows: N, channels: d, eps: eps)
            layer.query.forward(out: &a.query, inp: a.attentionNormed, rows: N, inFeatures: d, outFeatures: qWidth)
            layer.key.forward(out: &a.key, inp: a.attentionNormed, rows: N, inFeatures: d, outFeatures: kvWidth)
            layer.value.forward(out: &a.value, inp: a.attentionNormed, rows: N, inFeatures: d, outFeatures: kvWidth)
            rotaryForward(&a.query, tables: m.rope, batch: B, tokens: T, heads: H, rowStride: qWidth)
            rotaryForward(&a.key, tables: m.rope, batch: B, tokens: T, heads: KV, rowStride: kvWidth)
            causalAttentionForward(out: &a.context, probs: &a.probs, query: a.query, key: a.key, value: a.value,
                                   batch: B, tokens: T, heads: H, kvHeads: KV, headDim: D)
            layer.output.forward(out: &x, inp: a.context, rows: N, inFeatures: qWidth, outFeatures: d, accumulate: true)
            a.middle = x
            rmsNormForward(out: &a.mlpNormed, rstd: &a.mlpRstd, inp: x, weight: layer.mlpNorm, rows: N, channels: d, eps: eps)
            layer.gate.forward(out: &a.gate, inp: a.mlpNormed, rows: N, inFeatures: d, outFeatures: F)
            layer.up.forward(out: &a.up, inp: a.mlpNormed, rows: N, inFeatures: d, outFeatures: F)
            swigluForward(out: &a.activated, gate: a.gate, up: a.up, count: N * F)
            layer.down.forward(out: &x, inp: a.activated, rows: N, inFeatures: F, outFeatures: d, accumulate: true)
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
        var dEmbedding = [Float](repeating: 0, count: V * d)
        var dHead = w.lmHead == nil ? [] : [Float](repeating: 0, count: V * d)
        let (loss, correct) = w.lmHead == nil
            ? languageModelHeadLoss(dhidden: &dGathered, dweight: &dEmbedding, hidden: gathered, weight: head, targets: targets,
                                    rows: rows.count, dim: d, vocabulary: V)
            : languageModelHeadLoss(dhidden: &dGathered, dweight: &dHead, hidden: gathered, weight: head, targets: targets,
                                    rows: rows.count, dim: d, vocabulary: V)

        // Backward, layer by layer from the top; `dx` is the residual stream's gradient.
        var dFinal = [Float](repeating: 0, count: N * d)
        for (r, row) in rows.enumerated() { dFinal[(row * d)..<((row + 1) * d)] = dGathered[(r * d)..<((r + 1) * d)] }
        var dx = [Float](repeating: 0, count: N * d)
        var dFinalNorm = [Float](repeating: 0, count: d)
        rmsNormBackward(dinp: &dx, dweight: &dFinalNorm, dout: dFinal, inp: x, weight: w.finalNorm, rstd: finalRstd, rows: N, channels: d)
        var dNormed = [Float](repeating: 0, count: N * d)
        var dActivated = [Float](repeating: 0, count: N * F), dGate = dActivated, dUp = dActivated
        var dContext = [Float](repeating: 0, count: N * qWidth), dQuery = dContext
        var dKey = [Float](repeating: 0, count: N * kvWidth), dValue = dKey
        for index in w.layers.indices.reversed() {
            let layer = w.layers[index], a = saved[index]
            let (wq, wk, wv, wo) = (dense(layer.query), dense(layer.key), dense(layer.value), dense(layer.output))
            let (wg, wu, wd) = (dense(layer.gate), dense(layer.up), dense(layer.down))
            var g = LayerGradients(d: d, qWidth: qWidth, kvWidth: kvWidth, F: F)
            // MLP: x += down(SiLU(gate(h)) ⊙ up(h)), h = RMSNorm(middle)
            zero(&dActivated); zero(&dGate); zero(&dUp); zero(&dNormed)
            matmulBackward(dinp: &dActivated, dweight: &g.down, dbias: nil, dout: dx, inp: a.activated, weight: wd,
                           rows: N, inFeatures: F, outFeatures: d)
            swigluBackward(dgate: &dGate, dup: &dUp, dout: dActivated, gate: a.gate, up: a.up, count: N * F)
            matmulBackward(dinp: &dNormed, dweight: &g.gate, dbias: nil, dout: dGate, inp: a.mlpNormed, weight: wg,
                           rows: N, inFeatures: d, outFeatures: F)
            matmulBackward(dinp: &dNormed, dweight: &g.up, dbias: nil, dout: dUp, inp: a.mlpNormed, weight: wu,
                           rows: N, inFeatures: d, outFeatures: F)
            rmsNormBackward(dinp: &dx, dweight: &g.mlpNorm, dout: dNormed, inp: a.middle, weight: layer.mlpNorm, rstd: a.mlpRstd,
                            rows: N, channels: d)
            // Attention: x += o(attention(rope(q(h)), rope(k(h)), v(h))), h = RMSNorm(input)
            zero(&dContext); zero(&dQuery); zero(&dKey); zero(&dValue); zero(&dNormed)
            matmulBackward(dinp: &dContext, dweight: &g.output, dbias: nil, dout: dx, inp: a.context, weight: wo,
                           rows: N, inFeatures: qWidth, outFeatures: d)
            causalAttentionBackward(dquery: &dQuery, dkey: &dKey, dvalue: &dValue, dout: dContext, probs: a.probs,
                                    query: a.query, key: a.key, value: a.value, batch: B, tokens: T,
                                    heads: H, kvHeads: KV, headDim: D)
            rotaryBackward(&dQuery, tables: m.rope, batch: B, tokens: T, heads: H, rowStride: qWidth)
            rotaryBackward(&dKey, tables: m.rope, batch: B, tokens: T, heads: KV, rowStride: kvWidth)
            matmulBackward(dinp: &dNormed, dweight: &g.query, dbias: nil, dout: dQuery, inp: a.attentionNormed, weight: wq,
                           rows: N, inFeatures: d, outFeatures: qWidth)
            matmulBackward(dinp: &dNormed, dweight: &g.key, dbias: nil, dout: dKey, inp: a.attentionNormed, weight: wk,
                           rows: N, inFeatures: d, outFeatures: kvWidth)
            matmulBackward(dinp: &dNormed, dweight: &g.value, dbias: nil, dout: dValue, inp: a.attentionNormed, weight: wv,
                           rows: N, inFeatures: d, outFeatures: kvWidth)
            rmsNormBackward(dinp: &dx, dweight: &g.attentionNorm, dout: dNormed, inp: a.input, weight: layer.attentionNorm,
                            rstd: a.attentionRstd, rows: N, channels: d)
            let names = LlamaWeights.layerSites(index, c).map(\.huggingFace)
            for (name, values) in zip(names, [g.attentionNorm, g.query, g.key, g.value, g.output, g.mlpNorm, g.gate, g.up, g.down]) {
                gradients[name] = values
            }
        }
        // The embedding lookup: each real position adds its gradient to its token's row (serially:
        // repeated ids would race). Padded positions carry none (nothing downstream used them).
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

    /// One layer's parameter gradients, in `LlamaWeights.layerSites` order.
    private struct LayerGradients {
        var attentionNorm: [Float], query: [Float], key: [Float], value: [Float], output: [Float]
        var mlpNorm: [Float], gate: [Float], up: [Float], down: [Float]
        init(d: Int, qWidth: Int, kvWidth: Int, F: Int) {
            attentionNorm = .init(repeating: 0, count: d); mlpNorm = attentionNorm
            query = .init(repeating: 0, count: qWidth * d); output = query
            key = .init(repeating: 0, count: kvWidth * d); value = key
            gate = .init(repeating: 0, count: F * d); up = gate; down = gate
        }
    }
}

extension MemoryBudget {
    /// A lower bound of the bytes full fine-tuning of a Llama decoder needs for a (batch, tokens)
    /// batch: the weights, their gradients and two AdamW moments, and each layer's saved
    /// activations (`LlamaTrainingGraph`: four (N, d) rows, q, k, v, the context, three (N, F)
    /// MLP buffers and the (B, H, T, T) attention probabilities).
    public static func decoderFullFineTuningBytes(config c: LlamaConfig, batch B: Int, tokens T: Int) -> CheckedCount {
        let N = CheckedCount(B) * CheckedCount(T)
        let d = CheckedCount(c.hiddenSize), q = CheckedCount(c.heads * c.headDim), kv = CheckedCount(c.kvHeads * c.headDim)
        let perRow = d * 4 + q * 2 + kv * 2 + CheckedCount(c.intermediateSize) * 3
        let perLayer = N * perRow + CheckedCount(B) * CheckedCount(c.heads) * CheckedCount(T) * CheckedCount(T)
        let parameters = CheckedCount(c.parameterCount) * 4
        return (parameters + perLayer * CheckedCount(c.layers)) * MemoryLayout<Float>.stride
    }
}
