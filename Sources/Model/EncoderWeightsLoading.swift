import Foundation
import Kernels

/// One tensor as Hugging Face names it, and where it lives in the flat parameter block. Query, key
/// and value are three tensors in the checkpoint and three slices of the fused `qkvWeight` here.
struct HuggingFaceTensor {
    let name: String
    let shape: [Int]
    /// Offset of the tensor's first element in `EncoderParameters.storage`.
    let offset: Int
    var count: Int { shape.reduce(1, *) }
}

extension EncoderParameterLayout {
    /// Every tensor of the encoder in Hugging Face's names, shapes and order: the one table both
    /// loading and saving a fully fine-tuned model read.
    var huggingFaceTensors: [HuggingFaceTensor] {
        func tensor(_ name: String, _ kind: Tensor, layer: Int = 0) -> HuggingFaceTensor {
            HuggingFaceTensor(name: name, shape: shape(of: kind), offset: offset(of: kind, layer: layer))
        }
        var table = [
            tensor("embeddings.word_embeddings.weight", .wordEmbeddings),
            tensor("embeddings.position_embeddings.weight", .positionEmbeddings),
            tensor("embeddings.token_type_embeddings.weight", .tokenTypeEmbeddings),
            tensor("embeddings.LayerNorm.weight", .embeddingNormWeight),
            tensor("embeddings.LayerNorm.bias", .embeddingNormBias),
        ]
        let sites = config.linearSites, linear = Self.linearSiteLocations(config)
        for l in 0..<config.numHiddenLayers {
            let prefix = "\(sites.layerPath)\(l)."
            // A linear site's weight (its rows of a fused tensor) and bias, named by the site table.
            func weightAndBias(_ index: Int) -> [HuggingFaceTensor] {
                let (site, kind, row) = linear[index]
                return [HuggingFaceTensor(name: sites.backboneWeightName(layer: l, site), shape: [site.out, site.inFeatures],
                                          offset: offset(of: kind, layer: l) + row * site.inFeatures),
                        HuggingFaceTensor(name: prefix + site.modulePath + ".bias", shape: [site.out],
                                          offset: offset(of: kind.bias, layer: l) + row)]
            }
            table += weightAndBias(0) + weightAndBias(1) + weightAndBias(2) + weightAndBias(3) + [
                tensor(prefix + "attention.output.LayerNorm.weight", .attentionNormWeight, layer: l),
                tensor(prefix + "attention.output.LayerNorm.bias", .attentionNormBias, layer: l),
            ] + weightAndBias(4) + weightAndBias(5) + [
                tensor(prefix + "output.LayerNorm.weight", .outputNormWeight, layer: l),
                tensor(prefix + "output.LayerNorm.bias", .outputNormBias, layer: l),
            ]
        }
        return table
    }
}

extension EncoderParameters {
    /// Loads BERT weights named as Hugging Face writes them (with or without a `bert.` prefix),
    /// fusing query/key/value into one weight. Every tensor must be present with its exact shape,
    /// and every value finite.
    ///
    /// Nothing is allocated before the config has been checked against the machine (a billion
    /// layers needs petabytes: refused with the number) and against the file's header (every
    /// tensor present with its shape: a config that disagrees with the weights is an error naming
    /// the first missing or misshapen tensor).
    public static func load(from file: SafeTensorsFile, config: BertConfig,
                            budget: MemoryBudget = MemoryBudget()) throws -> EncoderParameters {
        let layout = EncoderParameterLayout(config: config)
        try budget.require(CheckedCount(layout.totalCount) * MemoryLayout<Float>.stride,
                           for: "loading the \(layout.totalCount) parameters config.json describes", source: file.url.path)
        let table = layout.huggingFaceTensors
        for tensor in table { _ = try file.entry(named: tensor.name, shape: tensor.shape) }
        let parameters = EncoderParameters(layout: layout)
        for tensor in table {
            let values = try file.finiteFloats(tensor.name, shape: tensor.shape)
            values.withUnsafeBufferPointer { (parameters.storage.pointer + tensor.offset).update(from: $0.baseAddress!, count: values.count) }
        }
        return parameters
    }

    /// The tensors in Hugging Face's names and shapes (query/key/value split again), for saving a
    /// fully fine-tuned model that `transformers` loads.
    public func namedTensors() -> [(name: String, shape: [Int], values: [Float])] {
        layout.huggingFaceTensors.map { tensor in
            (tensor.name, tensor.shape, Array(UnsafeBufferPointer(start: storage.pointer + tensor.offset, count: tensor.count)))
        }
    }

    /// Random parameters for tests on tiny configurations: weights N(0, 0.2) — ten times BERT's
    /// initialisation, so a tiny model's non-linearities matter in gradient checks — LayerNorm
    /// weights near 1, and small non-zero biases (so their gradients are checked too).
    public static func random(config: BertConfig, seed: UInt64) -> EncoderParameters {
        let parameters = EncoderParameters(layout: EncoderParameterLayout(config: config))
        var generator = SeededGenerator(seed: seed)
        for tensor in EncoderParameterLayout.Tensor.allCases {
            let range = parameters.layout.range(of: tensor)
            let isNormWeight = [.embeddingNormWeight, .attentionNormWeight, .outputNormWeight].contains(tensor)
            let isVector = EncoderParameterLayout.shape(of: tensor, config: config).count == 1
            let std: Float = isVector ? 0.1 : 0.2
            for i in range {
                parameters.storage.pointer[i] = (isNormWeight ? 1 : 0) + std * generator.nextNormal()
            }
        }
        return parameters
    }
}
