import Foundation
import Kernels

extension EncoderParameters {
    /// Loads BERT weights named as Hugging Face writes them (with or without a `bert.` prefix),
    /// fusing query/key/value into one weight. Every tensor must be present with its exact shape.
    public static func load(from file: SafeTensorsFile, config: BertConfig) throws -> EncoderParameters {
        let parameters = EncoderParameters(layout: EncoderParameterLayout(config: config))
        let C = config.hiddenSize, FF = config.intermediateSize

        func copy(_ name: String, shape: [Int], into destination: UnsafeMutablePointer<Float>) throws {
            let values = try file.floats(name, shape: shape)
            values.withUnsafeBufferPointer { destination.update(from: $0.baseAddress!, count: values.count) }
        }

        try copy("embeddings.word_embeddings.weight", shape: [config.vocabSize, C], into: parameters.pointer(.wordEmbeddings))
        try copy("embeddings.position_embeddings.weight", shape: [config.maxPositionEmbeddings, C], into: parameters.pointer(.positionEmbeddings))
        try copy("embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, C], into: parameters.pointer(.tokenTypeEmbeddings))
        try copy("embeddings.LayerNorm.weight", shape: [C], into: parameters.pointer(.embeddingNormWeight))
        try copy("embeddings.LayerNorm.bias", shape: [C], into: parameters.pointer(.embeddingNormBias))

        for l in 0..<config.numHiddenLayers {
            let prefix = "encoder.layer.\(l)."
            for (index, part) in ["query", "key", "value"].enumerated() {
                try copy(prefix + "attention.self.\(part).weight", shape: [C, C],
                         into: parameters.pointer(.qkvWeight, layer: l) + index * C * C)
                try copy(prefix + "attention.self.\(part).bias", shape: [C],
                         into: parameters.pointer(.qkvBias, layer: l) + index * C)
            }
            try copy(prefix + "attention.output.dense.weight", shape: [C, C], into: parameters.pointer(.attentionOutputWeight, layer: l))
            try copy(prefix + "attention.output.dense.bias", shape: [C], into: parameters.pointer(.attentionOutputBias, layer: l))
            try copy(prefix + "attention.output.LayerNorm.weight", shape: [C], into: parameters.pointer(.attentionNormWeight, layer: l))
            try copy(prefix + "attention.output.LayerNorm.bias", shape: [C], into: parameters.pointer(.attentionNormBias, layer: l))
            try copy(prefix + "intermediate.dense.weight", shape: [FF, C], into: parameters.pointer(.intermediateWeight, layer: l))
            try copy(prefix + "intermediate.dense.bias", shape: [FF], into: parameters.pointer(.intermediateBias, layer: l))
            try copy(prefix + "output.dense.weight", shape: [C, FF], into: parameters.pointer(.outputWeight, layer: l))
            try copy(prefix + "output.dense.bias", shape: [C], into: parameters.pointer(.outputBias, layer: l))
            try copy(prefix + "output.LayerNorm.weight", shape: [C], into: parameters.pointer(.outputNormWeight, layer: l))
            try copy(prefix + "output.LayerNorm.bias", shape: [C], into: parameters.pointer(.outputNormBias, layer: l))
        }
        return parameters
    }

    /// The tensors in Hugging Face's names and shapes (query/key/value split again), for saving a
    /// fully fine-tuned model that `transformers` loads.
    public func namedTensors() -> [(name: String, shape: [Int], values: [Float])] {
        let C = config.hiddenSize, FF = config.intermediateSize
        func values(_ pointer: UnsafeMutablePointer<Float>, _ count: Int) -> [Float] {
            Array(UnsafeBufferPointer(start: pointer, count: count))
        }
        var tensors: [(name: String, shape: [Int], values: [Float])] = [
            ("embeddings.word_embeddings.weight", [config.vocabSize, C], values(pointer(.wordEmbeddings), config.vocabSize * C)),
            ("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, C], values(pointer(.positionEmbeddings), config.maxPositionEmbeddings * C)),
            ("embeddings.token_type_embeddings.weight", [config.typeVocabSize, C], values(pointer(.tokenTypeEmbeddings), config.typeVocabSize * C)),
            ("embeddings.LayerNorm.weight", [C], values(pointer(.embeddingNormWeight), C)),
            ("embeddings.LayerNorm.bias", [C], values(pointer(.embeddingNormBias), C)),
        ]
        for l in 0..<config.numHiddenLayers {
            let prefix = "encoder.layer.\(l)."
            for (index, part) in ["query", "key", "value"].enumerated() {
                tensors.append((prefix + "attention.self.\(part).weight", [C, C], values(pointer(.qkvWeight, layer: l) + index * C * C, C * C)))
                tensors.append((prefix + "attention.self.\(part).bias", [C], values(pointer(.qkvBias, layer: l) + index * C, C)))
            }
            tensors.append((prefix + "attention.output.dense.weight", [C, C], values(pointer(.attentionOutputWeight, layer: l), C * C)))
            tensors.append((prefix + "attention.output.dense.bias", [C], values(pointer(.attentionOutputBias, layer: l), C)))
            tensors.append((prefix + "attention.output.LayerNorm.weight", [C], values(pointer(.attentionNormWeight, layer: l), C)))
            tensors.append((prefix + "attention.output.LayerNorm.bias", [C], values(pointer(.attentionNormBias, layer: l), C)))
            tensors.append((prefix + "intermediate.dense.weight", [FF, C], values(pointer(.intermediateWeight, layer: l), FF * C)))
            tensors.append((prefix + "intermediate.dense.bias", [FF], values(pointer(.intermediateBias, layer: l), FF)))
            tensors.append((prefix + "output.dense.weight", [C, FF], values(pointer(.outputWeight, layer: l), C * FF)))
            tensors.append((prefix + "output.dense.bias", [C], values(pointer(.outputBias, layer: l), C)))
            tensors.append((prefix + "output.LayerNorm.weight", [C], values(pointer(.outputNormWeight, layer: l), C)))
            tensors.append((prefix + "output.LayerNorm.bias", [C], values(pointer(.outputNormBias, layer: l), C)))
        }
        return tensors
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
