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
/// (`languageModelHeadLoss`), so no (batch, seq, vocab) block exists.
///
/// Without an adapter every weight gets its gradient (full fine-tuning), keyed by Hugging Face's
/// parameter names (`LlamaWeights.layerSites`), the names PyTorch's `named_parameters()` gives
/// them; every weight must then be fp32. With an adapter (`LlamaAdapter`: LoRA, prompt tuning)
/// the base is frozen and only the adapter's tensors get gradients, keyed by PEFT's names; the
/// frozen linear weights may stay quantised (GGUF blocks, NF4: QLoRA), only the head must be fp32.
public struct LlamaTrainingGraph {
    public let model: LlamaModel

    public init(model: LlamaModel) throws(ModelInputError) {
        let w = model.weights
        guard case .dense = w.lmHead ?? w.embedding else {
            throw ModelInputError(file: model.source.path, detail: "training needs the language-model head in fp32 (load the embedding in fp32)")
        }
        self.model = model
    }

    /// Whether every weight is fp32 (full fine-tuning needs it).
    private var allWeightsDense: Bool {
        let w = model.weights
        let matrices = w.layers.flatMap { [$0.query, $0.key, $0.value, $0.output, $0.gate, $0.up, $0.down] } + [w.embedding] + (w.lmHead.map { [$0] } ?? [])
        return matrices.allSatisfy { if case .dense = $0 { return true }; return false }
    }

    /// Every buffer of a step lives here, kept between steps (`BufferArena`): a graph is for
    /// one caller at a time.
    private let arena = BufferArena()

    private typealias Buffer = UnsafeMutableBufferPointer<Float>

    /// Activations of one layer kept for the backward (N = B·T rows). The two norms' outputs and
    /// SwiGLU's are not kept: the backward recomputes them from `input`, `middle`, `gate` and `up`
    /// (`Recomputed`), a pass over memory each, which saves N·(2d + F) floats a layer — a quarter of
    /// a step's activations.
    private struct LayerActivations {
        var input: Buffer           // (N, d): the residual stream entering the layer
        var attentionRstd: Buffer   // (N): its RMSNorm's 1/rms
        var query: Buffer, key: Buffer, value: Buffer        // (N, H·D), (N, KV·D) ×2: rotated q and k
        var probs: Buffer           // (B, H, T, T)
        var context: Buffer         // (N, H·D)
        var middle: Buffer          // (N, d): after the attention residual
        var mlpRstd: Buffer         // (N)
        var gate: Buffer, up: Buffer                         // (N, F)
        /// Per adapted layer: x·Aᵀ (N, r), the low-rank update's input to B.
        var adapted: [LlamaLinear: [Float]] = [:]

        /// Buffers from `arena`, their contents undefined: every one is written before it is read.
        init(_ arena: BufferArena, config c: LlamaConfig, batch B: Int, tokens T: Int) {
            let N = B * T, d = c.hiddenSize, q = c.heads * c.headDim, kv = c.kvHeads * c.headDim, F = c.intermediateSize
            input = arena.take(N * d); attentionRstd = arena.take(N)
            query = arena.take(N * q); key = arena.take(N * kv); value = arena.take(N * kv)
            probs = arena.take(B * c.heads * T * T); context = arena.take(N * q); middle = arena.take(N * d)
            mlpRstd = arena.take(N)
            gate = arena.take(N * F); up = arena.take(N * F)
        }
    }

    /// The activations a layer makes and the backward makes again, one set for all layers.
    private struct Recomputed {
        var normed: Buffer          // (N, d): RMSNorm(input) before attention, RMSNorm(middle) before the MLP
        var activated: Buffer       // (N, F): SiLU(gate) ⊙ up
        var rstd: Buffer            // (N): the recomputed norm's 1/rms (equal to the saved one)
        init(_ arena: BufferArena, rows N: Int, config c: LlamaConfig) {
            normed = arena.take(N * c.hiddenSize); activated = arena.take(N * c.intermediateSize); rstd = arena.take(N)
        }
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
    /// `dropoutSeed`: see `lossAndGradients`.
    public func loss(_ batch: [LanguageModelingExample], adapter: (any LlamaAdapter)? = nil,
                     dropoutSeed: UInt64? = nil) throws(ModelInputError) -> Pass {
        try check(batch, adapter: adapter, backward: false)
        var none: [String: [Float]] = [:]
        return run(batch, backward: false, adapter: adapter, dropoutSeed: dropoutSeed, reusing: &none)
    }

    /// The mean loss over the batch's target tokens and the gradient of every trainable tensor:
    /// every weight, or with `adapter` the adapter's tensors only. With `dropoutSeed` an
    /// adapter's dropout is active, its masks a pure function of the seed, the layer and the site
    /// (so a step can be repeated exactly); nil runs without dropout.
    public func lossAndGradients(_ batch: [LanguageModelingExample], adapter: (any LlamaAdapter)? = nil,
                                 dropoutSeed: UInt64? = nil) throws(ModelInputError) -> Pass {
        var none: [String: [Float]] = [:]
        return try lossAndGradients(batch, adapter: adapter, dropoutSeed: dropoutSeed, reusing: &none)
    }

    /// As `lossAndGradients`, writing each gradient into the array of the same name and size in
    /// `storage` when there is one (an earlier pass's gradients, taken out of `storage`): full
    /// fine-tuning's half a gigabyte of gradients is then not faulted in afresh every step.
    public func lossAndGradients(_ batch: [LanguageModelingExample], adapter: (any LlamaAdapter)?, dropoutSeed: UInt64?,
                                 reusing storage: inout [String: [Float]]) throws(ModelInputError) -> Pass {
        try check(batch, adapter: adapter, backward: true)
        return run(batch, backward: true, adapter: adapter, dropoutSeed: dropoutSeed, reusing: &storage)
    }

    /// `count` zeros for the gradient `name`: `storage`'s array of that name when its size is
    /// right (the caller's last reference to it, so no copy), else a new one.
    private func zeroedGradient(_ name: String, count: Int, _ storage: inout [String: [Float]]) -> [Float] {
        var values = storage.removeValue(forKey: name) ?? []
        if values.count != count { values = [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count } }
        values.withUnsafeMutableBufferPointer { parallelZero($0) }
        return values
    }

    /// The dropout mask of one site's input (N·in bytes, 1 keep), or nil when it has no dropout.
    private func dropoutMask(_ site: LowRankSite, layer: Int, _ target: LlamaLinear, count: Int, seed: UInt64?) -> [UInt8]? {
        guard let seed, site.dropout > 0 else { return nil }
        let index = UInt64(layer * LlamaLinear.allCases.count + LlamaLinear.allCases.firstIndex(of: target)!)
        var mask = [UInt8](repeating: 0, count: count)
        mask.withUnsafeMutableBufferPointer {
            dropoutMaskFill(mask: $0.baseAddress!, count: count, probability: site.dropout, seed: counterHash(seed, index))
        }
        return mask
    }

    /// `values` (the mask's count of them) with a dropout mask applied (kept elements scaled by 1/(1 − p)).
    private func masked(_ values: UnsafePointer<Float>, _ mask: [UInt8], probability: Float) -> [Float] {
        var out = Array(UnsafeBufferPointer(start: values, count: mask.count))
        out.withUnsafeMutableBufferPointer { x in
            mask.withUnsafeBufferPointer { applyDropoutMask(x.baseAddress!, $0.baseAddress!, scale: dropoutScale(probability: probability), count: x.count) }
        }
        return out
    }

    private func check(_ batch: [LanguageModelingExample], adapter: (any LlamaAdapter)?, backward: Bool) throws(ModelInputError) {
        if backward, adapter == nil, !allWeightsDense {
            throw ModelInputError(file: model.source.path, detail: "fine-tuning every weight needs fp32 weights; load the GGUF with storage float32")
        }
        let d = model.config.hiddenSize
        if let adapter, adapter.prefix.count % d != 0 {
            throw ModelInputError(file: model.source.path, detail: "the prompt holds \(adapter.prefix.count) values, not whole rows of \(d)")
        }
        try model.validate(batch.map(\.ids), past: (adapter?.prefix.count ?? 0) / d)
        if let bad = batch.firstIndex(where: { $0.firstTarget < 1 || $0.firstTarget > $0.ids.count }) {
            throw ModelInputError(file: model.source.path, detail: "sequence \(bad): first target \(batch[bad].firstTarget) is outside 1...\(batch[bad].ids.count) (position 0 has no context to predict it from)")
        }
    }

    /// What every projection of one pass shares.
    private struct Projections {
        let adapter: (any LlamaAdapter)?
        let dropoutSeed: UInt64?
        /// N = B·T, the rows of every activation.
        let rows: Int
        /// Room for the largest linear weight in fp32, where a quantised one is decoded (`LinearWeight.withFloats`).
        let weightScratch: UnsafeMutablePointer<Float>
    }

    /// out (+)= inp·Wᵀ of one linear layer, plus its low-rank update scale·(inp·Aᵀ)·Bᵀ; returns
    /// the update's projection inp·Aᵀ (N, r) for the backward (nil when the site is not adapted).
    private func project(_ target: LlamaLinear, layer index: Int, _ p: Projections,
                         out: Buffer, inp: Buffer, accumulate: Bool = false) -> [Float]? {
        let (outFeatures, inFeatures) = target.shape(model.config), N = p.rows
        target.weight(model.weights.layers[index]).withFloats(rows: outFeatures, columns: inFeatures, scratch: p.weightScratch) {
            matmulForward(out: out.baseAddress!, inp: inp.baseAddress!, weight: $0, bias: nil, rows: N, inFeatures: inFeatures,
                          outFeatures: outFeatures, accumulate: accumulate)
        }
        guard let site = p.adapter?.lowRank(layer: index, target) else { return nil }
        var projected = [Float](repeating: 0, count: N * site.rank)
        func update(_ input: UnsafePointer<Float>) {
            LowRankUpdate.forward(out: out.baseAddress!, outStride: outFeatures, projected: &projected, input: input, a: site.a, b: site.b,
                                  rows: N, inFeatures: inFeatures, rank: site.rank, outFeatures: outFeatures, scale: site.scale)
        }
        if let mask = dropoutMask(site, layer: index, target, count: N * inFeatures, seed: p.dropoutSeed) {
            update(masked(inp.baseAddress!, mask, probability: site.dropout))
        } else {
            update(inp.baseAddress!)
        }
        return projected
    }

    /// Backward of `project`: dinp += dout·W (+ the low-rank path); the weight's gradient into
    /// `gradients` under its Hugging Face name when the base trains, else A's and B's under the adapter's names.
    private func projectBackward(_ target: LlamaLinear, layer index: Int, _ p: Projections, adapted: [Float]?,
                                 dinp: Buffer, dout: Buffer, inp: Buffer,
                                 gradients: inout [String: [Float]], storage: inout [String: [Float]]) {
        let (outFeatures, inFeatures) = target.shape(model.config), N = p.rows
        let weight = target.weight(model.weights.layers[index])
        guard let adapter = p.adapter else {
            guard case .dense(let values) = weight else { preconditionFailure("checked: full fine-tuning has fp32 weights") }
            let name = model.config.linearSites.weightName(layer: index, target.site(model.config))
            var dweight = zeroedGradient(name, count: outFeatures * inFeatures, &storage)
            matmulBackward(dinp: dinp.baseAddress!, dweight: &dweight, dbias: nil, dout: dout.baseAddress!, inp: inp.baseAddress!,
                           weight: values, rows: N, inFeatures: inFeatures, outFeatures: outFeatures)
            gradients[name] = dweight
            return
        }
        // The frozen weight passes the input's gradient only (matmulBackward reads `inp` for the weight's gradient alone).
        weight.withFloats(rows: outFeatures, columns: inFeatures, scratch: p.weightScratch) {
            matmulBackward(dinp: dinp.baseAddress!, dweight: nil, dbias: nil, dout: dout.baseAddress!, inp: inp.baseAddress!,
                           weight: $0, rows: N, inFeatures: inFeatures, outFeatures: outFeatures)
        }
        guard let adapted, let site = adapter.lowRank(layer: index, target) else { return }
        var dA = [Float](repeating: 0, count: site.rank * inFeatures), dB = [Float](repeating: 0, count: outFeatures * site.rank)
        var dProjected = [Float](repeating: 0, count: N * site.rank)
        // The same mask as the forward's (a pure function of the seed): dA from the dropped
        // input, and the input's gradient through the mask.
        func backward(input: UnsafePointer<Float>, mask: UnsafePointer<UInt8>?) {
            LowRankUpdate.backward(dOut: dout.baseAddress!, outStride: outFeatures, projected: adapted, dProjected: &dProjected, input: input,
                                   a: site.a, b: site.b, dA: &dA, dB: &dB, dInput: dinp.baseAddress!,
                                   dropoutMask: mask.map { ($0, dropoutScale(probability: site.dropout)) },
                                   rows: N, inFeatures: inFeatures, rank: site.rank, outFeatures: outFeatures, scale: site.scale)
        }
        if let mask = dropoutMask(site, layer: index, target, count: N * inFeatures, seed: p.dropoutSeed) {
            let input = masked(inp.baseAddress!, mask, probability: site.dropout)
            mask.withUnsafeBufferPointer { backward(input: input, mask: $0.baseAddress!) }
        } else {
            backward(input: inp.baseAddress!, mask: nil)
        }
        gradients[site.aName] = dA
        gradients[site.bName] = dB
    }

    private func run(_ batch: [LanguageModelingExample], backward: Bool, adapter: (any LlamaAdapter)?, dropoutSeed: UInt64?,
                     reusing storage: inout [String: [Float]]) -> Pass {
        let m = model, c = m.config, w = m.weights
        let trainsBase = adapter == nil
        let d = c.hiddenSize, D = c.headDim, H = c.heads, KV = c.kvHeads, qWidth = H * D, kvWidth = KV * D, F = c.intermediateSize
        let V = c.vocabSize, eps = c.rmsNormEps
        // Each sequence's rows: [P virtual tokens][its tokens][padding], T rows in all.
        let prefix = adapter?.prefix ?? [], P = prefix.count / d
        let B = batch.count, T = P + batch.map(\.ids.count).max()!, N = B * T
        guard case .dense(let head) = w.lmHead ?? w.embedding else { preconditionFailure("checked at init: an fp32 head") }
        arena.reset()
        let largestWeight = LlamaLinear.allCases.map { $0.shape(c) }.map { $0.out * $0.in }.max()!
        let projections = Projections(adapter: adapter, dropoutSeed: dropoutSeed, rows: N,
                                      weightScratch: arena.take(allWeightsDense ? 0 : largestWeight).baseAddress!)

        // Forward, keeping each layer's activations (the forward alone reuses one layer's buffers).
        let x = arena.take(N * d)  // (N, d): the residual stream
        for (b, example) in batch.enumerated() {
            let first = x.baseAddress! + b * T * d
            if P > 0 { prefix.withUnsafeBufferPointer { first.update(from: $0.baseAddress!, count: P * d) } }
            for (t, id) in example.ids.enumerated() { w.embedding.copyRow(Int(id), columns: d, into: first + (P + t) * d) }
            // Padding rows hold token 0's embedding: causal attention keeps them from every real row.
            for t in (P + example.ids.count)..<T { w.embedding.copyRow(0, columns: d, into: first + t * d) }
        }
        var saved: [LayerActivations] = []
        let reused = backward ? nil : LayerActivations(arena, config: c, batch: B, tokens: T)
        let recomputed = Recomputed(arena, rows: N, config: c)
        for (index, layer) in w.layers.enumerated() {
            var a = reused ?? LayerActivations(arena, config: c, batch: B, tokens: T)
            if backward { parallelCopy(a.input.baseAddress!, from: x.baseAddress!, count: N * d) }  // read by the backward only
            rmsNormForward(out: recomputed.normed.baseAddress!, rstd: a.attentionRstd.baseAddress!, inp: x.baseAddress!,
                           weight: layer.attentionNorm, rows: N, channels: d, eps: eps)
            a.adapted[.query] = project(.query, layer: index, projections, out: a.query, inp: recomputed.normed)
            a.adapted[.key] = project(.key, layer: index, projections, out: a.key, inp: recomputed.normed)
            a.adapted[.value] = project(.value, layer: index, projections, out: a.value, inp: recomputed.normed)
            rotaryForward(a.query.baseAddress!, tables: m.rope, batch: B, tokens: T, heads: H, rowStride: qWidth)
            rotaryForward(a.key.baseAddress!, tables: m.rope, batch: B, tokens: T, heads: KV, rowStride: kvWidth)
            causalAttentionForward(out: a.context.baseAddress!, probs: a.probs.baseAddress!, query: a.query.baseAddress!,
                                   key: a.key.baseAddress!, value: a.value.baseAddress!,
                                   batch: B, tokens: T, heads: H, kvHeads: KV, headDim: D)
            a.adapted[.output] = project(.output, layer: index, projections, out: x, inp: a.context, accumulate: true)
            if backward { parallelCopy(a.middle.baseAddress!, from: x.baseAddress!, count: N * d) }
            rmsNormForward(out: recomputed.normed.baseAddress!, rstd: a.mlpRstd.baseAddress!, inp: x.baseAddress!, weight: layer.mlpNorm,
                           rows: N, channels: d, eps: eps)
            a.adapted[.gate] = project(.gate, layer: index, projections, out: a.gate, inp: recomputed.normed)
            a.adapted[.up] = project(.up, layer: index, projections, out: a.up, inp: recomputed.normed)
            swigluForward(out: recomputed.activated.baseAddress!, gate: a.gate.baseAddress!, up: a.up.baseAddress!, count: N * F)
            a.adapted[.down] = project(.down, layer: index, projections, out: x, inp: recomputed.activated, accumulate: true)
            if backward { saved.append(a) }
        }
        let final = arena.take(N * d), finalRstd = arena.take(N)
        rmsNormForward(out: final.baseAddress!, rstd: finalRstd.baseAddress!, inp: x.baseAddress!, weight: w.finalNorm, rows: N, channels: d, eps: eps)

        // The loss at the target positions: the row before each target token predicts it.
        var rows: [Int] = [], targets: [Int32] = []
        for (b, example) in batch.enumerated() {
            for t in example.firstTarget..<example.ids.count {
                rows.append(b * T + P + t - 1)
                targets.append(example.ids[t])
            }
        }
        var gradients: [String: [Float]] = [:]
        guard !rows.isEmpty else { return Pass(loss: 0, targets: 0, correct: 0, gradients: gradients) }
        let R = rows.count
        let gathered = arena.take(R * d)
        for (r, row) in rows.enumerated() { (gathered.baseAddress! + r * d).update(from: final.baseAddress! + row * d, count: d) }
        guard backward else {
            let (loss, correct) = languageModelHeadLoss(dhidden: nil, dweight: nil, hidden: gathered.baseAddress!, weight: head,
                                                        targets: targets, rows: R, dim: d, vocabulary: V)
            return Pass(loss: loss, targets: R, correct: correct, gradients: [:])
        }
        let dGathered = arena.zeroed(R * d)
        // The head's gradient: the embedding's when tied, the head's own otherwise; none when frozen.
        let headName = (w.lmHead == nil ? LlamaWeights.embeddingSite(c) : LlamaWeights.lmHeadSite(c)).huggingFace
        var dHead = trainsBase ? zeroedGradient(headName, count: V * d, &storage) : []
        let (loss, correct) = trainsBase
            ? languageModelHeadLoss(dhidden: dGathered.baseAddress!, dweight: &dHead, hidden: gathered.baseAddress!, weight: head,
                                    targets: targets, rows: R, dim: d, vocabulary: V)
            : languageModelHeadLoss(dhidden: dGathered.baseAddress!, dweight: nil, hidden: gathered.baseAddress!, weight: head,
                                    targets: targets, rows: R, dim: d, vocabulary: V)

        // Backward, layer by layer from the top; `dx` is the residual stream's gradient. The
        // norms' weight gradients are made only when the base trains.
        let dFinal = arena.zeroed(N * d)
        for (r, row) in rows.enumerated() { (dFinal.baseAddress! + row * d).update(from: dGathered.baseAddress! + r * d, count: d) }
        let dx = arena.zeroed(N * d)
        var dFinalNorm = [Float](repeating: 0, count: trainsBase ? d : 0)
        dFinalNorm.withUnsafeMutableBufferPointer { dweight in
            rmsNormBackward(dinp: dx.baseAddress!, dweight: trainsBase ? dweight.baseAddress : nil, dout: dFinal.baseAddress!,
                            inp: x.baseAddress!, weight: w.finalNorm, rstd: finalRstd.baseAddress!, rows: N, channels: d)
        }
        let dNormed = arena.take(N * d)
        let dActivated = arena.take(N * F), dGate = arena.take(N * F), dUp = arena.take(N * F)
        let dContext = arena.take(N * qWidth), dQuery = arena.take(N * qWidth)
        let dKey = arena.take(N * kvWidth), dValue = arena.take(N * kvWidth)
        for index in w.layers.indices.reversed() {
            let layer = w.layers[index], a = saved[index]
            var dAttentionNorm = [Float](repeating: 0, count: trainsBase ? d : 0), dMlpNorm = dAttentionNorm
            // MLP: x += down(SiLU(gate(h)) ⊙ up(h)), h = RMSNorm(middle); h and SiLU(gate) ⊙ up made again.
            rmsNormForward(out: recomputed.normed.baseAddress!, rstd: recomputed.rstd.baseAddress!, inp: a.middle.baseAddress!,
                           weight: layer.mlpNorm, rows: N, channels: d, eps: eps)
            swigluForward(out: recomputed.activated.baseAddress!, gate: a.gate.baseAddress!, up: a.up.baseAddress!, count: N * F)
            for buffer in [dActivated, dGate, dUp, dNormed] { parallelZero(buffer) }
            projectBackward(.down, layer: index, projections, adapted: a.adapted[.down] ?? nil, dinp: dActivated, dout: dx,
                            inp: recomputed.activated, gradients: &gradients, storage: &storage)
            swigluBackward(dgate: dGate.baseAddress!, dup: dUp.baseAddress!, dout: dActivated.baseAddress!, gate: a.gate.baseAddress!,
                           up: a.up.baseAddress!, count: N * F)
            projectBackward(.gate, layer: index, projections, adapted: a.adapted[.gate] ?? nil, dinp: dNormed, dout: dGate,
                            inp: recomputed.normed, gradients: &gradients, storage: &storage)
            projectBackward(.up, layer: index, projections, adapted: a.adapted[.up] ?? nil, dinp: dNormed, dout: dUp,
                            inp: recomputed.normed, gradients: &gradients, storage: &storage)
            dMlpNorm.withUnsafeMutableBufferPointer { dweight in
                rmsNormBackward(dinp: dx.baseAddress!, dweight: trainsBase ? dweight.baseAddress : nil, dout: dNormed.baseAddress!,
                                inp: a.middle.baseAddress!, weight: layer.mlpNorm, rstd: a.mlpRstd.baseAddress!, rows: N, channels: d)
            }
            // Attention: x += o(attention(rope(q(h)), rope(k(h)), v(h))), h = RMSNorm(input), made again.
            rmsNormForward(out: recomputed.normed.baseAddress!, rstd: recomputed.rstd.baseAddress!, inp: a.input.baseAddress!,
                           weight: layer.attentionNorm, rows: N, channels: d, eps: eps)
            for buffer in [dContext, dQuery, dKey, dValue, dNormed] { parallelZero(buffer) }
            projectBackward(.output, layer: index, projections, adapted: a.adapted[.output] ?? nil, dinp: dContext, dout: dx,
                            inp: a.context, gradients: &gradients, storage: &storage)
            causalAttentionBackward(dquery: dQuery.baseAddress!, dkey: dKey.baseAddress!, dvalue: dValue.baseAddress!,
                                    dout: dContext.baseAddress!, probs: a.probs.baseAddress!,
                                    query: a.query.baseAddress!, key: a.key.baseAddress!, value: a.value.baseAddress!,
                                    batch: B, tokens: T, heads: H, kvHeads: KV, headDim: D)
            rotaryBackward(dQuery.baseAddress!, tables: m.rope, batch: B, tokens: T, heads: H, rowStride: qWidth)
            rotaryBackward(dKey.baseAddress!, tables: m.rope, batch: B, tokens: T, heads: KV, rowStride: kvWidth)
            projectBackward(.query, layer: index, projections, adapted: a.adapted[.query] ?? nil, dinp: dNormed, dout: dQuery,
                            inp: recomputed.normed, gradients: &gradients, storage: &storage)
            projectBackward(.key, layer: index, projections, adapted: a.adapted[.key] ?? nil, dinp: dNormed, dout: dKey,
                            inp: recomputed.normed, gradients: &gradients, storage: &storage)
            projectBackward(.value, layer: index, projections, adapted: a.adapted[.value] ?? nil, dinp: dNormed, dout: dValue,
                            inp: recomputed.normed, gradients: &gradients, storage: &storage)
            dAttentionNorm.withUnsafeMutableBufferPointer { dweight in
                rmsNormBackward(dinp: dx.baseAddress!, dweight: trainsBase ? dweight.baseAddress : nil, dout: dNormed.baseAddress!,
                                inp: a.input.baseAddress!, weight: layer.attentionNorm, rstd: a.attentionRstd.baseAddress!, rows: N, channels: d)
            }
            if trainsBase {
                let names = LlamaWeights.layerSites(index, c).map(\.huggingFace)
                gradients[names[0]] = dAttentionNorm
                gradients[names[5]] = dMlpNorm
            }
        }
        if let adapter, P > 0 {
            // The prompt's rows are the same in every sequence: their gradients add up.
            var dPrefix = [Float](repeating: 0, count: P * d)
            for b in 0..<B {
                for j in 0..<(P * d) { dPrefix[j] += dx[b * T * d + j] }
            }
            gradients[adapter.prefixName] = dPrefix
        }
        guard trainsBase else { return Pass(loss: loss, targets: R, correct: correct, gradients: gradients) }
        // The embedding lookup: each real position adds its gradient to its token's row. Workers
        // take columns, so a token repeated in the batch never races, and each element adds its
        // positions in order. Padded positions carry none (nothing downstream used them).
        let embeddingName = LlamaWeights.embeddingSite(c).huggingFace
        var dEmbedding = w.lmHead == nil ? dHead : zeroedGradient(embeddingName, count: V * d, &storage)
        if w.lmHead == nil { dHead = [] }  // `dEmbedding` is then the only reference: added to without a copy
        dEmbedding.withUnsafeMutableBufferPointer { table in
            let table = table.baseAddress!, dx = dx.baseAddress!
            Parallel.forEachRange(d, minimumChunk: 32) { columns in
                for (b, example) in batch.enumerated() {
                    for t in 0..<example.ids.count {
                        let row = table + Int(example.ids[t]) * d, source = dx + (b * T + t) * d
                        for j in columns { row[j] += source[j] }
                    }
                }
            }
        }
        gradients[embeddingName] = dEmbedding
        gradients[LlamaWeights.finalNormSite(c).huggingFace] = dFinalNorm
        if w.lmHead != nil { gradients[headName] = dHead }
        return Pass(loss: loss, targets: R, correct: correct, gradients: gradients)
    }
}

extension MemoryBudget {
    /// A lower bound of the bytes training a Llama decoder needs for a (batch, tokens) batch: the
    /// weights (with full fine-tuning also their gradients and two AdamW moments), each layer's saved
    /// activations (`LlamaTrainingGraph`: two (N, d) rows, q, k, v, the context, gate and up, and the
    /// (B, H, T, T) attention probabilities), and the buffers all layers share (the recomputed norm
    /// and SwiGLU outputs, and the backward's gradients of the residual stream, the MLP and attention).
    public static func decoderTrainingBytes(config c: LlamaConfig, batch B: Int, tokens T: Int, trainsAllWeights: Bool) -> CheckedCount {
        let N = CheckedCount(B) * CheckedCount(T)
        let d = CheckedCount(c.hiddenSize), q = CheckedCount(c.heads * c.headDim), kv = CheckedCount(c.kvHeads * c.headDim)
        let F = CheckedCount(c.intermediateSize)
        let perLayer = N * (d * 2 + q * 2 + kv * 2 + F * 2) + CheckedCount(B) * CheckedCount(c.heads) * CheckedCount(T) * CheckedCount(T)
        let shared = N * (d * 4 + F * 4 + q * 2 + kv * 2)
        let parameters = CheckedCount(c.parameterCount) * (trainsAllWeights ? 4 : 1)
        return (parameters + perLayer * CheckedCount(c.layers) + shared) * MemoryLayout<Float>.stride
    }
}

extension LlamaConfig {
    /// The floating-point operations of one training step (`LlamaTrainingGraph`) on B sequences of
    /// T positions with R target tokens, counting the useful work: every linear layer's forward and
    /// its input gradient (and with `trainsAllWeights` its weight gradient), causal attention's
    /// lower triangle (forward, and twice that backward), and the head at the target rows only.
    /// Norms, activations, rotary embeddings and LoRA's rank-r products are left out (under 1 %).
    public func trainingStepFLOPs(batch B: Int, tokens T: Int, targetRows R: Int, trainsAllWeights: Bool) -> Double {
        let N = Double(B * T), linearPasses: Double = trainsAllWeights ? 3 : 2
        let d = hiddenSize, q = heads * headDim, kv = kvHeads * headDim
        let linearParameters = Double(layers * (2 * d * q + 2 * d * kv + 3 * d * intermediateSize))
        let attentionForward = 2 * Double(B * heads * headDim) * Double(T) * Double(T) * Double(layers)
        let head = 2 * Double(R) * Double(vocabSize) * Double(hiddenSize)
        return linearPasses * 2 * N * linearParameters + 3 * attentionForward + head * linearPasses
    }
}
