/// One epoch of a fine-tuning run's history.
public struct EpochRecord: Codable, Equatable, Sendable {
    public let trainLoss: Double
    public let validationLoss: Double
    public let trainAccuracy: Double
    public let validationAccuracy: Double

    public init(trainLoss: Double, validationLoss: Double, trainAccuracy: Double, validationAccuracy: Double) {
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
    }

    enum CodingKeys: String, CodingKey {
        case trainLoss = "train_loss"
        case validationLoss = "val_loss"
        case trainAccuracy = "train_accuracy"
        case validationAccuracy = "val_accuracy"
    }
}

/// How much worse the model does on validation than on training data at one epoch.
public struct GeneralizationGap: Codable, Equatable, Sendable {
    /// 0-based index of the epoch in the history.
    public let epoch: Int
    /// validation loss − training loss (positive: worse on validation).
    public let lossGap: Double
    /// training accuracy − validation accuracy (positive: worse on validation).
    public let accuracyGap: Double

    enum CodingKeys: String, CodingKey {
        case epoch
        case lossGap = "loss_gap"
        case accuracyGap = "accuracy_gap"
    }
}

/// The first epoch at which validation loss rose while training loss fell.
public struct DivergenceOnset: Codable, Equatable, Sendable {
    /// The first 0-based epoch e ≥ 1 with val_loss[e] > val_loss[e−1] and train_loss[e] < train_loss[e−1].
    public let epoch: Int
    /// Whether validation loss stayed above its pre-onset value val_loss[e−1] at every epoch from e
    /// to the last (true when e is the last epoch: nothing contradicts it yet).
    public let persisted: Bool
}

/// Overfitting signals of one run, see `OverfittingAnalysis.analyze`.
public struct OverfittingReport: Codable, Equatable, Sendable {
    /// Number of epochs in the history.
    public let epochCount: Int
    /// 0-based epoch with the lowest validation loss (the first one on ties).
    public let bestValidationLossEpoch: Int
    /// The gap at `bestValidationLossEpoch`.
    public let gapAtBestEpoch: GeneralizationGap
    /// The gap at the last epoch.
    public let finalGap: GeneralizationGap
    /// nil when validation loss never rose while training loss fell.
    public let divergence: DivergenceOnset?

    enum CodingKeys: String, CodingKey {
        case epochCount = "epoch_count"
        case bestValidationLossEpoch = "best_val_loss_epoch"
        case gapAtBestEpoch = "gap_at_best_epoch"
        case finalGap = "final_gap"
        case divergence
    }
}

/// Overfitting analysis from a per-epoch history (epochs indexed from 0 in history order).
public enum OverfittingAnalysis {
    /// The generalisation gap at `epoch`: loss gap = val_loss − train_loss, accuracy gap =
    /// train_accuracy − val_accuracy.
    public static func generalizationGap(history: [EpochRecord], epoch: Int) -> GeneralizationGap {
        precondition(history.indices.contains(epoch), "epoch \(epoch) is not in the history")
        let record = history[epoch]
        return GeneralizationGap(
            epoch: epoch,
            lossGap: record.validationLoss - record.trainLoss,
            accuracyGap: record.trainAccuracy - record.validationAccuracy)
    }

    /// The first epoch e ≥ 1 where val_loss[e] > val_loss[e−1] and train_loss[e] < train_loss[e−1]
    /// (strict inequalities), with whether val_loss[e′] > val_loss[e−1] for every e′ from e to the
    /// last epoch; nil when there is no such epoch.
    public static func divergenceOnset(history: [EpochRecord]) -> DivergenceOnset? {
        guard let epoch = history.indices.dropFirst().first(where: { epoch in
            history[epoch].validationLoss > history[epoch - 1].validationLoss
                && history[epoch].trainLoss < history[epoch - 1].trainLoss
        }) else {
            return nil
        }
        let before = history[epoch - 1].validationLoss
        return DivergenceOnset(
            epoch: epoch,
            persisted: history[epoch...].allSatisfy { $0.validationLoss > before })
    }

    /// Best epoch by validation loss, the gaps there and at the end, and the divergence onset.
    public static func analyze(history: [EpochRecord]) -> OverfittingReport {
        precondition(!history.isEmpty, "empty history")
        let best = history.indices.min { history[$0].validationLoss < history[$1].validationLoss }!
        return OverfittingReport(
            epochCount: history.count,
            bestValidationLossEpoch: best,
            gapAtBestEpoch: generalizationGap(history: history, epoch: best),
            finalGap: generalizationGap(history: history, epoch: history.count - 1),
            divergence: divergenceOnset(history: history))
    }
}
