import Adapters
import Evaluation
import Foundation
import Kernels
import Model
import Suites
import Tokenizer
import Training

/// A BERT encoder under test: classification through a trained head over the pooled encoder
/// output (full fine-tuning, LoRA, QLoRA or prompt tuning), retention through sentence
/// similarity and frozen probes on mean-pooled embeddings.
final class EncoderSuiteModel: SuiteModel {
    let spec: SuiteSpec
    let config: BertConfig
    let base: EncoderParameters
    let pooler: ClassificationHead.Pooler
    let tokenizer: WordPieceTokenizer
    /// Token ids of each split, cut to `maxLength`.
    let train: [TrainingExample], validation: [TrainingExample], test: [TrainingExample]
    let testExamples: [Example]
    let labelCount: Int
    /// Class counts of the training split (balanced class weights).
    let trainClassCounts: [Int]
    /// Sequences are cut to this many tokens: `model.max_length`, fewer when a prompt's virtual
    /// tokens would not fit the positions.
    let maxLength: Int
    /// The most virtual tokens a candidate puts in front of a sequence.
    let promptTokens: Int
    private var retention: RetentionMeasurement
    let identity: ModelIdentity
    private let evaluation: TaskEvaluation

    init(spec: SuiteSpec, candidates: [CandidateSpec], task: TaskData, retentionData: RetentionData) throws {
        self.spec = spec
        let modelDirectory = URL(fileURLWithPath: spec.model.path)
        let weightsURL = modelDirectory.appendingPathComponent("model.safetensors")
        let config = try BertConfig.load(from: modelDirectory.appendingPathComponent("config.json"))
        // The weights file is memory-mapped: read what is needed, then let it go (its pages would
        // otherwise count in every candidate's peak memory).
        (base, pooler) = try { () throws -> (EncoderParameters, ClassificationHead.Pooler) in
            let file = try SafeTensorsFile(contentsOf: weightsURL)
            return (try EncoderParameters.load(from: file, config: config), try ClassificationHead.Pooler(from: file, config: config))
        }()
        self.config = config
        let tokenizer = try WordPieceTokenizer.load(modelDirectory: modelDirectory)
        self.tokenizer = tokenizer
        guard spec.model.maxLength <= config.maxPositionEmbeddings else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["model"], field: "model.max_length",
                             message: "\(spec.model.maxLength) exceeds the model's \(config.maxPositionEmbeddings) positions (config.json max_position_embeddings)")
        }
        let promptTokens = candidates.map(\.virtualTokenCount).max() ?? 0
        self.promptTokens = promptTokens
        let maxLength = min(spec.model.maxLength, config.maxPositionEmbeddings - promptTokens)
        self.maxLength = maxLength
        try Self.validateSizes(spec: spec, tokenizer: tokenizer, config: config, candidates: candidates, maxLength: maxLength)

        func encode(_ examples: [Example]) -> [TrainingExample] {
            examples.map { TrainingExample(ids: tokenizer.encode($0.text, maxLength: maxLength), label: Int32($0.label)) }
        }
        (train, validation, test) = (encode(task.train), encode(task.validation), encode(task.test))
        testExamples = task.test
        labelCount = task.labels.count
        trainClassCounts = task.splits.train
        let retentionLength = min(RetentionMeasurement.maxLength, config.maxPositionEmbeddings - promptTokens)
        retention = RetentionMeasurement(data: retentionData, tokenizer: tokenizer, maxLength: retentionLength)
        retentionKeyLines = [("retention.max_length", String(retentionLength))]
        identity = ModelIdentity(path: spec.model.path, sha256: SHA256.hex(ofFileAt: weightsURL.path) ?? "",
                                 parameters: base.layout.totalCount + config.hiddenSize * (config.hiddenSize + 1))
        evaluation = TaskEvaluation(task: spec.task, comparison: spec.comparison, classCount: task.labels.count)
    }

    var notes: [String] {
        guard maxLength < spec.model.maxLength else { return [] }
        return ["note: sequences are cut to \(maxLength) tokens (max_length \(spec.model.maxLength)) so that \(promptTokens) virtual tokens fit the model's \(config.maxPositionEmbeddings) positions"]
    }

    var taskKeyLines: [(name: String, value: String)] { [("task.max_length", String(maxLength))] }
    let retentionKeyLines: [(name: String, value: String)]
    var hasRetention: Bool { !retention.isEmpty }
    var retentionCost: Double { Double(retention.textCount) }

    /// Every trained candidate is saved as a PEFT adapter (or a full model for `full`).
    func exportsTrainedModel(_ candidate: CandidateSpec) -> Bool { candidate.method.trains }

    /// Relative cost of one training unit: example passes through the encoder — training about two
    /// to three forward passes' worth each (backward included; full fine-tuning the most), then
    /// validation every epoch, the final evaluation and retention — scaled by the tokens each example
    /// carries (its mean length plus a prompt's virtual tokens). The factors are rough: on the
    /// rare-food example prompt tuning took about twice LoRA's time per seed, which the virtual
    /// tokens on 15-token glosses account for.
    func cost(of candidate: CandidateSpec) -> Double {
        // Cost grows with the tokens actually processed: the mean training length, not max_length.
        let tokens = Double(train.reduce(0) { $0 + $1.ids.count }) / Double(max(train.count, 1))
        let evaluationCount = validation.count + test.count
        let trainingFactor: Double = switch candidate.method {
        case .full: 3
        case .lora: 2.2
        case .qlora: 2.6
        case .prompt: 2.2
        case .base: 0
        }
        let passes = Double(candidate.training.epochs) * (Double(train.count) * trainingFactor + Double(evaluationCount))
            + Double(evaluationCount + retention.textCount)
        return passes * (tokens + Double(candidate.virtualTokenCount)) / 64
    }

    func baseRetentionScores(observer: RunProgressObserver?) -> [String: Double] {
        if !retention.isMeasured, !retention.isEmpty {
            observer?.note("measuring the base model's retention checks")
            retention.measureBase(with: SentenceEmbedder(tokenizer: tokenizer, encoder: BertEncoder(parameters: base)))
        }
        return retention.baseScores
    }

    /// The probes a candidate is scored with are fitted on the base model's embeddings, which the
    /// cached scores do not hold: a candidate that runs measures the base model again.
    func restore(baseRetentionScores scores: [String: Double]) {}

    func runSeed(_ candidate: CandidateSpec, unit: WorkUnit, label: String, exportTo: URL?,
                 observer: RunProgressObserver?) throws -> UnitResult {
        _ = baseRetentionScores(observer: observer)
        let trainingSeed = unit.trainingSeed!
        var run = SeedRun(seed: trainingSeed, status: .ok)
        var result = UnitResult(unit: unit, baseWeightBytes: base.layout.totalCount * 4)
        do {
            let model = try trainAndMeasure(candidate, trainingSeed: trainingSeed, label: label, observer: observer, into: &run)
            result.trainableParameters = model.trainableParameterCount
            if let qlora = model.lora as? QLoRAAdapter {
                result.baseWeightBytes = base.layout.totalCount * 4 - qlora.fullPrecisionBaseBytes + qlora.quantizedBaseBytes
            }
            if let exportTo {
                try AdapterExport.save(model, labels: spec.task.labels, baseModelDirectory: URL(fileURLWithPath: spec.model.path),
                                       to: exportTo)
            }
        } catch {
            run.status = .failed
            run.error = "\(error)"
        }
        result.seedRun = run
        return result
    }

    /// The boundary where the tokenizer, the model and the suite meet: every token id must index the
    /// embedding table, the virtual tokens plus [CLS] and [SEP] must fit the position table, and each
    /// candidate's training batch must fit the machine's memory. Checked once here so that no kernel
    /// ever sees an out-of-range index and no allocation is attempted that cannot succeed.
    private static func validateSizes(spec: SuiteSpec, tokenizer: WordPieceTokenizer, config: BertConfig, candidates: [CandidateSpec],
                                      maxLength: Int) throws {
        let vocabularyFile = URL(fileURLWithPath: spec.model.path).appendingPathComponent("vocab.txt").path
        try config.checkVocabulary(tokenCount: tokenizer.vocabularySize, file: vocabularyFile)
        for candidate in candidates where candidate.virtualTokenCount + 2 > config.maxPositionEmbeddings {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["candidates"], field: "candidates.\(candidate.name).num_virtual_tokens",
                             message: "\(candidate.virtualTokenCount) virtual tokens leave no room for [CLS] and [SEP] in the model's \(config.maxPositionEmbeddings) positions (max_position_embeddings)")
        }
        for candidate in candidates {
            let virtual = candidate.virtualTokenCount
            let batch = candidate.training.batchSize
            let source = "\(spec.sourcePath): candidates.\(candidate.name) batch_size \(batch)"
            try MemoryBudget().require(MemoryBudget.encoderBytes(config: config, batch: batch, tokens: maxLength + virtual,
                                                                 training: true, trainsAllWeights: candidate.method == .full),
                                       for: "training \(batch) sequences of up to \(maxLength + virtual) tokens", source: source)
            try config.checkBatchShape(batch: batch, tokens: maxLength, virtualTokens: virtual, source: source)
        }
    }

    /// One seed of a candidate: trains it, then fills `run` with its history, test predictions,
    /// metrics and retention scores. Returns the trained model (for export).
    private func trainAndMeasure(_ candidate: CandidateSpec, trainingSeed: UInt64, label: String, observer: RunProgressObserver?,
                                 into run: inout SeedRun) throws -> TrainableModel {
        PeakMemory.reset()
        let initializationSeed = ReplicateSeeds.initializationSeed(trainingSeed: trainingSeed, candidateName: candidate.name)
        let head = ClassificationHead(pooler: pooler, classCount: labelCount, seed: initializationSeed)
        // Balanced weights from the training split's class counts, counted once when the data loaded.
        head.classWeights = candidate.training.classWeights.weights(trainCounts: trainClassCounts)?.map(Float.init)
        let model = try TrainableModel(method: try Self.method(candidate, config: base.config), base: base, head: head, tokenizer: tokenizer,
                                       seed: initializationSeed)
        let trainer = Trainer(model: model, settings: TrainerSettings(candidate.training, seed: trainingSeed))
        let outcome = try trainer.train(train, validation: validation) { [weak observer] progress in
            observer?.training(label, progress)
        }
        let history = outcome.history.map { EpochRecord(trainLoss: $0.trainLoss, validationLoss: $0.validationLoss,
                                                        trainAccuracy: $0.trainAccuracy, validationAccuracy: $0.validationAccuracy) }

        // Test predictions through the shared inference path.
        evaluation.measure(test: testExamples, testProbabilities: probabilities(model.classifier, of: test),
                           validationLabels: validation.map { Int($0.label) },
                           validationProbabilities: { probabilities(model.classifier, of: validation) },
                           seed: candidate.training.seed, into: &run)
        run.overfitting = OverfittingAnalysis.analyze(history: history)
        if !retention.isEmpty {
            let embedder = SentenceEmbedder(tokenizer: tokenizer, encoder: model.classifier.encoder)
            run.forgetting = retention.forgetting(candidateScores: retention.scores(with: embedder))
        }
        run.training = TrainingSummary(history: history, bestEpoch: outcome.bestEpoch, earlyStopped: outcome.earlyStopped,
                                       epochsRun: outcome.history.count, steps: outcome.steps, seconds: outcome.seconds,
                                       examplesPerSecond: outcome.examplesPerSecond, peakRSSBytes: PeakMemory.bytes())
        return model
    }

    /// Class probabilities of every example through the shared inference path (K per example, in
    /// example order; batches grouped by length).
    private func probabilities(_ classifier: SequenceClassifier, of examples: [TrainingExample]) -> [[Double]] {
        var out = [[Double]](repeating: [], count: examples.count)
        let K = classifier.classCount
        for indices in LengthGroupedBatcher.evaluationBatches(count: examples.count, lengths: { examples[$0].ids.count }, batchSize: 64) {
            let probabilities = classifier.probabilities(TokenBatch(sequences: indices.map { examples[$0].ids }))
            for (row, index) in indices.enumerated() {
                out[index] = (0..<K).map { Double(probabilities[row * K + $0]) }
            }
        }
        return out
    }

    static func method(_ candidate: CandidateSpec, config: BertConfig) throws -> FineTuningMethod {
        switch candidate.method {
        case .full: return .full(freezeEmbeddings: candidate.freezeEmbeddings ?? false)
        case .lora: return .lora(try candidate.loraConfiguration(on: config.linearSites))
        case .qlora: return .qlora(try candidate.loraConfiguration(on: config.linearSites), doubleQuantize: candidate.doubleQuantization ?? false)
        case .prompt: return .prompt(try candidate.promptTuning())
        case .base:
            // `SuiteSpec.validate(for:)` refuses base candidates on an encoder before any unit runs.
            throw SuiteError(file: "", field: "candidates.\(candidate.name).method", message: "an encoder has no zero-shot answer")
        }
    }
}
