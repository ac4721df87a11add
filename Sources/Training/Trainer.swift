import Foundation
import Kernels
import Model

/// How one candidate trains (the suite's `training:` block after per-candidate overrides).
public struct TrainerSettings: Sendable, Equatable {
    public var epochs: Int = 3
    public var batchSize: Int = 32
    public var optimizer = AdamWSettings(learningRate: 5e-4)
    public var schedule: LearningRateSchedule = .linear
    public var warmupRatio: Double = 0.1
    /// Clip gradients to this global L2 norm; 0 turns clipping off.
    public var maxGradientNorm: Double = 1.0
    public var hiddenDropout: Float = 0.1
    public var attentionDropout: Float = 0.1
    public var classifierDropout: Float = 0.1
    /// Stop after this many epochs without a lower validation loss; 0 never stops early.
    public var patience: Int = 2
    public var seed: UInt64 = 42

    public init() {}
}

/// One epoch of history, plus the learning rate at its end.
public struct EpochSummary: Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    public var seconds: Double
}

/// Progress of a training run, for live terminal lines and CI logs.
public struct TrainingProgress: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var examplesPerSecond: Double
    public var secondsRemaining: Double
    /// Set once per epoch, after validation.
    public var finishedEpoch: EpochSummary?
}

public struct TrainingOutcome: Sendable {
    public var history: [EpochSummary]
    /// 0-based epoch whose weights were restored (lowest validation loss).
    public var bestEpoch: Int
    public var earlyStopped: Bool
    public var steps: Int
    public var seconds: Double
    public var examplesPerSecond: Double
}

/// A loss or gradient became NaN or infinite: the candidate stops with this error.
public struct TrainingFailure: Error, CustomStringConvertible {
    public let description: String
}

/// The encoder's training: forward/backward, clipping and AdamW for each step of the shared
/// `EpochLoop` (seeded length-grouped batches, the schedule, validation after each epoch, early
/// stopping that restores the best epoch's weights).
/// Same seed and thread count → the same weights, bit for bit.
public final class Trainer {
    public let model: TrainableModel
    public let settings: TrainerSettings

    public init(model: TrainableModel, settings: TrainerSettings) {
        self.model = model
        self.settings = settings
    }

    public func train(_ train: [TrainingExample], validation: [TrainingExample],
                      progress: ((TrainingProgress) -> Void)? = nil) throws -> TrainingOutcome {
        precondition(!train.isEmpty && !validation.isEmpty, "training and validation splits must not be empty")
        let optimizer = AdamWOptimizer(tensors: model.trainable, settings: settings.optimizer)
        return try EpochLoop<[[Float]]>(settings: settings).run(
            count: train.count, lengths: { train[$0].ids.count },
            step: { indices, learningRate, epoch, step in
                let batch = TokenBatch(sequences: indices.map { train[$0].ids })
                let labels = indices.map { train[$0].label }
                optimizer.zeroGradients()
                let dropout = DropoutSettings(hidden: settings.hiddenDropout, attention: settings.attentionDropout,
                                              seed: counterHash(settings.seed, UInt64(step)))
                let loss = model.lossAndGradients(batch, labels: labels, dropout: dropout, classifierDropout: settings.classifierDropout)
                guard loss.isFinite else {
                    throw TrainingFailure(description: "loss became \(Self.describe(loss)) at epoch \(epoch + 1), step \(step + 1)")
                }
                let norm = settings.maxGradientNorm > 0 ? optimizer.clipGradients(maxNorm: settings.maxGradientNorm) : optimizer.gradientNorm()
                guard norm.isFinite else {
                    throw TrainingFailure(description: "gradient norm became \(Self.describe(norm)) at epoch \(epoch + 1), step \(step + 1)")
                }
                optimizer.update(learningRate: learningRate)
                return StepResult(loss: loss, weight: Double(indices.count),
                                  correct: countCorrect(model.classifier.head.probabilities, labels: labels), counted: indices.count)
            },
            validate: { evaluate(validation) }, snapshot: snapshot, restore: restore, progress: progress)
    }

    /// Mean cross-entropy (weighted like the training loss when the head has class weights: early
    /// stopping then selects on the objective being trained) and accuracy with dropout off, through
    /// the shared inference path.
    public func evaluate(_ examples: [TrainingExample]) -> (loss: Double, accuracy: Double) {
        let classifier = model.classifier
        let weights = classifier.head.classWeights
        var lossSum = 0.0, weightSum = 0.0, correct = 0
        for indices in LengthGroupedBatcher.evaluationBatches(count: examples.count, lengths: { examples[$0].ids.count }, batchSize: settings.batchSize) {
            let batch = TokenBatch(sequences: indices.map { examples[$0].ids })
            let labels = indices.map { examples[$0].label }
            let probabilities = classifier.probabilities(batch)
            let K = classifier.classCount
            for (row, label) in labels.enumerated() {
                let weight = weights.map { Double($0[Int(label)]) } ?? 1
                lossSum -= weight * log(max(Double(probabilities[row * K + Int(label)]), 1e-45))
                weightSum += weight
            }
            correct += countCorrect(probabilities, labels: labels)
        }
        return (lossSum / weightSum, Double(correct) / Double(examples.count))
    }

    /// "NaN" or "inf"/"-inf": the sign of a NaN says nothing to a reader.
    static func describe(_ value: Double) -> String { value.isNaN ? "NaN" : "\(value)" }

    private func countCorrect(_ probabilities: [Float], labels: [Int32]) -> Int {
        let K = model.classifier.classCount
        var correct = 0
        for (row, label) in labels.enumerated() {
            let scores = probabilities[(row * K)..<((row + 1) * K)]
            if scores.indices.max(by: { scores[$0] < scores[$1] })! - row * K == Int(label) { correct += 1 }
        }
        return correct
    }

    private func snapshot() -> [[Float]] {
        model.trainable.map { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) }
    }

    private func restore(_ snapshot: [[Float]]) {
        for (tensor, values) in zip(model.trainable, snapshot) { tensor.values.update(from: values, count: tensor.count) }
    }
}
