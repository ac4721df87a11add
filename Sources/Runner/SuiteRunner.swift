import Adapters
import COpenBLAS
import Evaluation
import Foundation
import Kernels
import Model
import Suites
import Tokenizer
import Training

/// What a run reports while it works (the CLI turns it into a live line or plain log lines).
public protocol RunProgressObserver: AnyObject {
    func note(_ message: String)
    func candidateStarted(_ name: String, method: String, index: Int, count: Int)
    func training(_ name: String, _ progress: TrainingProgress)
    func candidateFinished(_ name: String, status: CandidateResult.Status, seconds: Double, detail: String)
}

/// How to run a suite beyond what the suite file says.
public struct RunOptions: Sendable {
    /// Where trained adapters are saved (`<dir>/<candidate>/`); nil: not saved.
    public var adaptersDirectory: URL?
    /// Only these candidates (nil: all).
    public var candidates: [String]?
    /// Overrides the suite's seed.
    public var seed: UInt64?
    /// Overrides every candidate's number of training seeds.
    public var seeds: Int?
    public var threads: Int
    public var baseline: RunResult?
    /// A stored calibration (warns about margins the seed count cannot decide).
    public var calibration: CalibrationResult?

    public init(adaptersDirectory: URL? = nil, candidates: [String]? = nil, seed: UInt64? = nil, seeds: Int? = nil,
                threads: Int, baseline: RunResult? = nil, calibration: CalibrationResult? = nil) {
        self.adaptersDirectory = adaptersDirectory; self.candidates = candidates; self.seed = seed; self.seeds = seeds
        self.threads = threads; self.baseline = baseline; self.calibration = calibration
    }
}

/// Runs a suite end to end: loads the model and data, measures the base model's retention checks,
/// trains and measures every candidate with the shared kernel, compares candidates with the
/// prompt-tuned one and with the baseline run, and applies the checks. A candidate that fails
/// (e.g. its loss becomes NaN) is reported with its error; the others still run.
public final class SuiteRunner {
    public let spec: SuiteSpec
    public let options: RunOptions
    public weak var observer: RunProgressObserver?

    public init(spec: SuiteSpec, options: RunOptions, observer: RunProgressObserver? = nil) {
        self.spec = spec
        self.options = options
        self.observer = observer
    }

    public func run() throws -> RunResult {
        let started = Date()
        Parallel.configure(threads: options.threads)
        let seed = options.seed ?? spec.seed
        // The command line's --seed and --seeds are recorded in each candidate's settings like the suite's own.
        let candidates = try selectedCandidates().map { candidate in
            var candidate = candidate
            candidate.training.seed = seed
            if let seeds = options.seeds { candidate.training.seeds = seeds }
            return candidate
        }
        try spec.validateFiles()

        observer?.note("loading model \(spec.model.path)")
        let modelDirectory = URL(fileURLWithPath: spec.model.path)
        let weightsURL = modelDirectory.appendingPathComponent("model.safetensors")
        let config = try BertConfig.load(from: modelDirectory.appendingPathComponent("config.json"))
        // The weights file is memory-mapped: read what is needed, then let it go (its pages would
        // otherwise count in every candidate's peak memory).
        let (base, pooler) = try { () throws -> (EncoderParameters, ClassificationHead.Pooler) in
            let file = try SafeTensorsFile(contentsOf: weightsURL)
            return (try EncoderParameters.load(from: file, config: config), try ClassificationHead.Pooler(from: file, config: config))
        }()
        let tokenizer = try WordPieceTokenizer.load(modelDirectory: modelDirectory)
        guard spec.model.maxLength <= config.maxPositionEmbeddings else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["model"], field: "model.max_length",
                             message: "\(spec.model.maxLength) exceeds the model's \(config.maxPositionEmbeddings) positions (config.json max_position_embeddings)")
        }
        let maxLength = min(spec.model.maxLength, config.maxPositionEmbeddings - maxPromptTokens(candidates))
        try validateSizes(tokenizer: tokenizer, config: config, candidates: candidates, maxLength: maxLength)
        if maxLength < spec.model.maxLength {
            observer?.note("note: sequences are cut to \(maxLength) tokens (max_length \(spec.model.maxLength)) so that \(maxPromptTokens(candidates)) virtual tokens fit the model's \(config.maxPositionEmbeddings) positions")
        }

        observer?.note("loading data")
        let task = try TaskData.load(spec.task)
        let retentionData = try RetentionData.load(spec.retention)
        if let oneFile = spec.task.oneFile {
            observer?.note("split \(oneFile.file.path) by content hash\(oneFile.stratify ? ", per class" : ""): "
                + "\(task.train.count) train, \(task.validation.count) validation, \(task.test.count) test")
        }
        for warning in task.warnings { observer?.note("warning: \(warning)") }
        if !task.contamination.isEmpty {
            observer?.note("warning: \(task.contamination.count) exact duplicate text(s) between train and validation/test (contamination), e.g. \(task.contamination[0].id) = \(task.contamination[0].trainID)")
        }
        func encode(_ examples: [Example]) -> [TrainingExample] {
            examples.map { TrainingExample(ids: tokenizer.encode($0.text, maxLength: maxLength), label: Int32($0.label)) }
        }
        let train = encode(task.train), validation = encode(task.validation), test = encode(task.test)

        let retentionLength = min(RetentionMeasurement.maxLength, config.maxPositionEmbeddings - maxPromptTokens(candidates))
        var retention = RetentionMeasurement(data: retentionData, tokenizer: tokenizer, maxLength: retentionLength)
        if !retention.isEmpty {
            observer?.note("measuring the base model's retention checks")
            retention.measureBase(with: SentenceEmbedder(tokenizer: tokenizer, encoder: BertEncoder(parameters: base)))
        }

        var results: [CandidateResult] = []
        for (index, candidate) in candidates.enumerated() {
            observer?.candidateStarted(candidate.name, method: candidate.method.rawValue, index: index, count: candidates.count)
            let result = runCandidate(candidate, base: base, pooler: pooler, config: config, tokenizer: tokenizer,
                                      train: train, validation: validation, test: test, testExamples: task.test,
                                      labelCount: task.labels.count, retention: retention)
            observer?.candidateFinished(candidate.name, status: result.status, seconds: result.training?.seconds ?? 0,
                                        detail: result.error ?? result.metrics.map { String(format: "accuracy %.3f", $0.accuracy.value) } ?? "")
            results.append(result)
        }

        // Comparisons: every candidate against the prompt-tuned one and against the baseline run.
        let classCount = task.labels.count
        let comparison = spec.comparison
        let promptName = candidates.first { $0.method == .prompt }?.name
        for index in results.indices {
            var comparisons: [Comparison] = []
            let name = results[index].name
            if let promptName, name != promptName, let reference = results.first(where: { $0.name == promptName }),
               let paired = CandidateComparison.compare(results[index], with: reference, against: "prompt-baseline", classCount: classCount,
                                                        margins: nonInferiorityMargins(of: name, against: "prompt"),
                                                        labels: task.labels, positiveClass: spec.task.positiveClass,
                                                        resamples: comparison.bootstrapResamples, confidence: comparison.confidence, seed: seed) {
                comparisons.append(paired)
            }
            if let baselineRun = options.baseline, let reference = baselineRun.candidate(named: results[index].name),
               let paired = CandidateComparison.compare(results[index], with: reference, against: "baseline-run", classCount: classCount,
                                                        margins: nonInferiorityMargins(of: name, against: "baseline"),
                                                        labels: task.labels, positiveClass: spec.task.positiveClass,
                                                        resamples: comparison.bootstrapResamples, confidence: comparison.confidence, seed: seed) {
                comparisons.append(paired)
            }
            results[index].comparisons = comparisons
        }

        var run = RunResult(
            suite: SuiteIdentity(name: spec.name, path: spec.sourcePath, contentSHA256: spec.contentSHA256),
            model: ModelIdentity(path: spec.model.path, sha256: SHA256.hex(ofFileAt: weightsURL.path) ?? "",
                                 parameters: base.layout.totalCount + config.hiddenSize * (config.hiddenSize + 1)),
            data: task.files + retentionData.files,
            environment: Self.environment(threads: options.threads),
            startedAt: ISO8601DateFormatter().string(from: started),
            durationSeconds: 0, seed: seed, labels: task.labels, candidates: results, checks: [])
        run.positiveLabel = spec.task.positiveLabel
        run.splits = task.splits
        run.contamination = task.contamination.map { ContaminatedExample(split: $0.split, id: $0.id, trainID: $0.trainID) }
        let unselected = spec.candidates.map(\.name).filter { name in !candidates.contains { $0.name == name } }
        run.unselectedCandidates = unselected.isEmpty ? nil : unselected
        run.checks = Gate.evaluate(spec.checks, result: run, baseline: options.baseline,
                                   resamples: comparison.bootstrapResamples, confidence: comparison.confidence, seed: seed,
                                   multipleTesting: comparison.multipleTesting, calibration: options.calibration)
        run.durationSeconds = Date().timeIntervalSince(started)
        return run
    }

    private func selectedCandidates() throws -> [CandidateSpec] {
        guard let names = options.candidates else { return spec.candidates }
        guard !names.isEmpty else {
            throw SuiteError(file: spec.sourcePath, field: "candidates", message: "--candidates selects no candidate")
        }
        for name in names where spec.candidate(named: name) == nil {
            throw SuiteError(file: spec.sourcePath, field: "candidates",
                             message: "--candidates names \"\(name)\", which the suite does not define (it has \(spec.candidates.map(\.name).joined(separator: ", ")))")
        }
        return spec.candidates.filter { names.contains($0.name) }
    }

    /// The boundary where the tokenizer, the model and the suite meet: every token id must index the
    /// embedding table, the virtual tokens plus [CLS] and [SEP] must fit the position table, and each
    /// candidate's training batch must fit the machine's memory. Checked once here so that no kernel
    /// ever sees an out-of-range index and no allocation is attempted that cannot succeed.
    private func validateSizes(tokenizer: WordPieceTokenizer, config: BertConfig, candidates: [CandidateSpec],
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

    /// The margins of the suite's `non_inferior_to: reference` checks on prediction metrics that apply
    /// to `candidate`, by metric (the smallest where several checks name one metric): the
    /// comparisons record their decisions beside the paired differences.
    private func nonInferiorityMargins(of candidate: String, against reference: String) -> [String: Double] {
        var margins: [String: Double] = [:]
        for check in spec.checks
        where Gate.predictionMetric(check.metric, labels: spec.task.labels, positiveClass: spec.task.positiveClass) != nil
            && (check.candidates?.contains(candidate) ?? true) {
            if case .nonInferior(reference, let margin) = check.kind {
                margins[check.metric] = min(margins[check.metric] ?? margin, margin)
            }
        }
        return margins
    }

    private func maxPromptTokens(_ candidates: [CandidateSpec]) -> Int {
        candidates.map(\.virtualTokenCount).max() ?? 0
    }

    /// Trains and measures one candidate on each of its seeds; a seed that fails makes the candidate
    /// failed (the error names the seed), and the other seeds still run.
    private func runCandidate(_ candidate: CandidateSpec, base: EncoderParameters, pooler: ClassificationHead.Pooler,
                              config: BertConfig, tokenizer: WordPieceTokenizer, train: [TrainingExample],
                              validation: [TrainingExample], test: [TrainingExample], testExamples: [Example],
                              labelCount: Int, retention: RetentionMeasurement) -> CandidateResult {
        var result = CandidateResult(name: candidate.name, method: candidate.method.rawValue, status: .ok,
                                     settings: candidate.settings, configHash: candidate.configHash,
                                     trainableParameters: 0, baseWeightBytes: base.layout.totalCount * 4)
        // The run's seed (suite or --seed), set on every candidate by `run()`.
        let seed = candidate.training.seed
        let seeds = ReplicateSeeds.trainingSeeds(suiteSeed: seed, count: candidate.training.seeds)
        for (index, trainingSeed) in seeds.enumerated() {
            let label = seeds.count == 1 ? candidate.name : "\(candidate.name) seed \(index + 1)/\(seeds.count)"
            var run = SeedRun(seed: trainingSeed, status: .ok)
            do {
                let model = try trainAndMeasure(candidate, trainingSeed: trainingSeed, label: label, base: base, pooler: pooler,
                                                tokenizer: tokenizer, train: train, validation: validation, test: test,
                                                testExamples: testExamples, labelCount: labelCount, retention: retention, into: &run)
                result.trainableParameters = model.trainableParameterCount
                if let qlora = model.lora as? QLoRAAdapter {
                    result.baseWeightBytes = base.layout.totalCount * 4 - qlora.fullPrecisionBaseBytes + qlora.quantizedBaseBytes
                }
                // The first seed's adapter is the one saved: the others measure variance, not a better model.
                if index == 0, let directory = options.adaptersDirectory {
                    try AdapterExport.save(model, labels: spec.task.labels, baseModelDirectory: URL(fileURLWithPath: spec.model.path),
                                           to: directory.appendingPathComponent(candidate.name))
                }
            } catch {
                run.status = .failed
                run.error = "\(error)"
                result.status = .failed
                let which = seeds.count == 1 ? "" : "seed \(index + 1) of \(seeds.count) (training seed \(trainingSeed)): "
                result.error = result.error ?? which + "\(error)"
            }
            result.seedRuns.append(run)
        }
        let completed = result.completedSeedRuns
        if !completed.isEmpty {
            let summary = SeedAggregation.summarize(completed, labels: spec.task.labels, positiveClass: spec.task.positiveClass, resamples: spec.comparison.bootstrapResamples,
                                                    level: spec.comparison.confidence, seed: seed)
            result.metrics = summary.metrics
            result.perClassMetrics = summary.perClassMetrics
            result.positiveClass = summary.positiveClass
            result.report = summary.report
            result.forgetting = summary.forgetting
            result.training = summary.training
            result.overfitting = summary.overfitting
        }
        return result
    }

    /// One seed of a candidate: trains it, then fills `run` with its history, test predictions,
    /// metrics and retention scores. Returns the trained model (for export).
    private func trainAndMeasure(_ candidate: CandidateSpec, trainingSeed: UInt64, label: String, base: EncoderParameters,
                                 pooler: ClassificationHead.Pooler, tokenizer: WordPieceTokenizer, train: [TrainingExample],
                                 validation: [TrainingExample], test: [TrainingExample], testExamples: [Example],
                                 labelCount: Int, retention: RetentionMeasurement, into run: inout SeedRun) throws -> TrainableModel {
        PeakMemory.reset()
        let initializationSeed = ReplicateSeeds.initializationSeed(trainingSeed: trainingSeed, candidateName: candidate.name)
        let head = ClassificationHead(pooler: pooler, classCount: labelCount, seed: initializationSeed)
        var trainClassCounts = [Int](repeating: 0, count: labelCount)
        for example in train { trainClassCounts[Int(example.label)] += 1 }
        head.classWeights = candidate.training.classWeights.weights(trainCounts: trainClassCounts)?.map(Float.init)
        let model = try TrainableModel(method: try Self.method(candidate), base: base, head: head, tokenizer: tokenizer,
                                       seed: initializationSeed)
        let trainer = Trainer(model: model, settings: Self.trainerSettings(candidate.training, seed: trainingSeed))
        let outcome = try trainer.train(train, validation: validation) { [weak observer] progress in
            observer?.training(label, progress)
        }
        let history = outcome.history.map { EpochRecord(trainLoss: $0.trainLoss, validationLoss: $0.validationLoss,
                                                        trainAccuracy: $0.trainAccuracy, validationAccuracy: $0.validationAccuracy) }

        // Test predictions through the shared inference path.
        let (predictions, threshold) = predict(model.classifier, test: test, examples: testExamples, validation: validation)
        run.threshold = threshold
        let labels = predictions.map(\.label), predicted = predictions.map(\.predicted), probabilities = predictions.map(\.probabilities)
        run.predictions = predictions
        // Bootstrapped with the run's seed, as the candidate's seed-mean is: with one seed the two are equal.
        run.metrics = HeadlineMetrics.compute(labels: labels, predicted: predicted, probabilities: probabilities,
                                              classCount: labelCount, resamples: spec.comparison.bootstrapResamples,
                                              level: spec.comparison.confidence, seed: candidate.training.seed)
        run.report = ClassificationMetrics.compute(labels: labels, predicted: predicted, probabilities: probabilities, classCount: labelCount)
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

    /// Test predictions under the task's decision rule: the most probable class, or the positive
    /// class when its probability reaches the threshold chosen on validation (returned).
    private func predict(_ classifier: SequenceClassifier, test: [TrainingExample], examples: [Example],
                         validation: [TrainingExample]) -> (predictions: [Prediction], threshold: ChosenThreshold?) {
        var threshold: ChosenThreshold?
        if spec.task.threshold == .optimizeF1, let positive = spec.task.positiveClass {
            let scores = probabilities(classifier, of: validation).map { $0[positive] }
            threshold = ChosenThreshold.optimizingF1(validationLabels: validation.map { Int($0.label) }, scores: scores,
                                                     positiveClass: positive)
        }
        let predictions = zip(examples, probabilities(classifier, of: test)).map { example, p in
            let predicted = threshold.map { $0.predictedClass(probabilities: p, positiveClass: spec.task.positiveClass!) }
                ?? p.indices.max { p[$0] < p[$1] }!
            return Prediction(id: example.id, label: example.label, predicted: predicted, probabilities: p)
        }
        return (predictions, threshold)
    }

    static func method(_ candidate: CandidateSpec) throws -> FineTuningMethod {
        func lora() throws -> LoRAConfiguration {
            try LoRAConfiguration(rank: candidate.rank ?? 8, alpha: Float(candidate.alpha ?? 16),
                                  dropout: Float(candidate.loraDropout ?? 0),
                                  targets: try LoRATarget.parse(candidate.targetModules ?? ["query", "value"]))
        }
        switch candidate.method {
        case .full: return .full(freezeEmbeddings: candidate.freezeEmbeddings ?? false)
        case .lora: return .lora(try lora())
        case .qlora: return .qlora(try lora(), doubleQuantize: candidate.doubleQuantization ?? false)
        case .prompt:
            let initialization: PromptInitialization
            switch candidate.promptInit ?? .vocab {
            case .vocab: initialization = .randomVocabulary
            case .text(let text): initialization = .text(text)
            }
            return .prompt(virtualTokens: candidate.virtualTokenCount, initialization: initialization)
        }
    }

    static func trainerSettings(_ training: TrainingSettings, seed: UInt64) -> TrainerSettings {
        var settings = TrainerSettings()
        settings.epochs = training.epochs
        settings.batchSize = training.batchSize
        settings.optimizer = AdamWSettings(learningRate: Float(training.learningRate), weightDecay: Float(training.weightDecay))
        settings.schedule = LearningRateSchedule(rawValue: training.schedule.rawValue) ?? .linear
        settings.warmupRatio = training.warmupRatio
        settings.maxGradientNorm = training.maxGradNorm
        settings.hiddenDropout = Float(training.dropout.hidden)
        settings.attentionDropout = Float(training.dropout.attention)
        settings.classifierDropout = Float(training.dropout.classifier)
        settings.patience = training.patience
        settings.seed = seed
        return settings
    }

    static func environment(threads: Int) -> EnvironmentInfo {
        let cpuInfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu = cpuInfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
        var system = utsname()
        uname(&system)
        let osName = withUnsafeBytes(of: system.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let release = withUnsafeBytes(of: system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return EnvironmentInfo(cpu: cpu, threads: threads, blasCore: String(cString: openblas_get_corename()),
                               operatingSystem: "\(osName) \(release)", evalharnessVersion: EvalHarnessVersion.current,
                               blasVersion: String(cString: openblas_get_config()).trimmingCharacters(in: .whitespaces))
    }
}

/// The seeds of a candidate's repeated training runs.
///
/// Run k (0-based) trains with training seed t_k — data order and dropout — where t_0 is the suite
/// seed and t_1, t_2, … are the successive outputs of `SplitMix64(seed: suite seed)`; its head and
/// adapter are initialised from t_k XOR FNV-1a(candidate name). So a candidate's runs depend on the
/// suite seed and its own name only (never on which other candidates run), the first run of a suite
/// is exactly what a one-seed run trains, and two suite seeds give disjoint seed sets.
public enum ReplicateSeeds {
    public static func trainingSeeds(suiteSeed: UInt64, count: Int) -> [UInt64] {
        var generator = SplitMix64(seed: suiteSeed)
        return (0..<count).map { $0 == 0 ? suiteSeed : generator.next() }
    }

    public static func initializationSeed(trainingSeed: UInt64, candidateName: String) -> UInt64 {
        trainingSeed ^ UInt64(truncatingIfNeeded: candidateName.hashValueStable)
    }
}

public enum EvalHarnessVersion {
    public static let current = "0.2.0"
}

extension String {
    /// FNV-1a of the UTF-8 bytes: a per-candidate seed offset that, unlike `hashValue`, is the
    /// same in every process.
    var hashValueStable: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}

/// Peak resident memory of this process, resettable between candidates (Linux: VmHWM, reset by
/// writing 5 to /proc/self/clear_refs).
public enum PeakMemory {
    public static func reset() {
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            handle.write(Data("5".utf8))
            try? handle.close()
        }
    }

    public static func bytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
        }
        return 0
    }
}
