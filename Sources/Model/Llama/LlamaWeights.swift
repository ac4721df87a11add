import Foundation
import Kernels

/// The weights of a Llama decoder in fp32, every matrix `[out, in]` as PyTorch stores it, and the
/// one table that names them — Hugging Face's names (used for safetensors folders and, later, PEFT
/// export) beside the GGUF names — so that each format's loader reads the same list.
public struct LlamaWeights: Sendable {
    public struct Layer: Sendable {
        public var attentionNorm: [Float]   // (d)
        public var query: LinearWeight      // (H·D, d), rows in Hugging Face's order
        public var key: LinearWeight        // (KV·D, d), rows in Hugging Face's order
        public var value: LinearWeight      // (KV·D, d)
        public var output: LinearWeight     // (d, H·D)
        public var mlpNorm: [Float]         // (d)
        public var gate: LinearWeight       // (F, d)
        public var up: LinearWeight         // (F, d)
        public var down: LinearWeight       // (d, F)
    }

    public var embedding: LinearWeight      // (V, d)
    public var layers: [Layer]
    public var finalNorm: [Float]           // (d)
    /// (V, d); nil: tied to `embedding`.
    public var lmHead: LinearWeight?

    /// Bytes the weights hold.
    public var byteCount: Int {
        let layerBytes = layers.reduce(0) { total, layer in
            total + 4 * (layer.attentionNorm.count + layer.mlpNorm.count)
                + [layer.query, layer.key, layer.value, layer.output, layer.gate, layer.up, layer.down].reduce(0) { $0 + $1.byteCount }
        }
        return embedding.byteCount + layerBytes + 4 * finalNorm.count + (lmHead?.byteCount ?? 0)
    }

    public init(embedding: LinearWeight, layers: [Layer], finalNorm: [Float], lmHead: LinearWeight?) {
        self.embedding = embedding; self.layers = layers; self.finalNorm = finalNorm; self.lmHead = lmHead
    }

    /// Calls `body` with every fp32 tensor and its Hugging Face name — each layer's sites in
    /// `layerSites` order, then the embedding, the final norm and an untied head — to change it in
    /// place (its size must not change). Quantised matrices are skipped: they cannot train.
    public mutating func updateTensors(config c: LlamaConfig, _ body: (String, inout [Float]) -> Void) {
        func update(_ weight: inout LinearWeight, _ name: String) {
            guard case .dense(var values) = weight else { return }
            weight = .dense([])  // `values` is then the only reference: no copy on write
            body(name, &values)
            weight = .dense(values)
        }
        for index in layers.indices {
            let names = Self.layerSites(index, c).map(\.huggingFace)
            body(names[0], &layers[index].attentionNorm)
            update(&layers[index].query, names[1])
            update(&layers[index].key, names[2])
            update(&layers[index].value, names[3])
            update(&layers[index].output, names[4])
            body(names[5], &layers[index].mlpNorm)
            update(&layers[index].gate, names[6])
            update(&layers[index].up, names[7])
            update(&layers[index].down, names[8])
        }
        update(&embedding, Self.embeddingSite(c).huggingFace)
        body(Self.finalNormSite(c).huggingFace, &finalNorm)
        if lmHead != nil { update(&lmHead!, Self.lmHeadSite(c).huggingFace) }
    }

    /// QLoRA's frozen base: every linear weight of every layer quantised to NF4 (blocks of 64,
    /// optionally double-quantised scales) as bitsandbytes' `Linear4bit` holds it when transformers
    /// loads a model in 4 bits; the embedding, the norms and the head stay as they are.
    public func quantizingLinearsToNF4(config c: LlamaConfig, doubleQuantize: Bool) -> LlamaWeights {
        var out = self
        for index in out.layers.indices {
            for target in LlamaLinear.allCases {
                let (rows, columns) = target.shape(c)
                target.set(target.weight(out.layers[index]).quantizedToNF4(rows: rows, columns: columns, doubleQuantize: doubleQuantize),
                           in: &out.layers[index])
            }
        }
        return out
    }

    /// The token embedding (and an untied head) in fp32, the rest as it is: training computes the
    /// head's loss in fp32.
    public func withFloatEmbedding() -> LlamaWeights {
        var out = self
        out.embedding = .dense(embedding.floats)
        out.lmHead = lmHead.map { .dense($0.floats) }
        return out
    }

    /// Every tensor by its Hugging Face name with its shape, as `LlamaForCausalLM.state_dict()`
    /// holds them (no `lm_head.weight` when tied): what a saved `model.safetensors` contains.
    /// Quantised matrices are decoded to fp32.
    public func namedTensors(config c: LlamaConfig) -> [(name: String, shape: [Int], values: [Float])] {
        var out: [(name: String, shape: [Int], values: [Float])] = [(Self.embeddingSite(c).huggingFace, Self.embeddingSite(c).shape, embedding.floats)]
        for (index, layer) in layers.enumerated() {
            let sites = Self.layerSites(index, c)
            let values = [layer.attentionNorm, layer.query.floats, layer.key.floats, layer.value.floats, layer.output.floats,
                          layer.mlpNorm, layer.gate.floats, layer.up.floats, layer.down.floats]
            out += zip(sites, values).map { ($0.huggingFace, $0.shape, $1) }
        }
        out.append((Self.finalNormSite(c).huggingFace, Self.finalNormSite(c).shape, finalNorm))
        if let lmHead { out.append((Self.lmHeadSite(c).huggingFace, Self.lmHeadSite(c).shape, lmHead.floats)) }
        return out
    }

    /// A tensor of the model: its Hugging Face name, its GGUF name and its shape.
    public struct Site: Sendable, Equatable {
        public let huggingFace: String
        public let gguf: String
        public let shape: [Int]
        /// Query and key rows that llama.cpp's converter stores interleaved per head (GGUF only).
        public let permutedHeads: Int?
    }

    /// Every tensor of a layer, in load order: the linear sites adapters attach to by their Hugging
    /// Face module names (`q_proj` … `down_proj`), and the two norms.
    public static func layerSites(_ layer: Int, _ c: LlamaConfig) -> [Site] {
        let d = c.hiddenSize, hf = "model.layers.\(layer).", gg = "blk.\(layer)."
        let table = c.linearSites
        func linear(_ target: LlamaLinear) -> Site {
            let site = target.site(c)
            return Site(huggingFace: table.weightName(layer: layer, site), gguf: target.ggufName(layer: layer),
                        shape: [site.out, site.inFeatures], permutedHeads: target.permutedHeads(c))
        }
        return [Site(huggingFace: hf + "input_layernorm.weight", gguf: gg + "attn_norm.weight", shape: [d], permutedHeads: nil)]
            + [LlamaLinear.query, .key, .value, .output].map(linear)
            + [Site(huggingFace: hf + "post_attention_layernorm.weight", gguf: gg + "ffn_norm.weight", shape: [d], permutedHeads: nil)]
            + [LlamaLinear.gate, .up, .down].map(linear)
    }

    static func embeddingSite(_ c: LlamaConfig) -> Site {
        Site(huggingFace: "model.embed_tokens.weight", gguf: "token_embd.weight", shape: [c.vocabSize, c.hiddenSize], permutedHeads: nil)
    }
    static func finalNormSite(_ c: LlamaConfig) -> Site {
        Site(huggingFace: "model.norm.weight", gguf: "output_norm.weight", shape: [c.hiddenSize], permutedHeads: nil)
    }
    static func lmHeadSite(_ c: LlamaConfig) -> Site {
        Site(huggingFace: "lm_head.weight", gguf: "output.weight", shape: [c.vocabSize, c.hiddenSize], permutedHeads: nil)
    }

    /// Reads every site with `read(site)`, which returns the tensor in Hugging Face's row order.
    static func load(_ c: LlamaConfig, read: (Site) throws(ModelInputError) -> LinearWeight,
                     hasLMHead: Bool) throws(ModelInputError) -> LlamaWeights {
        var layers: [Layer] = []
        for index in 0..<c.layers {
            let sites = layerSites(index, c)
            var values: [LinearWeight] = []
            for site in sites { values.append(try read(site)) }
            layers.append(Layer(attentionNorm: values[0].floats, query: values[1], key: values[2], value: values[3], output: values[4],
                                mlpNorm: values[5].floats, gate: values[6], up: values[7], down: values[8]))
        }
        let embedding = try read(embeddingSite(c))
        let finalNorm = try read(finalNormSite(c)).floats
        let lmHead: LinearWeight? = hasLMHead ? try read(lmHeadSite(c)) : nil
        return LlamaWeights(embedding: embedding, layers: layers, finalNorm: finalNorm, lmHead: lmHead)
    }

    /// How a GGUF file's quantised matrices are held.
    public enum Storage: String, Sendable, CaseIterable {
        /// As the file stores them (Q4_1, Q8_0, …), decoded a panel at a time in each product.
        case native
        /// Decoded to fp32 once, at load.
        case float32
    }

    /// From a GGUF file, query and key rows put back in Hugging Face's order; the float tensors
    /// (norms) always in fp32.
    public init(gguf file: GGUFFile, config c: LlamaConfig, storage: Storage = .native) throws(ModelInputError) {
        self = try Self.load(c, read: { site throws(ModelInputError) in
            let tensor = try file.tensor(site.gguf, shape: site.shape)
            let isFloat = tensor.type == .f32 || tensor.type == .f16 || tensor.type == .bf16
            if storage == .native, !isFloat, site.shape.count == 2 {
                let order = site.permutedHeads.map { Self.unpermutedRowOrder(rows: site.shape[0], heads: $0) }
                return .blocks(type: tensor.type, bytes: try file.finiteBlocks(site.gguf, shape: site.shape, rowOrder: order),
                               rows: site.shape[0], columns: site.shape[1])
            }
            let values = try file.finiteFloats(site.gguf, shape: site.shape)
            return .dense(site.permutedHeads.map { Self.unpermute(values, heads: $0, columns: site.shape.last!) } ?? values)
        }, hasLMHead: !c.tiedEmbeddings)
    }

    /// From a Hugging Face safetensors file.
    public init(safetensors file: SafeTensorsFile, config c: LlamaConfig) throws(ModelInputError) {
        let hasHead = file.entries["lm_head.weight"] != nil
        if !hasHead && !c.tiedEmbeddings {
            throw ModelInputError(file: file.url.path, detail: "tensor \"lm_head.weight\" is missing and tie_word_embeddings is false")
        }
        self = try Self.load(c, read: { site throws(ModelInputError) in .dense(try file.finiteFloats(site.huggingFace, shape: site.shape)) },
                             hasLMHead: hasHead && !c.tiedEmbeddings)
    }

    /// llama.cpp's converter stores each head's rows as (pairs, 2) interleaved for its adjacent-pair
    /// rotation; Hugging Face's half-split rotation wants (2, pairs). Row h·D + j·D/2 + i of the
    /// result is row h·D + 2i + j of `values` (transformers' `reverse_permute`).
    static func unpermute(_ values: [Float], heads: Int, columns: Int) -> [Float] {
        let order = unpermutedRowOrder(rows: values.count / columns, heads: heads)
        var out = [Float](repeating: 0, count: values.count)
        for (target, source) in order.enumerated() {
            out[(target * columns)..<((target + 1) * columns)] = values[(source * columns)..<((source + 1) * columns)]
        }
        return out
    }

    /// For each row of the un-permuted matrix, the stored row it comes from.
    static func unpermutedRowOrder(rows: Int, heads: Int) -> [Int] {
        let headRows = rows / heads, half = headRows / 2
        var order = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for j in 0..<2 {
                for i in 0..<half { order[h * headRows + j * half + i] = h * headRows + 2 * i + j }
            }
        }
        return order
    }
}
