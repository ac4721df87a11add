import Evaluation
import Foundation
import Model
import Suites
import Training

/// The model side of a suite run, one implementation per model family (`ModelFamily`): it loads
/// the network and its tokenizer, puts the task's examples and the retention data into the
/// model's terms, and runs one unit — a candidate's seed, or the base model's retention. The
/// runner around it (plan, cache keys, shards, cache, assembly) is the same for every family.
protocol SuiteModel: AnyObject {
    /// results.json `model`.
    var identity: ModelIdentity { get }
    /// What the user should know about how the model reads the data (printed before the units run).
    var notes: [String] { get }
    /// What this model's units depend on beyond the shared lines (tool, kernels, threads, weights,
    /// examples, labels): e.g. the token length sequences are cut to, a decoder's prompt.
    var taskKeyLines: [(name: String, value: String)] { get }
    /// The same for the retention unit.
    var retentionKeyLines: [(name: String, value: String)] { get }
    /// Whether the suite has retention checks this model measures.
    var hasRetention: Bool { get }
    /// Relative cost of the retention unit (texts through the model).
    var retentionCost: Double { get }

    /// Whether a trained `candidate` is saved (`--adapters`) when its first seed runs.
    func exportsTrainedModel(_ candidate: CandidateSpec) -> Bool

    /// Relative cost of one seed of `candidate`, on the scale `RunPlan` balances shards with.
    func cost(of candidate: CandidateSpec) -> Double

    /// Each retention check's score on the base model (measured on first use, then remembered).
    func baseRetentionScores(observer: RunProgressObserver?) -> [String: Double]

    /// The base scores of a cached retention unit. A model whose candidates need more than the
    /// scores (the encoder's probes are fitted on the base embeddings) measures again when a
    /// candidate runs; one whose candidates need only the scores takes them.
    func restore(baseRetentionScores scores: [String: Double])

    /// One seed of a candidate (a training unit): trained (if its method trains), evaluated on the test split under
    /// the task's decision rule, retention measured; the first seed's adapter exported to
    /// `exportTo` when given. A failure inside training is the returned run's `.failed` status.
    func runSeed(_ candidate: CandidateSpec, unit: WorkUnit, label: String, exportTo: URL?,
                 observer: RunProgressObserver?) throws -> UnitResult
}

/// Test predictions and their metrics under the task's decision rule, the same for every family:
/// the most probable class, or the positive class when its probability reaches the threshold
/// with the best F1 on validation.
struct TaskEvaluation {
    let task: TaskSpec
    let comparison: ComparisonSettings
    let classCount: Int

    /// Fills `run` with the threshold, predictions, headline metrics (bootstrapped with `seed`)
    /// and the per-class report. `validation` is asked for only when a threshold is chosen.
    func measure(test: [Example], testProbabilities: [[Double]], validationLabels: [Int],
                 validationProbabilities: () -> [[Double]], seed: UInt64, into run: inout SeedRun) {
        var threshold: ChosenThreshold?
        if task.threshold == .optimizeF1, let positive = task.positiveClass {
            let scores = validationProbabilities().map { $0[positive] }
            threshold = ChosenThreshold.optimizingF1(validationLabels: validationLabels, scores: scores, positiveClass: positive)
        }
        let predictions = zip(test, testProbabilities).map { example, p in
            let predicted = threshold.map { $0.predictedClass(probabilities: p, positiveClass: task.positiveClass!) }
                ?? p.indices.max { p[$0] < p[$1] }!
            return Prediction(id: example.id, label: example.label, predicted: predicted, probabilities: p)
        }
        run.threshold = threshold
        let labels = predictions.map(\.label), predicted = predictions.map(\.predicted), probabilities = predictions.map(\.probabilities)
        run.predictions = predictions
        // Bootstrapped with the run's seed, as the candidate's seed-mean is: with one seed the two are equal.
        run.metrics = HeadlineMetrics.compute(labels: labels, predicted: predicted, probabilities: probabilities,
                                              classCount: classCount, resamples: comparison.bootstrapResamples,
                                              level: comparison.confidence, seed: seed)
        run.report = ClassificationMetrics.compute(labels: labels, predicted: predicted, probabilities: probabilities,
                                                   classCount: classCount)
    }
}

extension CandidateSpec {
    /// A LoRA or QLoRA candidate's adapter settings on a backbone's sites, the same for every
    /// family: `target_modules` by the family's names or the shared roles (default query and value).
    func loraConfiguration(on sites: LinearSiteTable) throws -> LoRAConfiguration {
        do {
            return try LoRAConfiguration(rank: rank ?? 8, alpha: Float(alpha ?? 16), dropout: Float(loraDropout ?? 0),
                                         targets: try sites.sites(named: targetModules ?? ["query", "value"]))
        } catch {
            throw SuiteError(file: "", field: "candidates.\(name)", message: error.description)
        }
    }

    /// A prompt candidate's settings, the same for every family.
    func promptTuning() throws -> PromptTuningConfiguration {
        let initialization: PromptInitialization
        switch promptInit ?? .vocab {
        case .vocab: initialization = .randomVocabulary
        case .text(let text): initialization = .text(text)
        }
        do {
            return try PromptTuningConfiguration(virtualTokens: virtualTokenCount, initialization: initialization)
        } catch {
            throw SuiteError(file: "", field: "candidates.\(name).num_virtual_tokens", message: error.description)
        }
    }
}

extension TrainerSettings {
    /// A candidate's resolved training settings, with the seed of this training run.
    init(_ training: TrainingSettings, seed: UInt64) {
        self.init()
        epochs = training.epochs
        batchSize = training.batchSize
        optimizer = AdamWSettings(learningRate: Float(training.learningRate), weightDecay: Float(training.weightDecay))
        schedule = LearningRateSchedule(rawValue: training.schedule.rawValue) ?? .linear
        warmupRatio = training.warmupRatio
        maxGradientNorm = training.maxGradNorm
        hiddenDropout = Float(training.dropout.hidden)
        attentionDropout = Float(training.dropout.attention)
        classifierDropout = Float(training.dropout.classifier)
        patience = training.patience
        self.seed = seed
    }
}
