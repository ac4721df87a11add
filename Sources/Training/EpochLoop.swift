import Foundation

/// What one optimizer step tells the loop: its loss, the weight that loss is a mean over
/// (examples for a classifier, target tokens for a language model), and how many of the
/// `counted` predictions were right.
struct StepResult {
    let loss: Double
    let weight: Double
    let correct: Int
    let counted: Int
}

/// The epochs of a training run, whatever the model: seeded length-grouped batches, the
/// schedule's learning rate for every step, validation after each epoch, early stopping that
/// restores the best epoch's state. The model's side — a step, a validation pass, a snapshot of
/// what trains — comes as closures, so the encoder and the decoder train by the same rules.
struct EpochLoop<Snapshot> {
    let settings: TrainerSettings

    /// - step: one optimizer step on the examples `indices` at `learningRate` (0-based epoch and
    ///   step given for error messages).
    func run(count: Int, lengths: (Int) -> Int,
             step: (_ indices: [Int], _ learningRate: Float, _ epoch: Int, _ step: Int) throws -> StepResult,
             validate: () throws -> (loss: Double, accuracy: Double),
             snapshot: () -> Snapshot, restore: (Snapshot) -> Void,
             progress: ((TrainingProgress) -> Void)?) throws -> TrainingOutcome {
        let batchesPerEpoch = (count + settings.batchSize - 1) / settings.batchSize
        let totalSteps = batchesPerEpoch * settings.epochs
        let warmupSteps = Int((Double(totalSteps) * settings.warmupRatio).rounded())
        var history: [EpochSummary] = []
        var best: (epoch: Int, loss: Double, snapshot: Snapshot)? = nil
        var stepIndex = 0, examplesSeen = 0
        var earlyStopped = false
        let start = Date()

        for epoch in 0..<settings.epochs {
            let epochStart = Date()
            let epochSeed = settings.seed &+ UInt64(epoch) &* 0x9E37_79B9
            let batches = LengthGroupedBatcher.batches(count: count, lengths: lengths, batchSize: settings.batchSize, seed: epochSeed)
            var lossSum = 0.0, weightSum = 0.0, correct = 0, counted = 0
            for indices in batches {
                let factor = settings.schedule.factor(step: stepIndex, totalSteps: totalSteps, warmupSteps: warmupSteps)
                let result = try step(indices, settings.optimizer.learningRate * Float(factor), epoch, stepIndex)
                stepIndex += 1
                examplesSeen += indices.count
                lossSum += result.loss * result.weight
                weightSum += result.weight
                correct += result.correct
                counted += result.counted
                let elapsed = Date().timeIntervalSince(start)
                let rate = Double(examplesSeen) / max(elapsed, 1e-9)
                progress?(TrainingProgress(epoch: epoch + 1, epochs: settings.epochs, step: stepIndex, totalSteps: totalSteps,
                                           loss: result.loss, examplesPerSecond: rate,
                                           secondsRemaining: Double(totalSteps - stepIndex) * elapsed / Double(stepIndex), finishedEpoch: nil))
            }
            let (validationLoss, validationAccuracy) = try validate()
            let summary = EpochSummary(epoch: epoch, trainLoss: weightSum > 0 ? lossSum / weightSum : 0,
                                       trainAccuracy: counted > 0 ? Double(correct) / Double(counted) : 0,
                                       validationLoss: validationLoss, validationAccuracy: validationAccuracy,
                                       seconds: Date().timeIntervalSince(epochStart))
            history.append(summary)
            let elapsed = Date().timeIntervalSince(start)
            progress?(TrainingProgress(epoch: epoch + 1, epochs: settings.epochs, step: stepIndex, totalSteps: totalSteps,
                                       loss: summary.trainLoss, examplesPerSecond: Double(examplesSeen) / max(elapsed, 1e-9),
                                       secondsRemaining: Double(totalSteps - stepIndex) * elapsed / Double(max(stepIndex, 1)),
                                       finishedEpoch: summary))
            if best == nil || validationLoss < best!.loss {
                best = (epoch, validationLoss, snapshot())
            } else if settings.patience > 0 && epoch - best!.epoch >= settings.patience {
                earlyStopped = epoch + 1 < settings.epochs
                break
            }
        }
        if let best, best.epoch != history.count - 1 { restore(best.snapshot) }
        let seconds = Date().timeIntervalSince(start)
        return TrainingOutcome(history: history, bestEpoch: best?.epoch ?? 0, earlyStopped: earlyStopped, steps: stepIndex,
                               seconds: seconds, examplesPerSecond: Double(examplesSeen) / max(seconds, 1e-9))
    }
}
