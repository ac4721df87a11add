import Foundation
import Kernels

/// A Llama-architecture decoder (SmolLM2, Llama 2/3, …) running on the shared kernels, as Hugging
/// Face's `LlamaForCausalLM` in fp32 eval mode: embedding → layers of (RMSNorm → grouped-query
/// causal attention with rotary positions → residual, RMSNorm → SwiGLU MLP → residual) → RMSNorm →
/// the language-model head (tied to the embedding when the model says so).
///
/// Sequences of a batch are right-padded to one length; causal attention keeps padding from
/// changing any real position. Token ids and lengths are checked at the entry points, before a
/// kernel sees them.
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    /// Changed only through `updateWeights` (training).
    public private(set) var weights: LlamaWeights
    /// Where the weights came from (GGUF file or model folder).
    public let source: URL
    let rope: RotaryTables

    /// Positions the rotary tables are built for: the model's context, bounded so the tables stay small.
    public let maxPositions: Int
    /// (P, d): embeddings run before every sequence at positions 0..<P (a prompt-tuned model's
    /// virtual tokens, as PEFT prepends them); empty for none. Every entry point accounts for
    /// them; the states and logits returned are the sequences' own.
    public let prefix: [Float]
    /// P, the virtual tokens before every sequence.
    public var prefixTokens: Int { prefix.count / config.hiddenSize }

    public init(config: LlamaConfig, weights: LlamaWeights, source: URL, prefix: [Float] = []) {
        precondition(prefix.count % config.hiddenSize == 0, "the prefix must be whole rows of the hidden size")
        self.config = config
        self.weights = weights
        self.source = source
        self.prefix = prefix
        maxPositions = min(config.contextLength, 8192)
        rope = RotaryTables(headDim: config.headDim, positions: maxPositions, theta: config.ropeTheta)
    }

    /// A GGUF file, or a Hugging Face folder with `config.json` (model_type llama) and `model.safetensors`.
    /// `storage`: how a GGUF's quantised matrices are held (a folder's weights are fp32).
    public static func load(_ url: URL, storage: LlamaWeights.Storage = .native) throws(ModelInputError) -> LlamaModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelInputError(file: url.path, detail: "no such file or folder")
        }
        if isDirectory.boolValue {
            let config = try LlamaConfig(configJSON: url.appendingPathComponent("config.json"))
            let file = try SafeTensorsFile(contentsOf: url.appendingPathComponent("model.safetensors"))
            return LlamaModel(config: config, weights: try LlamaWeights(safetensors: file, config: config), source: url)
        }
        let file = try GGUFFile(contentsOf: url)
        let config = try LlamaConfig(gguf: file)
        return LlamaModel(config: config, weights: try LlamaWeights(gguf: file, config: config, storage: storage), source: url)
    }

    /// Changes the weights in place (an optimizer step); sizes must stay as they are.
    public func updateWeights(_ body: (inout LlamaWeights) -> Void) {
        body(&weights)
    }

    // MARK: Entry points

    /// Refuses an empty batch or sequence, a sequence longer than the positions (after the prefix
    /// and `past` positions), or an id outside the vocabulary, naming the sequence and position.
    func validate(_ batch: [[Int32]], past: Int = 0) throws(ModelInputError) {
        guard !batch.isEmpty else { throw ModelInputError(file: source.path, detail: "no sequences to run") }
        let before = prefixTokens + past
        for (index, sequence) in batch.enumerated() {
            guard !sequence.isEmpty else { throw ModelInputError(file: source.path, detail: "sequence \(index) is empty") }
            guard before + sequence.count <= maxPositions else {
                let prefixNote = prefixTokens > 0 ? " (with the \(prefixTokens) virtual tokens before it)" : ""
                throw ModelInputError(file: source.path, detail: "sequence \(index) has \(before + sequence.count) tokens\(prefixNote), more than the \(maxPositions) positions supported")
            }
            if let position = sequence.firstIndex(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
                throw ModelInputError(file: source.path, detail: "sequence \(index) position \(position) holds token id \(sequence[position]), outside the vocabulary of \(config.vocabSize)")
            }
        }
    }

    /// The final-normed hidden states of a right-padded batch: (B, T, d), T the longest length.
    public func hiddenStates(_ batch: [[Int32]]) throws(ModelInputError) -> (states: [Float], tokens: Int) {
        try validate(batch)
        let T = batch.map(\.count).max()!
        var cache = startCache(batch: batch.count, tokens: T)
        let states = run(batch.map { $0 + [Int32](repeating: 0, count: T - $0.count) }, tokens: T, cache: &cache)
        return (states, T)
    }

    /// Logits (R, V) of the given rows of hidden states (d floats each).
    public func logits(ofRows states: [Float], rows: [Int]) -> [Float] {
        let d = config.hiddenSize, V = config.vocabSize
        var gathered = [Float](repeating: 0, count: rows.count * d)
        for (r, row) in rows.enumerated() { gathered[(r * d)..<((r + 1) * d)] = states[(row * d)..<((row + 1) * d)] }
        var out = [Float](repeating: 0, count: rows.count * V)
        let head = weights.lmHead ?? weights.embedding
        gathered.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { logits in
                head.forward(out: logits.baseAddress!, inp: input.baseAddress!, rows: rows.count, inFeatures: d, outFeatures: V)
            }
        }
        return out
    }

    /// Every position's logits of one sequence: (T, V).
    public func logits(_ sequence: [Int32]) throws(ModelInputError) -> [Float] {
        let (states, T) = try hiddenStates([sequence])
        return logits(ofRows: states, rows: Array(0..<T))
    }

    /// log p(continuation | prompt) token by token, for each continuation (scoring a label's
    /// verbaliser): one forward of prompt + continuation per continuation, batched; log-softmax
    /// in Float64 from the fp32 logits.
    public func continuationLogProbabilities(prompt: [Int32], continuations: [[Int32]]) throws(ModelInputError) -> [[Double]] {
        guard !prompt.isEmpty else { throw ModelInputError(file: source.path, detail: "the prompt is empty; a continuation's first token needs a context") }
        guard !continuations.contains(where: \.isEmpty) else {
            throw ModelInputError(file: source.path, detail: "a continuation to score is empty")
        }
        let batch = continuations.map { prompt + $0 }
        let (states, T) = try hiddenStates(batch)
        var rows: [Int] = [], targets: [Int32] = []
        for (b, continuation) in continuations.enumerated() {
            for (j, token) in continuation.enumerated() {
                rows.append(b * T + prompt.count - 1 + j)
                targets.append(token)
            }
        }
        let scores = logProbabilities(logits(ofRows: states, rows: rows), targets: targets)
        var out: [[Double]] = [], offset = 0
        for continuation in continuations {
            out.append(Array(scores[offset..<(offset + continuation.count)]))
            offset += continuation.count
        }
        return out
    }

    /// Each sequence's causal-LM loss: the mean over positions t < T − 1 of −log p(token t+1 | tokens
    /// ≤ t), as transformers' `LlamaForCausalLM(labels=ids).loss` (nil for a one-token sequence),
    /// and the number of predicted tokens. Sequences run `batchSize` at a time.
    public func languageModelLoss(_ sequences: [[Int32]], batchSize: Int = 8) throws(ModelInputError) -> [(loss: Double?, tokens: Int)] {
        var out: [(loss: Double?, tokens: Int)] = []
        var start = 0
        while start < sequences.count {
            let batch = Array(sequences[start..<min(start + batchSize, sequences.count)])
            let (states, T) = try hiddenStates(batch)
            for (b, ids) in batch.enumerated() {
                guard ids.count > 1 else { out.append((nil, 0)); continue }
                let rows = Array((b * T)..<(b * T + ids.count - 1))
                let scores = logProbabilities(logits(ofRows: states, rows: rows), targets: Array(ids.dropFirst()))
                out.append((-scores.reduce(0, +) / Double(scores.count), scores.count))
            }
            start += batchSize
        }
        return out
    }

    /// log softmax(row)[target] for each row of `logits` (R, V), in Float64.
    public func logProbabilities(_ logits: [Float], targets: [Int32]) -> [Double] {
        targets.enumerated().map { r, target in logSoftmax(logits, row: r, at: [target])[0] }
    }

    /// log softmax(logits row `row`) at each of `targets`, in Float64 (the row's normaliser computed once).
    func logSoftmax(_ logits: [Float], row: Int, at targets: [Int32]) -> [Double] {
        let V = config.vocabSize
        let values = logits[(row * V)..<((row + 1) * V)]
        let maximum = Double(values.max()!)
        let logSum = Foundation.log(values.reduce(0.0) { $0 + Foundation.exp(Double($1) - maximum) })
        return targets.map { Double(values[row * V + Int($0)]) - maximum - logSum }
    }

    /// Greedy decoding: up to `maxNewTokens` tokens after `prompt`, stopping after a token in `stop`
    /// (which is included). Keys and values of earlier positions are cached, so each new token
    /// costs one position's forward.
    public func generate(prompt: [Int32], maxNewTokens: Int, stop: Set<Int32>,
                         onToken: ((Int32) -> Void)? = nil) throws(ModelInputError) -> [Int32] {
        try generate(prompts: [prompt], maxNewTokens: maxNewTokens, stop: stop) { _, token in onToken?(token) }[0]
    }

    /// Greedy decoding of several prompts at once, each as `generate(prompt:)` would decode it
    /// alone. Every sequence advances one position per step in one batched forward, so the
    /// weights are read once per step for all of them: the prompts run together up to the
    /// shortest one's length, then a sequence still inside its prompt is fed its own next prompt
    /// token while the others are fed their last generated one (every sequence's token t sits at
    /// position t: no padding, no mask). Prompts of similar lengths waste the fewest steps.
    /// `onToken` gets (prompt index, token) as each is chosen.
    public func generate(prompts: [[Int32]], maxNewTokens: Int, stop: Set<Int32>,
                         onToken: ((Int, Int32) -> Void)? = nil) throws(ModelInputError) -> [[Int32]] {
        try decode(prompts: prompts, references: nil, maxNewTokens: maxNewTokens, stop: stop, onToken: onToken).generated
    }

    /// `generate(prompts:)`, and log p(reference | prompt) of each prompt's own reference (a
    /// generation task's answer) from the same first forward: prompt + reference run once, the
    /// reference's positions are scored, then the cache is rewound to the shortest prompt and the
    /// greedy decoding continues from there — the prompts are not run a second time.
    public func generateAndScore(prompts: [[Int32]], references: [[Int32]], maxNewTokens: Int,
                                 stop: Set<Int32>) throws(ModelInputError) -> (generated: [[Int32]], referenceScores: [Double]) {
        let (generated, scores) = try decode(prompts: prompts, references: references, maxNewTokens: maxNewTokens, stop: stop, onToken: nil)
        return (generated, scores!)
    }

    private func decode(prompts: [[Int32]], references: [[Int32]]?, maxNewTokens: Int, stop: Set<Int32>,
                        onToken: ((Int, Int32) -> Void)?) throws(ModelInputError) -> (generated: [[Int32]], referenceScores: [Double]?) {
        try validate(prompts)
        if let references {
            precondition(references.count == prompts.count, "one reference per prompt")
            if let empty = references.firstIndex(where: \.isEmpty) {
                throw ModelInputError(file: source.path, detail: "reference \(empty) is empty")
            }
            try validate(zip(prompts, references).map { $0 + $1 })
        }
        let B = prompts.count
        let shortest = prompts.map(\.count).min()!, longest = prompts.map(\.count).max()!
        // The first forward: the prompts' common length, or every prompt with its reference (padded).
        let first = references.map { references in zip(prompts, references).map { $0 + $1 } } ?? prompts.map { Array($0.prefix(shortest)) }
        let firstLength = first.map(\.count).max()!
        let capacity = min(prefixTokens + max(longest + maxNewTokens, firstLength), maxPositions)
        var cache = startCache(batch: B, tokens: capacity - prefixTokens)
        var states = run(first.map { $0 + [Int32](repeating: 0, count: firstLength - $0.count) }, tokens: firstLength, cache: &cache)
        var referenceScores: [Double]?
        if let references {
            referenceScores = continuationSums(states, tokens: firstLength, pairs: zip(prompts, references).map { ($0.count, $1) })
            // Positions from the shortest prompt on hold other sequences' prompts or references:
            // rewind, and let the steps below overwrite them.
            cache.length = prefixTokens + shortest
        }
        // The hidden state each sequence decides its next token from.
        var row: (Int) -> Int = { b in b * firstLength + shortest - 1 }
        var consumed = shortest
        var generated = [[Int32]](repeating: [], count: B)
        var finished = [Bool](repeating: false, count: B)
        while true {
            // The sequences whose prompt is read and that still decode pick their next token.
            let deciding = (0..<B).filter { !finished[$0] && consumed >= prompts[$0].count }
            if !deciding.isEmpty {
                let logits = logits(ofRows: states, rows: deciding.map(row))
                let V = config.vocabSize
                for (r, b) in deciding.enumerated() {
                    var best = 0
                    for v in 1..<V where logits[r * V + v] > logits[r * V + best] { best = v }
                    let token = Int32(best)
                    generated[b].append(token)
                    onToken?(b, token)
                    if stop.contains(token) || generated[b].count == maxNewTokens { finished[b] = true }
                }
            }
            if cache.length >= capacity { break }
            if finished.allSatisfy({ $0 }) { break }
            // Finished sequences are fed a token that is never read: their rows are wasted, not wrong.
            let next = (0..<B).map { b -> [Int32] in
                consumed < prompts[b].count ? [prompts[b][consumed]] : [generated[b].last ?? 0]
            }
            states = run(next, tokens: 1, cache: &cache)
            row = { b in b }
            consumed += 1
        }
        return (generated, referenceScores)
    }

    // MARK: The forward

    /// Keys and values of every layer for the positions run so far: (layers, B, capacity, KV·D) each.
    struct KVCache {
        let batch: Int
        let capacity: Int
        let rowFloats: Int
        var keys: [[Float]]
        var values: [[Float]]
        var length = 0

        init(config c: LlamaConfig, batch: Int, capacity: Int) {
            self.batch = batch
            self.capacity = capacity
            rowFloats = c.kvHeads * c.headDim
            keys = Array(repeating: [Float](repeating: 0, count: batch * capacity * rowFloats), count: c.layers)
            values = keys
        }
    }

    /// A cache for `B` sequences of up to `tokens` positions after the prefix, holding the
    /// prefix's keys and values already (the virtual tokens see only each other: the same for
    /// every sequence).
    func startCache(batch B: Int, tokens: Int) -> KVCache {
        var cache = KVCache(config: config, batch: B, capacity: prefixTokens + tokens)
        guard prefixTokens > 0 else { return cache }
        // Run once, copied to every sequence's rows: running it per sequence would repeat the work B times.
        var once = KVCache(config: config, batch: 1, capacity: prefixTokens)
        _ = run(embedded: prefix, batch: 1, tokens: prefixTokens, cache: &once)
        let rows = prefixTokens * cache.rowFloats
        for layer in 0..<config.layers {
            for b in 0..<B {
                let target = b * cache.capacity * cache.rowFloats
                cache.keys[layer][target..<(target + rows)] = once.keys[layer][0..<rows]
                cache.values[layer][target..<(target + rows)] = once.values[layer][0..<rows]
            }
        }
        cache.length = prefixTokens
        return cache
    }

    /// Runs `tokens` new positions of each sequence (ids already validated and padded to `tokens`)
    /// after the `cache.length` positions cached, appends their keys and values to the cache, and
    /// returns their final-normed hidden states (B, tokens, d).
    func run(_ batch: [[Int32]], tokens T: Int, cache: inout KVCache) -> [Float] {
        let d = config.hiddenSize
        var x = [Float](repeating: 0, count: batch.count * T * d)
        x.withUnsafeMutableBufferPointer { rows in
            for (b, sequence) in batch.enumerated() {
                for (t, id) in sequence.enumerated() {
                    weights.embedding.copyRow(Int(id), columns: d, into: rows.baseAddress! + (b * T + t) * d)
                }
            }
        }
        return run(embedded: x, batch: batch.count, tokens: T, cache: &cache)
    }

    /// `run` from the input embeddings x (B, T, d).
    func run(embedded input: [Float], batch B: Int, tokens T: Int, cache: inout KVCache) -> [Float] {
        let c = config, N = B * T
        let d = c.hiddenSize, D = c.headDim, qWidth = c.heads * D, kvWidth = c.kvHeads * D, F = c.intermediateSize
        let past = cache.length
        let L = past + T
        var x = input
        var h = [Float](repeating: 0, count: N * d)
        var rstd = [Float](repeating: 0, count: N)
        var q = [Float](repeating: 0, count: N * qWidth)
        var k = [Float](repeating: 0, count: N * kvWidth)
        var v = [Float](repeating: 0, count: N * kvWidth)
        var context = [Float](repeating: 0, count: N * qWidth)
        var probs = [Float](repeating: 0, count: B * c.heads * T * L)
        var gate = [Float](repeating: 0, count: N * F)
        var up = [Float](repeating: 0, count: N * F)
        var activated = [Float](repeating: 0, count: N * F)
        for (index, layer) in weights.layers.enumerated() {
            rmsNormForward(out: &h, rstd: &rstd, inp: x, weight: layer.attentionNorm, rows: N, channels: d, eps: c.rmsNormEps)
            layer.query.forward(out: &q, inp: h, rows: N, inFeatures: d, outFeatures: qWidth)
            layer.key.forward(out: &k, inp: h, rows: N, inFeatures: d, outFeatures: kvWidth)
            layer.value.forward(out: &v, inp: h, rows: N, inFeatures: d, outFeatures: kvWidth)
            rotaryForward(&q, tables: rope, batch: B, tokens: T, past: past, heads: c.heads, rowStride: qWidth)
            rotaryForward(&k, tables: rope, batch: B, tokens: T, past: past, heads: c.kvHeads, rowStride: kvWidth)
            // Append this chunk's keys and values after the cached positions of each sequence.
            for b in 0..<B {
                let target = (b * cache.capacity + past) * kvWidth
                cache.keys[index][target..<(target + T * kvWidth)] = k[(b * T * kvWidth)..<((b + 1) * T * kvWidth)]
                cache.values[index][target..<(target + T * kvWidth)] = v[(b * T * kvWidth)..<((b + 1) * T * kvWidth)]
            }
            causalAttentionForward(out: &context, probs: &probs, query: q, key: cache.keys[index], value: cache.values[index],
                                   batch: B, tokens: T, past: past, keyRows: cache.capacity,
                                   heads: c.heads, kvHeads: c.kvHeads, headDim: D)
            layer.output.forward(out: &x, inp: context, rows: N, inFeatures: qWidth, outFeatures: d, accumulate: true)
            rmsNormForward(out: &h, rstd: &rstd, inp: x, weight: layer.mlpNorm, rows: N, channels: d, eps: c.rmsNormEps)
            layer.gate.forward(out: &gate, inp: h, rows: N, inFeatures: d, outFeatures: F)
            layer.up.forward(out: &up, inp: h, rows: N, inFeatures: d, outFeatures: F)
            swigluForward(out: &activated, gate: gate, up: up, count: N * F)
            layer.down.forward(out: &x, inp: activated, rows: N, inFeatures: F, outFeatures: d, accumulate: true)
        }
        cache.length = L
        rmsNormForward(out: &h, rstd: &rstd, inp: x, weight: weights.finalNorm, rows: N, channels: d, eps: c.rmsNormEps)
        return h
    }
}
