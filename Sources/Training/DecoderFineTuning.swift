import Foundation
import Kernels
import Model

/// Full fine-tuning of a Llama decoder: every parameter trains with AdamW (`adamwUpdate`, PyTorch's
/// single-tensor order of operations) on the completion-only causal-LM loss of
/// `LlamaTrainingGraph`, gradients first clipped to a global L2 norm as
/// `torch.nn.utils.clip_grad_norm_` does. The model's weights change in place; the moments are
/// kept per tensor, by Hugging Face name.
public final class DecoderFullFineTuning {
    public let model: LlamaModel
    public let settings: AdamWSettings
    /// 0 turns clipping off.
    public let maxGradientNorm: Double
    public private(set) var steps = 0
    private let graph: LlamaTrainingGraph
    private var firstMoments: [String: [Float]] = [:]
    private var secondMoments: [String: [Float]] = [:]

    public init(model: LlamaModel, settings: AdamWSettings, maxGradientNorm: Double = 1.0) throws {
        graph = try LlamaTrainingGraph(model: model)
        self.model = model
        self.settings = settings
        self.maxGradientNorm = maxGradientNorm
    }

    /// One optimizer step on `batch`: returns the loss before the update and the gradient norm
    /// before clipping.
    @discardableResult
    public func step(_ batch: [LanguageModelingExample], learningRate: Float? = nil) throws -> (loss: Double, gradientNorm: Double) {
        var (loss, _, gradients) = try graph.lossAndGradients(batch)
        guard loss.isFinite else { throw TrainingFailure(description: "the loss became \(loss) at step \(steps + 1)") }
        let norm = gradients.values.reduce(0.0) { total, values in
            values.withUnsafeBufferPointer { total + sumOfSquares($0.baseAddress!, count: $0.count) }
        }.squareRoot()
        guard norm.isFinite else { throw TrainingFailure(description: "a gradient became \(norm) at step \(steps + 1)") }
        // clip_grad_norm_: the coefficient max_norm / (norm + 1e-6), applied when below 1.
        if maxGradientNorm > 0, maxGradientNorm / (norm + 1e-6) < 1 {
            let coefficient = Float(maxGradientNorm / (norm + 1e-6))
            for name in Array(gradients.keys) {
                gradients[name]!.withUnsafeMutableBufferPointer { scaleInPlace($0.baseAddress!, count: $0.count, by: coefficient) }
            }
        }
        steps += 1
        let rate = learningRate ?? settings.learningRate, step = steps, settings = self.settings
        model.updateWeights { weights in
            weights.updateTensors(config: model.config) { name, values in
                guard let gradient = gradients[name] else { return }
                var first = firstMoments.removeValue(forKey: name) ?? [Float](repeating: 0, count: values.count)
                var second = secondMoments.removeValue(forKey: name) ?? [Float](repeating: 0, count: values.count)
                values.withUnsafeMutableBufferPointer { parameters in
                    gradient.withUnsafeBufferPointer { g in
                        first.withUnsafeMutableBufferPointer { m in
                            second.withUnsafeMutableBufferPointer { v in
                                adamwUpdate(parameters: parameters.baseAddress!, gradients: g.baseAddress!, firstMoment: m.baseAddress!,
                                            secondMoment: v.baseAddress!, count: parameters.count, learningRate: rate,
                                            beta1: settings.beta1, beta2: settings.beta2, epsilon: settings.epsilon,
                                            weightDecay: settings.weightDecay, step: step)
                            }
                        }
                    }
                }
                firstMoments[name] = first
                secondMoments[name] = second
            }
        }
        return (loss, norm)
    }
}
