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
    /// Finished units are reused from and stored in this cache (nil: every unit runs).
    public var cache: UnitCache?

    public init(adaptersDirectory: URL? = nil, candidates: [String]? = nil, seed: UInt64? = nil, seeds: Int? = nil,
                threads: Int, baseline: RunResult? = nil, calibration: CalibrationResult? = nil, cache: UnitCache? = nil) {
        self.adaptersDirectory = adaptersDirectory; self.candidates = candidates; self.seed = seed; self.seeds = seeds
        self.threads = threads; self.baseline = baseline; self.calibration = calibration; self.cache = cache
    }
}

/// Runs a suite end to end: loads the model and data, plans the run's units (the base model's
/// retention measurement, then every candidate's seeds; `RunPlan`), executes them — from the
/// cache when a unit's key is there — and assembles the result (`RunAssembly`: seed
/// aggregation, comparisons with the prompt-tuned candidate and the baseline run, the checks). A
/// candidate that fails (e.g. its loss becomes NaN) is reported with its error; the others still
/// run. `runShard` executes one shard's units only, for `merge` to assemble.
public final class SuiteRunner {
    public let spec: SuiteSpec
    public let options: RunOptions
    public weak var observer: RunProgressObserver?

    public init(spec: SuiteSpec, options: RunOptions, observer: RunProgressObserver? = nil) {
        self.spec = spec
        self.options = options
        self.observer = observer
    }

    /// The whole run: every unit, then the assembled result.
    public func run() throws -> RunResult {
        let started = Date()
        let prepared = try prepare()
        let results = try execute(prepared, units: prepared.plan.units)
        var run = RunAssembly(spec: spec, candidates: prepared.candidates, facts: prepared.facts,
                              baseline: options.baseline, calibration: options.calibration).assemble(results)
        run.durationSeconds = Date().timeIntervalSince(started)
        return run
    }

    /// Shard `index` (0-based) of `count`: its units only, with what `merge` needs to assemble.
    public func runShard(index: Int, count: Int) throws -> ShardResult {
        let started = Date()
        let prepared = try prepare()
        let units = prepared.plan.shard(index, of: count)
        observer?.note("shard \(index + 1) of \(count): \(units.count) of \(prepared.plan.units.count) units (\(units.map(\.id).joined(separator: ", ")))")
        let results = try execute(prepared, units: units)
        return ShardResult(fingerprint: prepared.fingerprint, index: index, count: count, plan: prepared.plan,
                           facts: prepared.facts, results: results, seconds: Date().timeIntervalSince(started))
    }

    /// The plan alone (loads the model and the data to compute the keys; trains nothing).
    public func plan() throws -> (plan: RunPlan, fingerprint: RunFingerprint) {
        let prepared = try prepare()
        return (prepared.plan, prepared.fingerprint)
    }

    /// The suite's candidates after `--candidates`, with `--seed` and `--seeds` applied: recorded in
    /// each candidate's settings like the suite's own.
    public static func resolveCandidates(_ spec: SuiteSpec, candidates names: [String]?, seed: UInt64?, seeds: Int?) throws -> [CandidateSpec] {
        var selected = spec.candidates
        if let names {
            guard !names.isEmpty else {
                throw SuiteError(file: spec.sourcePath, field: "candidates", message: "--candidates selects no candidate")
            }
            for name in names where spec.candidate(named: name) == nil {
                throw SuiteError(file: spec.sourcePath, field: "candidates",
                                 message: "--candidates names \"\(name)\", which the suite does not define (it has \(spec.candidates.map(\.name).joined(separator: ", ")))")
            }
            selected = spec.candidates.filter { names.contains($0.name) }
        }
        return selected.map { candidate in
            var candidate = candidate
            candidate.training.seed = seed ?? spec.seed
            if let seeds { candidate.training.seeds = seeds }
            return candidate
        }
    }

    // MARK: Preparation

    /// Everything the units need, loaded once: the model, the tokenised splits, the retention data,
    /// the facts every output records and the plan.
    final class Prepared {
        let candidates: [CandidateSpec]
        let config: BertConfig
        let base: EncoderParameters
        let pooler: ClassificationHead.Pooler
        let tokenizer: WordPieceTokenizer
        let train: [TrainingExample], validation: [TrainingExample], test: [TrainingExample]
        let testExamples: [Example]
        let labelCount: Int
        var retention: RetentionMeasurement
        let facts: RunFacts
        let fingerprint: RunFingerprint
        let plan: RunPlan

        init(candidates: [CandidateSpec], config: BertConfig, base: EncoderParameters, pooler: ClassificationHead.Pooler,
             tokenizer: WordPieceTokenizer, train: [TrainingExample], validation: [TrainingExample], test: [TrainingExample],
             testExamples: [Example], labelCount: Int, retention: RetentionMeasurement, facts: RunFacts,
             fingerprint: RunFingerprint, plan: RunPlan) {
            self.candidates = candidates; self.config = config; self.base = base; self.pooler = pooler; self.tokenizer = tokenizer
            self.train = train; self.validation = validation; self.test = test; self.testExamples = testExamples
            self.labelCount = labelCount; self.retention = retention; self.facts = facts; self.fingerprint = fingerprint
            self.plan = plan
        }
    }

    func prepare() throws -> Prepared {
        let started = Date()
        Parallel.configure(threads: options.threads)
        let seed = options.seed ?? spec.seed
        let candidates = try Self.resolveCandidates(spec, candidates: options.candidates, seed: options.seed, seeds: options.seeds)
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
        let retentionLength = min(RetentionMeasurement.maxLength, config.maxPositionEmbeddings - maxPromptTokens(candidates))
        let retention = RetentionMeasurement(data: retentionData, tokenizer: tokenizer, maxLength: retentionLength)

        let environment = Self.environment(threads: options.threads)
        let modelIdentity = ModelIdentity(path: spec.model.path, sha256: SHA256.hex(ofFileAt: weightsURL.path) ?? "",
                                          parameters: base.layout.totalCount + config.hiddenSize * (config.hiddenSize + 1))
        let unselected = spec.candidates.map(\.name).filter { name in !candidates.contains { $0.name == name } }
        let facts = RunFacts(
            suite: SuiteIdentity(name: spec.name, path: spec.sourcePath, contentSHA256: spec.contentSHA256),
            model: modelIdentity, data: task.files + retentionData.files, environment: environment,
            startedAt: ISO8601DateFormatter().string(from: started), seed: seed, labels: task.labels,
            positiveLabel: spec.task.positiveLabel, splits: task.splits,
            contamination: task.contamination.map { ContaminatedExample(split: $0.split, id: $0.id, trainID: $0.trainID) },
            unselectedCandidates: unselected.isEmpty ? nil : unselected,
            options: RunFacts.Options(candidates: options.candidates, seed: options.seed, seeds: options.seeds))

        // Keys: everything a unit's result depends on (see `UnitKey`).
        var retentionKey = UnitKey(kind: .retention)
        var shared = UnitKey(kind: .train)
        for line in [("tool", EvalHarnessVersion.current), ("kernels", environment.blasCore), ("threads", String(options.threads)),
                     ("model", modelIdentity.sha256)] {
            retentionKey.add(line.0, line.1)
            shared.add(line.0, line.1)
        }
        retentionKey.add("retention.max_length", String(retentionLength))
        for file in retentionData.files { retentionKey.add("retention.\(file.role)", "\(file.sha256) \(file.examples)") }
        for (name, examples) in [("train", task.train), ("validation", task.validation), ("test", task.test)] {
            shared.add("task.\(name)", ExampleDigest.of(examples))
        }
        shared.add("task.labels", task.labels.joined(separator: "\u{1F}"))
        shared.add("task.max_length", String(maxLength))
        shared.add("task.decision", spec.task.threshold.rawValue + (spec.task.positiveLabel.map { ":" + $0 } ?? ""))
        shared.add("retention", retention.isEmpty ? "none" : retentionKey.hex)
        shared.add("comparison", "\(spec.comparison.bootstrapResamples) \(spec.comparison.confidence)")

        let (train, validation, test) = (encode(task.train), encode(task.validation), encode(task.test))
        // Cost grows with the tokens actually processed: the mean training length, not max_length.
        let meanTokens = Double(train.reduce(0) { $0 + $1.ids.count }) / Double(max(train.count, 1))
        var units: [WorkUnit] = []
        if !retention.isEmpty {
            units.append(.retention(key: retentionKey.hex, cost: Double(retention.textCount)))
        }
        for candidate in candidates {
            let trainingSeeds = ReplicateSeeds.trainingSeeds(suiteSeed: seed, count: candidate.training.seeds)
            let cost = Self.estimatedCost(candidate, trainCount: task.train.count, evaluationCount: task.validation.count + task.test.count,
                                          tokens: meanTokens, retentionTexts: retention.textCount)
            for (index, trainingSeed) in trainingSeeds.enumerated() {
                var key = shared
                key.add("candidate", candidate.configHash)
                key.add("training_seed", String(trainingSeed))
                units.append(.train(candidate.name, seedIndex: index, seedCount: trainingSeeds.count, trainingSeed: trainingSeed,
                                    key: key.hex, cost: cost))
            }
        }
        return Prepared(candidates: candidates, config: config, base: base, pooler: pooler, tokenizer: tokenizer,
                        train: train, validation: validation, test: test,
                        testExamples: task.test, labelCount: task.labels.count, retention: retention, facts: facts,
                        fingerprint: RunFingerprint(facts: facts), plan: RunPlan(units: units))
    }

    /// Relative cost of one training unit: example passes through the encoder — training about two
    /// to three forward passes' worth each (backward included; full fine-tuning the most), then
    /// validation every epoch, the final evaluation and retention — scaled by the tokens each example
    /// carries (its mean length plus a prompt's virtual tokens). The factors are rough: on the
    /// rare-food example prompt tuning took about twice LoRA's time per seed, which the virtual
    /// tokens on 15-token glosses account for.
    static func estimatedCost(_ candidate: CandidateSpec, trainCount: Int, evaluationCount: Int, tokens: Double, retentionTexts: Int) -> Double {
        let trainingFactor: Double = switch candidate.method {
        case .full: 3
        case .lora: 2.2
        case .qlora: 2.6
        case .prompt: 2.2
        }
        let passes = Double(candidate.training.epochs) * (Double(trainCount) * trainingFactor + Double(evaluationCount))
            + Double(evaluationCount + retentionTexts)
        return passes * (tokens + Double(candidate.virtualTokenCount)) / 64
    }

    // MARK: Execution

    /// Runs `units` in plan order (cache first), grouping a candidate's progress lines.
    func execute(_ prepared: Prepared, units: [WorkUnit]) throws -> [UnitResult] {
        var results: [UnitResult] = []
        let trained = units.filter { $0.kind == .train }
        let candidateOrder = prepared.candidates.map(\.name).filter { name in trained.contains { $0.candidate == name } }
        for unit in units {
            switch unit.kind {
            case .retention:
                if let cached = cache?.lookup(unit) {
                    observer?.note("retention of the base model: cached")
                    results.append(cached)
                } else {
                    measureBase(prepared)
                    let result = UnitResult(unit: unit, baseScores: prepared.retention.baseScores)
                    if let problem = cache?.store(result) { observer?.note("warning: \(problem)") }
                    results.append(result)
                }
            case .train:
                let name = unit.candidate!, candidate = prepared.candidates.first { $0.name == name }!
                if trained.first(where: { $0.candidate == name }) == unit {
                    observer?.candidateStarted(name, method: candidate.method.rawValue, index: candidateOrder.firstIndex(of: name)!,
                                               count: candidateOrder.count)
                }
                results.append(try trainUnit(unit, candidate: candidate, prepared: prepared))
                if trained.last(where: { $0.candidate == name }) == unit {
                    reportFinished(name, results.filter { $0.unit.candidate == name })
                }
            }
        }
        return results
    }

    private func reportFinished(_ name: String, _ own: [UnitResult]) {
        let failed = own.first { $0.seedRun?.status == .failed }
        let accuracies = own.compactMap { $0.seedRun?.metrics?.accuracy.value }
        var detail = failed?.seedRun?.error
            ?? (accuracies.isEmpty ? "" : String(format: "accuracy %.3f", accuracies.reduce(0, +) / Double(accuracies.count)))
        let cachedCount = own.count { $0.cached }
        if cachedCount > 0 { detail += cachedCount == own.count ? " (cached)" : " (\(cachedCount) of \(own.count) seeds cached)" }
        let seconds = own.filter { !$0.cached }.reduce(0.0) { $0 + ($1.seedRun?.training?.seconds ?? 0) }
        observer?.candidateFinished(name, status: failed == nil ? .ok : .failed, seconds: seconds, detail: detail)
    }

    private var cache: UnitCache? { options.cache }

    private func measureBase(_ prepared: Prepared) {
        guard !prepared.retention.isMeasured, !prepared.retention.isEmpty else { return }
        observer?.note("measuring the base model's retention checks")
        prepared.retention.measureBase(with: SentenceEmbedder(tokenizer: prepared.tokenizer, encoder: BertEncoder(parameters: prepared.base)))
    }

    /// One training unit: from the cache, or trained, measured, exported (the first seed) and stored.
    private func trainUnit(_ unit: WorkUnit, candidate: CandidateSpec, prepared: Prepared) throws -> UnitResult {
        let exportsAdapter = unit.seedIndex == 0 && options.adaptersDirectory != nil
        let label = unit.seedCount == 1 ? candidate.name : "\(candidate.name) seed \(unit.seedIndex! + 1)/\(unit.seedCount!)"
        // A hit without the adapter this run must export trains again.
        let cachedAdapter = exportsAdapter ? cache?.adapter(unit) : nil
        if let cache, !exportsAdapter || cachedAdapter != nil, let cached = cache.lookup(unit) {
            if let adapter = cachedAdapter, let directory = options.adaptersDirectory {
                let destination = directory.appendingPathComponent(candidate.name)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try? FileManager.default.removeItem(at: destination)
                try FileManager.default.copyItem(at: adapter, to: destination)
            }
            observer?.note("\(label): cached")
            return cached
        }
        measureBase(prepared)
        var run = SeedRun(seed: unit.trainingSeed!, status: .ok)
        var result = UnitResult(unit: unit, baseWeightBytes: prepared.base.layout.totalCount * 4)
        var exported: URL?
        do {
            let model = try trainAndMeasure(candidate, trainingSeed: unit.trainingSeed!, label: label, prepared: prepared, into: &run)
            result.trainableParameters = model.trainableParameterCount
            if let qlora = model.lora as? QLoRAAdapter {
                result.baseWeightBytes = prepared.base.layout.totalCount * 4 - qlora.fullPrecisionBaseBytes + qlora.quantizedBaseBytes
            }
            // The first seed's adapter is the one saved: the others measure variance, not a better model.
            if exportsAdapter, let directory = options.adaptersDirectory {
                let destination = directory.appendingPathComponent(candidate.name)
                try AdapterExport.save(model, labels: spec.task.labels, baseModelDirectory: URL(fileURLWithPath: spec.model.path),
                                       to: destination)
                exported = destination
            }
        } catch {
            run.status = .failed
            run.error = "\(error)"
        }
        result.seedRun = run
        // A failed unit is not stored: the next run tries again.
        if run.status == .ok, let problem = cache?.store(result, adapter: exported) { observer?.note("warning: \(problem)") }
        return result
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

    private func maxPromptTokens(_ candidates: [CandidateSpec]) -> Int {
        candidates.map(\.virtualTokenCount).max() ?? 0
    }

    /// One seed of a candidate: trains it, then fills `run` with its history, test predictions,
    /// metrics and retention scores. Returns the trained model (for export).
    private func trainAndMeasure(_ candidate: CandidateSpec, trainingSeed: UInt64, label: String, prepared: Prepared,
                                 into run: inout SeedRun) throws -> TrainableModel {
        let (base, pooler, tokenizer, labelCount) = (prepared.base, prepared.pooler, prepared.tokenizer, prepared.labelCount)
        let (train, validation, test, testExamples) = (prepared.train, prepared.validation, prepared.test, prepared.testExamples)
        let retention = prepared.retention
        PeakMemory.reset()
        let initializationSeed = ReplicateSeeds.initializationSeed(trainingSeed: trainingSeed, candidateName: candidate.name)
        let head = ClassificationHead(pooler: pooler, classCount: labelCount, seed: initializationSeed)
        // Balanced weights from the training split's class counts, counted once when the data loaded.
        head.classWeights = candidate.training.classWeights.weights(trainCounts: prepared.facts.splits.train)?.map(Float.init)
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
