import Adapters
import Kernels
import Model
import Tokenizer

/// The fine-tuning methods evalharness compares.
public enum FineTuningMethod: Sendable, Equatable {
    /// Every weight trainable; optionally keep the embedding tables and their LayerNorm frozen.
    case full(freezeEmbeddings: Bool)
    case lora(LoRAConfiguration)
    /// LoRA over a 4-bit NF4 copy of the base's linear weights.
    case qlora(LoRAConfiguration, doubleQuantize: Bool)
    case prompt(PromptTuningConfiguration)

    public var name: String {
        switch self {
        case .full: return "full"
        case .lora: return "lora"
        case .qlora: return "qlora"
        case .prompt: return "prompt"
        }
    }
}

/// A classifier set up for one method: which weights it owns, which train, and their gradients.
/// Methods that freeze the base share the caller's base parameters; full fine-tuning copies them,
/// unless the caller hands the base over (`takingOwnershipOfBase`) because nothing else uses it.
public final class TrainableModel: @unchecked Sendable {
    public let method: FineTuningMethod
    public let classifier: SequenceClassifier
    public let trainable: [TrainableTensor]
    /// Base-weight gradients (full fine-tuning only).
    public let encoderGradients: EncoderParameters?
    public let headGradients: FloatBuffer
    public let lora: LoRAAdapter?
    public let prompt: PromptTuningAdapter?
    private let trainsPooler: Bool
    private let trainsEmbeddings: Bool

    public init(method: FineTuningMethod, base: EncoderParameters, head: ClassificationHead,
                tokenizer: (any TextTokenizer)?, seed: UInt64, takingOwnershipOfBase: Bool = false) throws {
        self.method = method
        let C = base.config.hiddenSize
        let headGradients = FloatBuffer(count: head.parameters.count)
        let classifierTensor = TrainableTensor(
            name: "classifier", values: head.parameters.pointer + head.classifierOffset,
            gradients: headGradients.pointer + head.classifierOffset, count: head.classCount * C + head.classCount)
        var trainable: [TrainableTensor] = []
        var lora: LoRAAdapter?
        var prompt: PromptTuningAdapter?
        let encoder: BertEncoder
        switch method {
        case .full(let freezeEmbeddings):
            let parameters = takingOwnershipOfBase ? base : base.copy()
            let gradients = EncoderParameters(layout: base.layout)
            encoder = BertEncoder(parameters: parameters)
            for tensor in EncoderParameterLayout.Tensor.allCases {
                let isEmbedding = tensor.rawValue <= EncoderParameterLayout.Tensor.embeddingNormBias.rawValue
                if freezeEmbeddings && isEmbedding { continue }
                let range = base.layout.range(of: tensor)
                trainable.append(TrainableTensor(name: "\(tensor)", values: parameters.storage.pointer + range.lowerBound,
                                                 gradients: gradients.storage.pointer + range.lowerBound, count: range.count))
            }
            trainable.append(TrainableTensor(name: "pooler", values: head.parameters.pointer, gradients: headGradients.pointer,
                                             count: head.classifierOffset))
            encoderGradients = gradients
            trainsPooler = true
            trainsEmbeddings = !freezeEmbeddings
        case .lora, .qlora:
            // QLoRA is LoRA whose adapter also supplies the (dequantised NF4) base weights.
            let adapter: LoRAAdapter
            if case .qlora(let configuration, let doubleQuantize) = method {
                adapter = QLoRAAdapter(configuration: configuration, base: base, doubleQuantize: doubleQuantize, seed: seed)
            } else if case .lora(let configuration) = method {
                adapter = LoRAAdapter(configuration: configuration, config: base.config, seed: seed)
            } else {
                preconditionFailure("unreachable")
            }
            encoder = BertEncoder(parameters: base, adapter: adapter)
            trainable.append(TrainableTensor(name: "lora", values: adapter.parameters.pointer, gradients: adapter.gradients.pointer,
                                             count: adapter.parameters.count))
            lora = adapter
            encoderGradients = nil
            trainsPooler = false
            trainsEmbeddings = false
        case .prompt(let configuration):
            let adapter = try PromptTuningAdapter(configuration: configuration, base: base, tokenizer: tokenizer, seed: seed)
            encoder = BertEncoder(parameters: base, adapter: adapter)
            if configuration.virtualTokens > 0 {
                trainable.append(TrainableTensor(name: "prompt", values: adapter.parameters.pointer, gradients: adapter.gradients.pointer,
                                                 count: adapter.trainableCount))
            }
            prompt = adapter
            encoderGradients = nil
            trainsPooler = false
            trainsEmbeddings = false
        }
        trainable.append(classifierTensor)
        self.trainable = trainable
        self.lora = lora
        self.prompt = prompt
        self.headGradients = headGradients
        self.classifier = SequenceClassifier(encoder: encoder, head: head)
    }

    public var trainableParameterCount: Int { trainable.reduce(0) { $0 + $1.count } }

    /// Forward and backward on one batch; gradients accumulate into the trainable tensors'
    /// gradient buffers (zero them first). Returns the mean loss.
    public func lossAndGradients(_ batch: TokenBatch, labels: [Int32], dropout: DropoutSettings, classifierDropout: Float) -> Double {
        let loss = classifier.loss(batch, labels: labels, dropout: dropout, classifierDropout: classifierDropout)
        classifier.backward(encoderGradients: encoderGradients, headGradients: headGradients,
                            trainPooler: trainsPooler, trainEmbeddings: trainsEmbeddings)
        return loss
    }
}
