import Foundation
import Kernels
import Model

/// Fine-tuning of a Llama decoder on the completion-only causal-LM loss of `LlamaTrainingGraph`:
/// every parameter (full fine-tuning; the model's weights change in place) or, given an adapter
/// (LoRA, QLoRA over a quantised base, prompt tuning), its tensors only (the base stays frozen). AdamW (`adamwUpdate`, PyTorch's
/// single-tensor order of operations) after clipping the gradients to a global L2 norm as
/// `torch.nn.utils.clip_grad_norm_` does; moments kept per tensor, by name.
public final class DecoderFineTuning {
    public let model: LlamaModel
    /// The adapter being trained (nil: full fine-tuning).
    public private(set) var adapter: (any LlamaAdapter)?
    public let settings: AdamWSettings
    /// 0 turns clipping off.
    public let maxGradientNorm: Double
    public private(set) var steps = 0
    /// Each step's adapter dropout masks come from this seed and the step number.
    public let dropoutSeed: UInt64
    private let graph: LlamaTrainingGraph
    private var firstMoments: [String: [Float]] = [:]
    private var secondMoments: [String: [Float]] = [:]
    /// The last step's gradients, whose memory the next step writes its own into.
    private var spentGradients: [String: [Float]] = [:]

    public init(model: LlamaModel, adapter: (any LlamaAdapter)? = nil, settings: AdamWSettings, maxGradientNorm: Double = 1.0,
                dropoutSeed: UInt64 = 0) throws {
        graph = try LlamaTrainingGraph(model: model)
        self.dropoutSeed = dropoutSeed
        self.model = model
        self.adapter = adapter
        self.settings = settings
        self.maxGradientNorm = maxGradientNorm
    }

    /// Values that train.
    public var trainableParameterCount: Int { adapter?.parameterCount ?? model.config.parameterCount }

    /// One optimizer step on `batch`: the loss before the update, the gradient norm before
    /// clipping, and how many target tokens the model ranked first.
    @discardableResult
    public func step(_ batch: [LanguageModelingExample], learningRate: Float? = nil) throws -> (loss: Double, gradientNorm: Double, correct: Int) {
        var pass = try graph.lossAndGradients(batch, adapter: adapter, dropoutSeed: counterHash(dropoutSeed, UInt64(steps)),
                                              reusing: &spentGradients)
        let loss = pass.loss, correct = pass.correct
        var gradients = pass.gradients
        pass.gradients = [:]  // `gradients` then holds the only references: scaled in place, not copied
        guard loss.isFinite else { throw TrainingFailure(description: "the loss became \(loss) at step \(steps + 1)") }
        // Summed in name order: a dictionary's order changes from process to process, and the
        // last bits of the norm (so of a clipped step) would change with it.
        let names = gradients.keys.sorted()
        let norm = names.reduce(0.0) { total, name in
            gradients[name]!.withUnsafeBufferPointer { total + parallelSumOfSquares($0.baseAddress!, count: $0.count) }
        }.squareRoot()
        guard norm.isFinite else { throw TrainingFailure(description: "a gradient became \(norm) at step \(steps + 1)") }
        if maxGradientNorm > 0, let factor = gradientClipFactor(norm: norm, maxNorm: maxGradientNorm) {
            for name in names {
                gradients[name]!.withUnsafeMutableBufferPointer { scaleInPlace($0.baseAddress!, count: $0.count, by: factor) }
            }
        }
        steps += 1
        let rate = learningRate ?? settings.learningRate
        if var trained = adapter {
            adapter = nil  // the tensors are then uniquely referenced: updated without a copy
            for name in trained.tensors.keys.sorted() {
                guard let gradient = gradients[name] else { continue }
                update(name, &trained.tensors[name]!, gradient, rate)
            }
            adapter = trained
        } else {
            model.updateWeights { weights in
                weights.updateTensors(config: model.config) { name, values in
                    guard let gradient = gradients[name] else { return }
                    update(name, &values, gradient, rate)
                }
            }
        }
        spentGradients = gradients
        return (loss, norm, correct)
    }

    /// One AdamW update of the tensor `name`.
    private func update(_ name: String, _ values: inout [Float], _ gradient: [Float], _ rate: Float) {
        var first = firstMoments.removeValue(forKey: name) ?? [Float](repeating: 0, count: values.count)
        var second = secondMoments.removeValue(forKey: name) ?? [Float](repeating: 0, count: values.count)
        let settings = self.settings, step = steps
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

    /// The loss on `batch` with the current weights (no update).
    public func evaluate(_ batch: [LanguageModelingExample]) throws -> LlamaTrainingGraph.Pass { try graph.loss(batch, adapter: adapter) }

    /// What trains, as it is now (copy-on-write: later steps copy a tensor only as they change it).
    public struct Snapshot { fileprivate let weights: LlamaWeights?; fileprivate let adapter: (any LlamaAdapter)? }
    public func snapshot() -> Snapshot { adapter == nil ? Snapshot(weights: model.weights, adapter: nil) : Snapshot(weights: nil, adapter: adapter) }
    public func restore(_ snapshot: Snapshot) {
        if let weights = snapshot.weights { model.updateWeights { $0 = weights } }
        if let saved = snapshot.adapter { adapter = saved }
    }

    /// The model to run inference with: the trained one, the adapter folded in (`LlamaAdapter.inferenceModel`).
    public var inferenceModel: LlamaModel { adapter?.inferenceModel(model) ?? model }
}

/// The decoder's training: `DecoderFineTuning` steps in the encoder's `EpochLoop` (seeded
/// length-grouped batches, the learning-rate schedule with warm-up, validation after each epoch,
/// early stopping that restores the best epoch's weights or adapters). The history's accuracies
/// are answer-token accuracies: the share of target tokens the model ranks first over the whole
/// vocabulary (for a one-token verbaliser, whether the label's word is the model's top choice).
public final class DecoderTrainer {
    public let tuning: DecoderFineTuning
    public let settings: TrainerSettings

    public init(tuning: DecoderFineTuning, settings: TrainerSettings) {
        self.tuning = tuning
        self.settings = settings
    }

    public func train(_ train: [LanguageModelingExample], validation: [LanguageModelingExample],
                      progress: ((TrainingProgress) -> Void)? = nil) throws -> TrainingOutcome {
        precondition(!train.isEmpty && !validation.isEmpty, "training and validation splits must not be empty")
        return try EpochLoop<DecoderFineTuning.Snapshot>(settings: settings).run(
            count: train.count, lengths: { train[$0].ids.count },
            step: { indices, learningRate, _, _ in
                let batch = indices.map { train[$0] }
                let result = try tuning.step(batch, learningRate: learningRate)
                let targets = batch.reduce(0) { $0 + $1.targetCount }
                return StepResult(loss: result.loss, weight: Double(targets), correct: result.correct, counted: targets)
            },
            validate: { try evaluate(validation) }, snapshot: tuning.snapshot, restore: tuning.restore, progress: progress)
    }

    /// Mean loss over every target token of `examples`, and the answer-token accuracy.
    public func evaluate(_ examples: [LanguageModelingExample]) throws -> (loss: Double, accuracy: Double) {
        var lossSum = 0.0, targets = 0, correct = 0
        for indices in LengthGroupedBatcher.evaluationBatches(count: examples.count, lengths: { examples[$0].ids.count },
                                                              batchSize: settings.batchSize) {
            let pass = try tuning.evaluate(indices.map { examples[$0] })
            lossSum += pass.loss * Double(pass.targets)
            targets += pass.targets
            correct += pass.correct
        }
        return (lossSum / Double(max(targets, 1)), Double(correct) / Double(max(targets, 1)))
    }
}
