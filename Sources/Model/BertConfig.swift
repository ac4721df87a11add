import Foundation
import InputFiles

/// The part of a Hugging Face BERT `config.json` that the encoder needs, under the file's key names.
///
/// Only the architecture this package implements is accepted: exact (erf) GELU and absolute
/// position embeddings. Anything else is rejected by name when loading rather than silently run
/// with the wrong math.
public struct BertConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    /// Only "gelu", which Hugging Face defines as the exact erf form.
    public var hiddenAct: String
    public var layerNormEps: Float
    public var hiddenDropoutProb: Float
    public var attentionProbsDropoutProb: Float
    /// Only "absolute".
    public var positionEmbeddingType: String

    public var headSize: Int { hiddenSize / numAttentionHeads }

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
        case hiddenDropoutProb = "hidden_dropout_prob"
        case attentionProbsDropoutProb = "attention_probs_dropout_prob"
        case positionEmbeddingType = "position_embedding_type"
    }

    /// The sizes default to a tiny model for unit tests; the rest default to BERT's own defaults.
    public init(vocabSize: Int = 50, hiddenSize: Int = 8, numHiddenLayers: Int = 2, numAttentionHeads: Int = 2,
                intermediateSize: Int = 16, maxPositionEmbeddings: Int = 32, typeVocabSize: Int = 2,
                hiddenAct: String = "gelu", layerNormEps: Float = 1e-12, hiddenDropoutProb: Float = 0.1,
                attentionProbsDropoutProb: Float = 0.1, positionEmbeddingType: String = "absolute") {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.hiddenAct = hiddenAct
        self.layerNormEps = layerNormEps
        self.hiddenDropoutProb = hiddenDropoutProb
        self.attentionProbsDropoutProb = attentionProbsDropoutProb
        self.positionEmbeddingType = positionEmbeddingType
    }

    /// A tiny config for unit tests: vocab 50, hidden 8, 2 layers, 2 heads, feed-forward 16,
    /// 32 positions. The same as `BertConfig()`, named so call sites say what they mean.
    public static func tiny() -> BertConfig { BertConfig() }

    /// The sizes are required; the other keys fall back to BERT's defaults, as in Hugging Face's
    /// `BertConfig`, since older config files omit them.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        /// JSONDecoder reports a number that is not an Int (6.5, 1e30) as "not valid JSON" without
        /// naming the key, so such numbers are caught here and reported against their key.
        func integer(_ key: CodingKeys, default value: Int? = nil) throws -> Int {
            if let value, try !container.contains(key) || container.decodeNil(forKey: key) { return value }
            do {
                return try container.decode(Int.self, forKey: key)
            } catch {
                guard let number = try? container.decode(Double.self, forKey: key) else { throw error }
                throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                       debugDescription: "expected an integer, got \(number)")
            }
        }
        /// Read as Double and narrowed, for the same reason: an out-of-range Float fails without a key.
        /// What narrowing yields (0 or infinity) is then rejected by `validate`.
        func float(_ key: CodingKeys, default value: Float) throws -> Float {
            try container.decodeIfPresent(Double.self, forKey: key).map(Float.init) ?? value
        }
        vocabSize = try integer(.vocabSize)
        hiddenSize = try integer(.hiddenSize)
        numHiddenLayers = try integer(.numHiddenLayers)
        numAttentionHeads = try integer(.numAttentionHeads)
        intermediateSize = try integer(.intermediateSize)
        maxPositionEmbeddings = try integer(.maxPositionEmbeddings)
        typeVocabSize = try integer(.typeVocabSize, default: 2)
        hiddenAct = try container.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
        layerNormEps = try float(.layerNormEps, default: 1e-12)
        hiddenDropoutProb = try float(.hiddenDropoutProb, default: 0.1)
        attentionProbsDropoutProb = try float(.attentionProbsDropoutProb, default: 0.1)
        positionEmbeddingType = try container.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? "absolute"
    }

    /// Reads and validates a `config.json`. A `model_type` other than "bert" is rejected, since a
    /// RoBERTa or DistilBERT config would load here but describe weights this encoder cannot run.
    public static func load(from url: URL) throws(ModelInputError) -> BertConfig {
        let file = url.path
        func invalid(_ detail: String) -> ModelInputError { ModelInputError(file: file, detail: detail) }
        let data: Data
        do {
            data = try InputFile.contents(of: url)
        } catch {
            throw invalid("cannot read the file: \(error.reason)")
        }
        let config: BertConfig
        do {
            let modelType = try JSONDecoder().decode(ModelType.self, from: data).modelType
            if let modelType, modelType != "bert" {
                throw invalid("model_type \"\(modelType)\" is not supported (expected \"bert\")")
            }
            config = try JSONDecoder().decode(BertConfig.self, from: data)
        } catch let error as ModelInputError {
            throw error
        } catch let error as DecodingError {
            throw invalid(describe(error))
        } catch {
            throw invalid("\(error)")
        }
        try config.validate(file: file)
        return config
    }

    /// Checks the values against what the encoder supports; errors name `file` and the field.
    public func validate(file: String) throws(ModelInputError) {
        func invalid(_ detail: String) -> ModelInputError { ModelInputError(file: file, detail: detail) }
        let sizes = [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("num_hidden_layers", numHiddenLayers),
                     ("num_attention_heads", numAttentionHeads), ("intermediate_size", intermediateSize),
                     ("max_position_embeddings", maxPositionEmbeddings), ("type_vocab_size", typeVocabSize)]
        for (name, value) in sizes where value <= 0 || value > Int(Int32.max) {
            throw invalid("\(name) must be from 1 to \(Int32.max) (matrix dimensions are 32-bit), got \(value)")
        }
        guard EncoderParameterLayout.checkedCount(config: self).value != nil else {
            throw invalid("the sizes describe more parameters than a 64-bit count holds (hidden_size \(hiddenSize), num_hidden_layers \(numHiddenLayers), intermediate_size \(intermediateSize), vocab_size \(vocabSize), max_position_embeddings \(maxPositionEmbeddings))")
        }
        guard hiddenSize % numAttentionHeads == 0 else {
            throw invalid("hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numAttentionHeads)")
        }
        guard hiddenAct == "gelu" else {
            throw invalid("hidden_act \"\(hiddenAct)\" is not supported (expected \"gelu\")")
        }
        guard positionEmbeddingType == "absolute" else {
            throw invalid("position_embedding_type \"\(positionEmbeddingType)\" is not supported (expected \"absolute\")")
        }
        guard layerNormEps > 0, layerNormEps.isFinite else {
            throw invalid("layer_norm_eps must be a positive number, got \(layerNormEps)")
        }
        let dropouts = [("hidden_dropout_prob", hiddenDropoutProb),
                        ("attention_probs_dropout_prob", attentionProbsDropoutProb)]
        for (name, value) in dropouts where !(value >= 0 && value < 1) {
            throw invalid("\(name) must be in [0, 1), got \(value)")
        }
    }

    private struct ModelType: Decodable {
        let modelType: String?
        enum CodingKeys: String, CodingKey { case modelType = "model_type" }
    }

    /// Turns a decoding failure into a sentence naming the field, instead of Foundation's debug dump.
    private static func describe(_ error: DecodingError) -> String {
        func field(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let key, _):
            return "missing field \(key.stringValue)"
        case .valueNotFound(let type, let context):
            return "\(field(context.codingPath)) is null, expected \(type)"
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return "expected a JSON object"
        case .typeMismatch(let type, let context):
            return "\(field(context.codingPath)) has the wrong type, expected \(type)"
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "not valid JSON"
        case .dataCorrupted(let context):
            return "\(field(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
