import Foundation

/// Everything one `evalharness compare` run measured: what `results.json` holds. Versioned by
/// `schemaVersion`; documented field by field in `suites/README.md`. Keys are snake_case.
///
/// Version 2 trains every candidate on one or more seeds: each seed's metrics, history and
/// predictions are in `candidates[].seed_runs`, and the candidate's headline numbers are means over
/// seeds. Version 1 files (one seed, predictions on the candidate) are read as version 2 with one
/// seed run, so a baseline stored by an older release keeps working.
public struct RunResult: Codable, Equatable, Sendable {
    public static let currentSchemaVersion = 2
    /// Every version `init(from:)` reads.
    public static let readableSchemaVersions = 1...2

    public var schemaVersion: Int
    public var suite: SuiteIdentity
    public var model: ModelIdentity
    public var data: [DataFileIdentity]
    public var environment: EnvironmentInfo
    /// ISO 8601 start time and wall-clock duration of the run.
    public var startedAt: String
    public var durationSeconds: Double
    public var seed: UInt64
    /// Class names, index = class id.
    public var labels: [String]
    /// How the examples were divided into splits and the class counts of each (absent in older files).
    public var splits: DataSplits?
    /// A binary task's positive class (`task.positive_label`): `roc_auc` and `pr_auc` are its.
    public var positiveLabel: String?
    /// The positive label's class index.
    public var positiveClass: Int? { positiveLabel.flatMap { labels.firstIndex(of: $0) } }
    public var candidates: [CandidateResult]
    public var checks: [CheckResult]
    /// Validation or test examples whose text exactly repeats a training text (absent: none checked).
    public var contamination: [ContaminatedExample]?
    /// The suite's candidates that `--candidates` left out of this run: checks on them are skipped,
    /// not errors (absent: every candidate ran).
    public var unselectedCandidates: [String]?
    /// The git commit and branch of the suite's work tree (or CI's variables) when the run started
    /// (absent: not in a work tree). The run history's trend labels its runs with it.
    public var revision: SourceRevision?
    /// "generation" for a task answered by generating text (`labels` is then empty and each
    /// candidate has `generation_metrics`); absent for classification.
    public var taskType: String?
    /// Whether the task is answered by generating text rather than by choosing a class.
    public var isGeneration: Bool { taskType == "generation" }

    public init(schemaVersion: Int = RunResult.currentSchemaVersion, suite: SuiteIdentity, model: ModelIdentity,
                data: [DataFileIdentity], environment: EnvironmentInfo, startedAt: String, durationSeconds: Double,
                seed: UInt64, labels: [String], candidates: [CandidateResult], checks: [CheckResult]) {
        self.schemaVersion = schemaVersion
        self.suite = suite
        self.model = model
        self.data = data
        self.environment = environment
        self.startedAt = startedAt
        self.durationSeconds = durationSeconds
        self.seed = seed
        self.labels = labels
        self.candidates = candidates
        self.checks = checks
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", suite, model, data, environment
        case startedAt = "started_at", durationSeconds = "duration_s", seed, labels, candidates, checks, contamination
        case positiveLabel = "positive_label", splits
        case unselectedCandidates = "unselected_candidates", revision, taskType = "task_type"
    }

    public func candidate(named name: String) -> CandidateResult? { candidates.first { $0.name == name } }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        guard Self.readableSchemaVersions.contains(schemaVersion) else {
            throw DecodingError.dataCorruptedError(
                forKey: .schemaVersion, in: c,
                debugDescription: "schema_version \(schemaVersion) is not supported (this release reads \(Self.readableSchemaVersions.lowerBound)–\(Self.readableSchemaVersions.upperBound))")
        }
        suite = try c.decode(SuiteIdentity.self, forKey: .suite)
        model = try c.decode(ModelIdentity.self, forKey: .model)
        data = try c.decode([DataFileIdentity].self, forKey: .data)
        environment = try c.decode(EnvironmentInfo.self, forKey: .environment)
        startedAt = try c.decode(String.self, forKey: .startedAt)
        durationSeconds = try c.decode(Double.self, forKey: .durationSeconds)
        seed = try c.decode(UInt64.self, forKey: .seed)
        labels = try c.decode([String].self, forKey: .labels)
        positiveLabel = try c.decodeIfPresent(String.self, forKey: .positiveLabel)
        splits = try c.decodeIfPresent(DataSplits.self, forKey: .splits)
        candidates = try c.decode([CandidateResult].self, forKey: .candidates)
        checks = try c.decode([CheckResult].self, forKey: .checks)
        contamination = try c.decodeIfPresent([ContaminatedExample].self, forKey: .contamination)
        unselectedCandidates = try c.decodeIfPresent([String].self, forKey: .unselectedCandidates)
        revision = try c.decodeIfPresent(SourceRevision.self, forKey: .revision)
        taskType = try c.decodeIfPresent(String.self, forKey: .taskType)
        if schemaVersion == 1 {
            // A version-1 run trained each candidate once, with the run's seed.
            for index in candidates.indices {
                for run in candidates[index].seedRuns.indices { candidates[index].seedRuns[run].seed = seed }
            }
            schemaVersion = Self.currentSchemaVersion
        }
    }
}

/// How the task's examples were divided, and how many of each class each split holds after
/// `limit:` (results.json `splits`).
public struct DataSplits: Codable, Equatable, Sendable {
    /// "files": three files as given; "content_hash": one file divided by `HashSplit`.
    public var method: String
    /// The one file (content_hash only), the shares asked for and whether per class.
    public var file: String?
    public var validationShare: Double?
    public var testShare: Double?
    public var stratified: Bool?
    /// Whether ids were generated from the records' content (the file had none).
    public var generatedIDs: Bool?
    /// Examples per class (index = class id) in each split.
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]

    public init(method: String, file: String? = nil, validationShare: Double? = nil, testShare: Double? = nil,
                stratified: Bool? = nil, generatedIDs: Bool? = nil, train: [Int], validation: [Int], test: [Int]) {
        self.method = method; self.file = file; self.validationShare = validationShare; self.testShare = testShare
        self.stratified = stratified; self.generatedIDs = generatedIDs
        self.train = train; self.validation = validation; self.test = test
    }

    enum CodingKeys: String, CodingKey {
        case method, file, validationShare = "validation_share", testShare = "test_share", stratified
        case generatedIDs = "generated_ids", train, validation, test
    }

    /// The splits by name with their per-class counts, in train, validation, test order.
    public var counts: [(split: String, perClass: [Int])] { [("train", train), ("validation", validation), ("test", test)] }
}

/// An evaluation example that is an exact duplicate of a training example's text.
public struct ContaminatedExample: Codable, Equatable, Sendable {
    /// "validation" or "test".
    public var split: String
    public var id: String
    public var trainID: String
    public init(split: String, id: String, trainID: String) { self.split = split; self.id = id; self.trainID = trainID }
    enum CodingKeys: String, CodingKey { case split, id, trainID = "train_id" }
}

public struct SuiteIdentity: Codable, Equatable, Sendable {
    public var name: String
    public var path: String
    /// SHA-256 of the suite file's bytes.
    public var contentSHA256: String
    public init(name: String, path: String, contentSHA256: String) { self.name = name; self.path = path; self.contentSHA256 = contentSHA256 }
    enum CodingKeys: String, CodingKey { case name, path, contentSHA256 = "content_sha256" }
}

public struct ModelIdentity: Codable, Equatable, Sendable {
    public var path: String
    /// SHA-256 of model.safetensors.
    public var sha256: String
    public var parameters: Int
    public init(path: String, sha256: String, parameters: Int) { self.path = path; self.sha256 = sha256; self.parameters = parameters }
}

public struct DataFileIdentity: Codable, Equatable, Sendable {
    /// train, validation, test, or a retention check's name.
    public var role: String
    public var path: String
    public var sha256: String
    public var examples: Int
    public init(role: String, path: String, sha256: String, examples: Int) { self.role = role; self.path = path; self.sha256 = sha256; self.examples = examples }
}

public struct EnvironmentInfo: Codable, Equatable, Sendable {
    public var cpu: String
    public var threads: Int
    public var blasCore: String
    public var operatingSystem: String
    public var evalharnessVersion: String
    /// The BLAS library's own description of its build, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH …".
    public var blasVersion: String?
    public init(cpu: String, threads: Int, blasCore: String, operatingSystem: String, evalharnessVersion: String,
                blasVersion: String? = nil) {
        self.cpu = cpu; self.threads = threads; self.blasCore = blasCore
        self.operatingSystem = operatingSystem; self.evalharnessVersion = evalharnessVersion; self.blasVersion = blasVersion
    }
    enum CodingKeys: String, CodingKey {
        case cpu, threads, blasCore = "blas_core", operatingSystem = "os", evalharnessVersion = "evalharness_version"
        case blasVersion = "blas_version"
    }

    /// What differs from `other` among the things that decide bit-reproducibility of training (thread
    /// count, BLAS kernel family, CPU model, tool version), in words: "threads 2 → 4". Two runs with
    /// the same seeds and none of these differences produce the same weights.
    public func reproducibilityDifferences(from other: EnvironmentInfo) -> [String] {
        var out: [String] = []
        if threads != other.threads { out.append("threads \(other.threads) → \(threads)") }
        if blasCore != other.blasCore { out.append("BLAS kernels \(other.blasCore) → \(blasCore)") }
        if cpu != other.cpu { out.append("CPU \(other.cpu) → \(cpu)") }
        if evalharnessVersion != other.evalharnessVersion {
            out.append("evalharness \(other.evalharnessVersion) → \(evalharnessVersion)")
        }
        return out
    }
}

/// One candidate's training, measurements and comparisons.
public struct CandidateResult: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable { case ok, failed }

    public var name: String
    /// full, lora, qlora or prompt.
    public var method: String
    public var status: Status
    /// Why the run failed (status failed), e.g. "loss became NaN at epoch 2, step 14".
    public var error: String?
    /// The method's settings after defaults were applied, as strings (e.g. "rank": "8").
    public var settings: [String: String]
    /// SHA-256 of the canonical settings text: two runs with the same hash trained the same way.
    public var configHash: String
    public var trainableParameters: Int
    /// Bytes of the frozen base weights as this method stores them (NF4 for QLoRA).
    public var baseWeightBytes: Int
    public var training: TrainingSummary?
    public var metrics: HeadlineMetrics?
    /// Precision, recall and F1 of every class with intervals (absent in files written before them).
    public var perClassMetrics: [ClassMetricValues]?
    /// ROC-AUC, PR-AUC and the decision threshold of a binary task's positive class (with `positive_label`).
    public var positiveClass: PositiveClassMetrics?
    /// A generation task's exact match, token F1, answer loss and perplexity (instead of `metrics`).
    public var generationMetrics: GenerationMetrics?
    /// Problems a reader should see next to the metrics (`ClassCollapse`), derived from
    /// `perClassMetrics`: written to results.json for its readers, never read back; nil when none.
    public var warnings: [String]? {
        let found = perClassMetrics.map(ClassCollapse.warnings) ?? []
        return found.isEmpty ? nil : found
    }
    public var report: ClassificationReport?
    public var forgetting: [ForgettingCheck]
    public var overfitting: OverfittingReport?
    public var comparisons: [Comparison]
    /// Every training seed's own results, in seed order (one entry per seed that ran).
    public var seedRuns: [SeedRun]
    /// How many of the seed runs were reused from the cache rather than trained in this run (nil: none).
    public var cachedSeeds: Int?

    /// A candidate from its seed runs: the headline fields summarise them (see `SeedAggregation`),
    /// or, with `seedRuns` empty, are given directly.
    public init(name: String, method: String, status: Status, error: String? = nil, settings: [String: String],
                configHash: String, trainableParameters: Int, baseWeightBytes: Int, training: TrainingSummary? = nil,
                metrics: HeadlineMetrics? = nil, report: ClassificationReport? = nil, forgetting: [ForgettingCheck] = [],
                overfitting: OverfittingReport? = nil, comparisons: [Comparison] = [], seedRuns: [SeedRun] = []) {
        self.name = name; self.method = method; self.status = status; self.error = error; self.settings = settings
        self.configHash = configHash; self.trainableParameters = trainableParameters; self.baseWeightBytes = baseWeightBytes
        self.training = training; self.metrics = metrics; self.report = report; self.forgetting = forgetting
        self.overfitting = overfitting; self.comparisons = comparisons; self.seedRuns = seedRuns
    }

    /// The seed runs that finished (whose predictions and metrics exist).
    public var completedSeedRuns: [SeedRun] { seedRuns.filter { $0.status == .ok } }

    enum CodingKeys: String, CodingKey {
        case name, method, status, error, settings, configHash = "config_hash"
        case trainableParameters = "trainable_parameters", baseWeightBytes = "base_weight_bytes"
        case training, metrics, perClassMetrics = "per_class_metrics", positiveClass = "positive_class", warnings, report, forgetting, overfitting, comparisons
        case generationMetrics = "generation_metrics"
        case seedRuns = "seed_runs", cachedSeeds = "cached_seeds"
        /// Version 1 only: the one run's test predictions.
        case predictions
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        method = try c.decode(String.self, forKey: .method)
        status = try c.decode(Status.self, forKey: .status)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        settings = try c.decode([String: String].self, forKey: .settings)
        configHash = try c.decode(String.self, forKey: .configHash)
        trainableParameters = try c.decode(Int.self, forKey: .trainableParameters)
        baseWeightBytes = try c.decode(Int.self, forKey: .baseWeightBytes)
        training = try c.decodeIfPresent(TrainingSummary.self, forKey: .training)
        metrics = try c.decodeIfPresent(HeadlineMetrics.self, forKey: .metrics)
        perClassMetrics = try c.decodeIfPresent([ClassMetricValues].self, forKey: .perClassMetrics)
        positiveClass = try c.decodeIfPresent(PositiveClassMetrics.self, forKey: .positiveClass)
        generationMetrics = try c.decodeIfPresent(GenerationMetrics.self, forKey: .generationMetrics)
        report = try c.decodeIfPresent(ClassificationReport.self, forKey: .report)
        forgetting = try c.decode([ForgettingCheck].self, forKey: .forgetting)
        overfitting = try c.decodeIfPresent(OverfittingReport.self, forKey: .overfitting)
        comparisons = try c.decode([Comparison].self, forKey: .comparisons)
        cachedSeeds = try c.decodeIfPresent(Int.self, forKey: .cachedSeeds)
        if let runs = try c.decodeIfPresent([SeedRun].self, forKey: .seedRuns) {
            seedRuns = runs
        } else {
            // Version 1: the candidate itself is its only seed run (the seed is set by RunResult).
            let predictions = try c.decodeIfPresent([Prediction].self, forKey: .predictions) ?? []
            seedRuns = [SeedRun(seed: 0, status: status, error: error, training: training, metrics: metrics, report: report,
                                forgetting: forgetting, overfitting: overfitting, predictions: predictions)]
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(method, forKey: .method)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(error, forKey: .error)
        try c.encode(settings, forKey: .settings)
        try c.encode(configHash, forKey: .configHash)
        try c.encode(trainableParameters, forKey: .trainableParameters)
        try c.encode(baseWeightBytes, forKey: .baseWeightBytes)
        try c.encodeIfPresent(training, forKey: .training)
        try c.encodeIfPresent(metrics, forKey: .metrics)
        try c.encodeIfPresent(perClassMetrics, forKey: .perClassMetrics)
        try c.encodeIfPresent(positiveClass, forKey: .positiveClass)
        try c.encodeIfPresent(generationMetrics, forKey: .generationMetrics)
        try c.encodeIfPresent(warnings, forKey: .warnings)
        try c.encodeIfPresent(report, forKey: .report)
        try c.encode(forgetting, forKey: .forgetting)
        try c.encodeIfPresent(overfitting, forKey: .overfitting)
        try c.encode(comparisons, forKey: .comparisons)
        try c.encode(seedRuns, forKey: .seedRuns)
        try c.encodeIfPresent(cachedSeeds, forKey: .cachedSeeds)
    }
}

/// One training run of a candidate (one seed): what version 1 recorded per candidate.
public struct SeedRun: Codable, Equatable, Sendable {
    /// The training seed (data order and dropout); the head and adapter initialisation use
    /// `seed XOR FNV-1a(candidate name)`. See `ReplicateSeeds`.
    public var seed: UInt64
    public var status: CandidateResult.Status
    public var error: String?
    public var training: TrainingSummary?
    /// This seed's metrics; their intervals cover test sampling only.
    public var metrics: HeadlineMetrics?
    public var report: ClassificationReport?
    public var forgetting: [ForgettingCheck]
    public var overfitting: OverfittingReport?
    public var predictions: [Prediction]
    /// The decision threshold this seed chose on validation and applied to its test predictions
    /// (`task.threshold`); nil: each prediction is the most probable class.
    public var threshold: ChosenThreshold?
    /// A generation task's test answers, in test order (instead of `predictions`, which stay empty).
    public var generations: [GeneratedAnswer]?

    public init(seed: UInt64, status: CandidateResult.Status, error: String? = nil, training: TrainingSummary? = nil,
                metrics: HeadlineMetrics? = nil, report: ClassificationReport? = nil, forgetting: [ForgettingCheck] = [],
                overfitting: OverfittingReport? = nil, predictions: [Prediction] = []) {
        self.seed = seed; self.status = status; self.error = error; self.training = training; self.metrics = metrics
        self.report = report; self.forgetting = forgetting; self.overfitting = overfitting; self.predictions = predictions
    }
}

/// How training went: the per-epoch history the overfitting analysis reads, and costs.
public struct TrainingSummary: Codable, Equatable, Sendable {
    public var history: [EpochRecord]
    /// 0-based epoch whose weights were kept (lowest validation loss).
    public var bestEpoch: Int
    public var earlyStopped: Bool
    public var epochsRun: Int
    public var steps: Int
    public var seconds: Double
    public var examplesPerSecond: Double
    public var peakRSSBytes: Int
    public init(history: [EpochRecord], bestEpoch: Int, earlyStopped: Bool, epochsRun: Int, steps: Int,
                seconds: Double, examplesPerSecond: Double, peakRSSBytes: Int) {
        self.history = history; self.bestEpoch = bestEpoch; self.earlyStopped = earlyStopped; self.epochsRun = epochsRun
        self.steps = steps; self.seconds = seconds; self.examplesPerSecond = examplesPerSecond; self.peakRSSBytes = peakRSSBytes
    }
    enum CodingKeys: String, CodingKey {
        case history, bestEpoch = "best_epoch", earlyStopped = "early_stopped", epochsRun = "epochs_run", steps, seconds
        case examplesPerSecond = "examples_per_s", peakRSSBytes = "peak_rss_bytes"
    }
}

/// One retention measurement with the adapter active.
public struct ForgettingCheck: Codable, Equatable, Sendable {
    /// e.g. "similarity:lee" or "probe:wordnet".
    public var name: String
    /// "spearman" for similarity sets, "probe_accuracy" for a frozen probe.
    public var measure: String
    /// With several seeds: `result.candidate` is the mean over seeds, and this is their spread.
    public var seeds: SeedSpread?
    public var result: ForgettingReport
    public init(name: String, measure: String, result: ForgettingReport, seeds: SeedSpread? = nil) {
        self.name = name; self.measure = measure; self.result = result; self.seeds = seeds
    }
}

/// A candidate against a reference on the same test examples.
public struct Comparison: Codable, Equatable, Sendable {
    /// "prompt-baseline" (the suite's prompt-tuned candidate) or "baseline-run" (a stored results.json).
    public var against: String
    /// Name of the reference candidate.
    public var reference: String
    /// McNemar's exact test of accuracy: recorded only when both arms trained one seed (it pairs
    /// two single runs; with several seeds it would ignore training variance).
    public var accuracy: McNemarResult?
    /// Paired-bootstrap differences (candidate − reference) of seed-means by metric name.
    public var metrics: [String: PairedDifference]
    /// Non-inferiority decisions by metric name, when the suite sets a margin.
    public var nonInferiority: [String: NonInferiorityDecision]
    public init(against: String, reference: String, accuracy: McNemarResult?, metrics: [String: PairedDifference],
                nonInferiority: [String: NonInferiorityDecision]) {
        self.against = against; self.reference = reference; self.accuracy = accuracy
        self.metrics = metrics; self.nonInferiority = nonInferiority
    }
    enum CodingKeys: String, CodingKey { case against, reference, accuracy, metrics, nonInferiority = "non_inferiority" }
}

/// One test example's outcome.
public struct Prediction: Codable, Equatable, Sendable {
    public var id: String
    public var label: Int
    public var predicted: Int
    public var probabilities: [Double]
    public init(id: String, label: Int, predicted: Int, probabilities: [Double]) {
        self.id = id; self.label = label; self.predicted = predicted; self.probabilities = probabilities
    }
}

/// One gated check for one candidate: a JUnit testcase.
public struct CheckResult: Codable, Equatable, Sendable {
    public enum Status: String, Codable, Sendable { case passed, failed, skipped, error }

    public var candidate: String
    /// Human name, e.g. "accuracy >= 0.85".
    public var name: String
    public var metric: String
    /// The measured value (nil when skipped or errored).
    public var value: Double?
    public var threshold: Double
    public var ciLow: Double?
    public var ciHigh: Double?
    public var passed: Bool
    public var status: Status
    /// Why it failed, was skipped or errored, in words: "accuracy 0.842 < 0.85 (95% CI 0.821–0.861)".
    public var message: String?
    /// One-sided bootstrap p-value of the check's null hypothesis (the candidate does *not* meet
    /// it): set for checks decided on an interval (non-inferiority, `bound: ci_low|ci_high`).
    public var pValue: Double?
    /// With `multiple_testing: holm`: the Holm-adjusted one-sided level this check was decided at.
    public var adjustedLevel: Double?
    /// Things the reader should know about the decision, e.g. that the margin is below what the
    /// run's seed count can decide (from a stored calibration).
    public var warnings: [String]?
    public init(candidate: String, name: String, metric: String, value: Double?, threshold: Double, ciLow: Double? = nil,
                ciHigh: Double? = nil, passed: Bool, status: Status, message: String? = nil) {
        self.candidate = candidate; self.name = name; self.metric = metric; self.value = value; self.threshold = threshold
        self.ciLow = ciLow; self.ciHigh = ciHigh; self.passed = passed; self.status = status; self.message = message
    }
    enum CodingKeys: String, CodingKey {
        case candidate, name, metric, value, threshold, ciLow = "ci_low", ciHigh = "ci_high", passed, status, message
        case pValue = "p_value", adjustedLevel = "adjusted_level", warnings
    }
}
