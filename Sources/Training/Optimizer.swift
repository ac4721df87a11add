import Kernels
import Model

/// A trainable slice of some flat buffer and its gradient.
public struct TrainableTensor: @unchecked Sendable {
    public let name: String
    public let values: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    public let count: Int

    public init(name: String, values: UnsafeMutablePointer<Float>, gradients: UnsafeMutablePointer<Float>, count: Int) {
        self.name = name
        self.values = values
        self.gradients = gradients
        self.count = count
    }

    public func zeroGradients() { gradients.update(repeating: 0, count: count) }
}

/// AdamW hyper-parameters, with PyTorch's defaults but for the learning rate.
public struct AdamWSettings: Sendable, Equatable, Codable {
    public var learningRate: Float
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Decoupled weight decay, applied to every trainable tensor as `torch.optim.AdamW` given all
    /// parameters does.
    public var weightDecay: Float = 0.01

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// PyTorch's `clip_grad_norm_`: the factor max_norm / (norm + 1e-6) every gradient is scaled by
/// when it is below 1 (nil: no clipping). Both backbones' training clip through it.
public func gradientClipFactor(norm: Double, maxNorm: Double) -> Float? {
    let coefficient = maxNorm / (norm + 1e-6)
    return coefficient < 1 ? Float(coefficient) : nil
}

/// AdamW over a set of tensors, with moments in one flat buffer.
public final class AdamWOptimizer: @unchecked Sendable {
    public let tensors: [TrainableTensor]
    public var settings: AdamWSettings
    public private(set) var step = 0
    private let moments: FloatBuffer   // first moments of every tensor, then second moments

    public init(tensors: [TrainableTensor], settings: AdamWSettings) {
        self.tensors = tensors
        self.settings = settings
        moments = FloatBuffer(count: 2 * tensors.reduce(0) { $0 + $1.count })
    }

    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    public func zeroGradients() { for tensor in tensors { tensor.zeroGradients() } }

    /// L2 norm of all gradients together, in Float64.
    public func gradientNorm() -> Double {
        tensors.reduce(0) { $0 + sumOfSquares($1.gradients, count: $1.count) }.squareRoot()
    }

    /// Scales gradients so their global norm is at most `maxNorm` (as `clip_grad_norm_`); returns
    /// the norm before clipping.
    @discardableResult
    public func clipGradients(maxNorm: Double) -> Double {
        let norm = gradientNorm()
        if let factor = gradientClipFactor(norm: norm, maxNorm: maxNorm) {
            for tensor in tensors { scaleInPlace(tensor.gradients, count: tensor.count, by: factor) }
        }
        return norm
    }

    /// One update with the given learning rate (the schedule's value for this step).
    public func update(learningRate: Float? = nil) {
        step += 1
        let total = parameterCount
        var offset = 0
        for tensor in tensors {
            adamwUpdate(parameters: tensor.values, gradients: tensor.gradients,
                        firstMoment: moments.pointer + offset, secondMoment: moments.pointer + total + offset,
                        count: tensor.count, learningRate: learningRate ?? settings.learningRate,
                        beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon,
                        weightDecay: settings.weightDecay, step: step)
            offset += tensor.count
        }
    }
}
