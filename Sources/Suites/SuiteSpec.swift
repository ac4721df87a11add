import Evaluation

/// A suite file (`suites/*.yaml`) after parsing and validation: what to train, on which data, how
/// to measure it and which checks gate a merge. `suites/README.md` documents every key.
///
/// Paths are kept as written. Relative paths resolve against the current working directory of the
/// process (not the suite file's folder); the shipped suites assume the repository root.
public struct SuiteSpec: Sendable, Equatable {
    /// `[A-Za-z0-9._-]+`.
    public var name: String
    public var description: String?
    /// Seed of every random choice of the run (initialisation, shuffling, dropout, bootstrap).
    public var seed: UInt64
    public var model: ModelSpec
    public var task: TaskSpec
    public var retention: RetentionSpec
    /// The `training:` block as written (unset keys nil); each candidate's `training` is resolved.
    public var trainingDefaults: TrainingDefaults
    public var candidates: [CandidateSpec]
    public var checks: [CheckSpec]
    /// A stored results.json to compare against (`non_inferior_to: baseline`).
    public var baseline: String?
    /// A calibration.json written by `evalharness calibrate` (warns about margins the seed count cannot decide).
    public var calibration: String?
    public var comparison: ComparisonSettings
    /// The suite file's path as given to `SuiteSpec.load(path:)`.
    public var sourcePath: String
    /// SHA-256 (lowercase hex) of the suite file's bytes.
    public var contentSHA256: String
    /// The 1-based line of each field in the suite file, keyed by its path as error messages write
    /// it (`task.train`, `retention.similarity[0].path`, `candidates[1]`, `checks[2]`): for errors
    /// found after parsing, such as a missing file or a model that does not load.
    public var lines: [String: Int]

    public init(name: String, description: String? = nil, seed: UInt64 = 42, model: ModelSpec, task: TaskSpec,
                retention: RetentionSpec = RetentionSpec(), trainingDefaults: TrainingDefaults = TrainingDefaults(),
                candidates: [CandidateSpec], checks: [CheckSpec] = [], baseline: String? = nil, calibration: String? = nil,
                comparison: ComparisonSettings = ComparisonSettings(), sourcePath: String = "",
                contentSHA256: String = "", lines: [String: Int] = [:]) {
        self.name = name; self.description = description; self.seed = seed; self.model = model; self.task = task
        self.retention = retention; self.trainingDefaults = trainingDefaults; self.candidates = candidates
        self.checks = checks; self.baseline = baseline; self.calibration = calibration; self.comparison = comparison
        self.sourcePath = sourcePath
        self.contentSHA256 = contentSHA256; self.lines = lines
    }

    /// The candidate with this name.
    public func candidate(named name: String) -> CandidateSpec? { candidates.first { $0.name == name } }

    /// The name of the candidate a `non_inferior_to: prompt` check compares with: the suite's only
    /// candidate with `method: prompt` (validation guarantees there is exactly one when such a
    /// check exists); nil when the suite has none or several.
    public var promptReference: String? {
        let prompts = candidates.filter { $0.method == .prompt }
        return prompts.count == 1 ? prompts[0].name : nil
    }

    /// The candidates a check applies to, in suite order: its `candidates:` list, or every
    /// candidate (for `non_inferior_to: prompt`, every candidate but the prompt reference).
    public func candidates(for check: CheckSpec) -> [String] {
        var names = candidates.map(\.name)
        if let only = check.candidates { names = names.filter { only.contains($0) } }
        if case .nonInferior(let reference, _) = check.kind, reference == "prompt", check.candidates == nil {
            names.removeAll { $0 == promptReference }
        }
        return names
    }
}

public struct ModelSpec: Sendable, Equatable {
    /// A BERT encoder folder in the Hugging Face layout (config.json, model.safetensors, vocab.txt),
    /// or a decoder: a GGUF file (Llama architecture) or a Hugging Face Llama folder (config.json
    /// with model_type llama, model.safetensors, tokenizer.json). See `ModelFamily`.
    public var path: String
    /// Token sequences are cut to this length (encoders: [CLS] and [SEP] included; decoders: the
    /// prompt, its continuation and a language-modelling text); default 128.
    public var maxLength: Int
    public init(path: String, maxLength: Int = 128) { self.path = path; self.maxLength = maxLength }
}

/// File format of a data set.
public enum DataFormat: String, Sendable, Equatable, CaseIterable {
    /// One JSON object a line.
    case jsonl
    /// Comma-separated, RFC 4180 quoting, header row.
    case csv
    /// Tab-separated, no quoting, header row.
    case tsv

    /// The format an extension implies: .jsonl/.ndjson, .csv, .tsv/.tab (case-insensitive).
    public static func inferred(fromPath path: String) -> DataFormat? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        switch name[name.index(after: dot)...].lowercased() {
        case "jsonl", "ndjson": return .jsonl
        case "csv": return .csv
        case "tsv", "tab": return .tsv
        default: return nil
        }
    }
}

/// A data file and its format (from `format:` or the extension).
public struct DataFile: Sendable, Equatable {
    public var path: String
    public var format: DataFormat
    public init(path: String, format: DataFormat) { self.path = path; self.format = format }
    /// A file whose format follows from its extension (jsonl when the extension says nothing).
    public init(_ path: String) { self.path = path; self.format = DataFormat.inferred(fromPath: path) ?? .jsonl }
}

/// Per-split example limits (nil: keep every example).
public struct SplitLimits: Sendable, Equatable {
    public var train: Int?
    public var validation: Int?
    public var test: Int?
    public init(train: Int? = nil, validation: Int? = nil, test: Int? = nil) {
        self.train = train; self.validation = validation; self.test = test
    }
}

/// The classification task: three splits and the class names.
public struct TaskSpec: Sendable, Equatable {
    /// The three split files. With `oneFile` all three are its file (split by `HashSplit`).
    public var train: DataFile
    public var validation: DataFile
    public var test: DataFile
    public var idField: String
    public var textField: String
    public var labelField: String
    /// Class names; the index in this list is the class id.
    public var labels: [String]
    /// How the data files write each class, in the same order: the keys of a `labels` mapping
    /// (`{0: other, 1: grain}`), else the names themselves.
    public var labelValues: [String]
    /// Keep the first N examples of a split in SHA-256(id) order (see `Subset.first`).
    public var limit: SplitLimits
    /// `data:` and `split:`: one file divided into the three splits.
    public var oneFile: OneFileSplit?
    /// A binary task's class of interest (one of `labels`): ROC-AUC and PR-AUC are its, and a
    /// decision threshold applies to its probability.
    public var positiveLabel: String?
    /// How predictions are made from probabilities: the most probable class, or (binary tasks with
    /// a positive label) a threshold on the positive class's probability chosen on validation.
    public var threshold: DecisionRule = .mostProbable
    /// Decoders: how an example is put to the model, with `{text}` where its text goes (default
    /// `LabelScoringPrompt.defaultTemplate`); the model then scores each class's verbaliser after it.
    public var prompt: String?
    /// Decoders: the continuation that stands for each class, in class order (default: a space and
    /// the class name, `" positive"`).
    public var verbalizers: [String]?
    /// Decoders: render the prompt as a user turn of the model's chat template, the verbaliser
    /// starting the assistant's reply (instruct models).
    public var chat: Bool = false
    /// `type: generation`: the model answers each prompt by generating text, scored against the
    /// record's reference answers; nil for a classification task.
    public var generation: GenerationSettings?

    /// Whether any decoder-only key is set (an encoder suite must leave them out).
    public var usesDecoderKeys: Bool { prompt != nil || verbalizers != nil || chat || generation != nil }

    /// The positive label's class index.
    public var positiveClass: Int? { positiveLabel.flatMap { labels.firstIndex(of: $0) } }

    public init(train: DataFile, validation: DataFile, test: DataFile, idField: String = "id",
                textField: String = "text", labelField: String = "label", labels: [String],
                limit: SplitLimits = SplitLimits(), labelValues: [String]? = nil) {
        self.train = train; self.validation = validation; self.test = test; self.idField = idField
        self.textField = textField; self.labelField = labelField; self.labels = labels; self.limit = limit
        self.labelValues = labelValues ?? labels
    }
}

/// A generation task (`task.type: generation`): instruction → reference answer, learnt as a
/// completion (the loss on the answer tokens only) and measured by greedy generation (exact
/// match, token F1) and by the reference's loss under the model (`GenerationMetric`).
public struct GenerationSettings: Sendable, Equatable {
    /// The record field with the reference answer: a string, or a list of accepted answers (the
    /// first is the one trained on).
    public var answerField = "answer"
    /// Greedy decoding stops after this many new tokens, or earlier at the end-of-answer token.
    public var maxNewTokens = 32
    public init(answerField: String = "answer", maxNewTokens: Int = 32) {
        self.answerField = answerField; self.maxNewTokens = maxNewTokens
    }
}

/// How a candidate turns class probabilities into a predicted class.
public enum DecisionRule: String, Sendable, Equatable {
    /// The most probable class (argmax).
    case mostProbable = "argmax"
    /// Predict the positive class when its probability reaches the threshold with the best F1 of
    /// the positive class on the validation split (`threshold: {optimize: f1}`).
    case optimizeF1 = "f1"
}

/// Retention checks: what the base model could do that fine-tuning should not destroy.
public struct RetentionSpec: Sendable, Equatable {
    /// Encoders: sentence similarity through mean-pooled embeddings.
    public var similarity: [SimilaritySetSpec]
    /// Encoders: frozen probes on the embeddings.
    public var probes: [ProbeSpec]
    /// Decoders: the causal-LM loss on general text.
    public var languageModeling: [TextSetSpec]
    /// Decoders: label-scored accuracy on a task the model was not trained on.
    public var zeroShot: [ZeroShotTaskSpec]
    public init(similarity: [SimilaritySetSpec] = [], probes: [ProbeSpec] = [], languageModeling: [TextSetSpec] = [],
                zeroShot: [ZeroShotTaskSpec] = []) {
        self.similarity = similarity; self.probes = probes; self.languageModeling = languageModeling; self.zeroShot = zeroShot
    }
    /// The checks' names as `forgetting.*` metrics and results.json use them, in suite order:
    /// `similarity:<name>`, then `probe:<name>`, then `lm:<name>`, then `zero_shot:<name>`.
    public var checkNames: [String] {
        similarity.map(\.checkName) + probes.map(\.checkName) + languageModeling.map(\.checkName) + zeroShot.map(\.checkName)
    }
    public var isEmpty: Bool { similarity.isEmpty && probes.isEmpty && languageModeling.isEmpty && zeroShot.isEmpty }
}

/// A classification task a decoder answers zero-shot by label scoring (its prompt, then each
/// class's verbaliser), measured for the base model and with each candidate: the accuracy it
/// keeps on something it could do and was not trained on.
public struct ZeroShotTaskSpec: Sendable, Equatable {
    /// `[A-Za-z0-9_-]+`.
    public var name: String
    public var file: DataFile
    public var idField: String
    public var textField: String
    public var labelField: String
    /// Class names in class order, and how the data writes each.
    public var labels: [String]
    public var labelValues: [String]
    /// With `{text}`.
    public var prompt: String
    /// One continuation per class.
    public var verbalizers: [String]
    /// The prompt as a user turn of the model's chat template.
    public var chat: Bool
    /// Keep the first N examples in SHA-256(id) order.
    public var limit: Int?
    public init(name: String, file: DataFile, idField: String = "id", textField: String = "text", labelField: String = "label",
                labels: [String], labelValues: [String]? = nil, prompt: String, verbalizers: [String]? = nil, chat: Bool = false,
                limit: Int? = nil) {
        self.name = name; self.file = file; self.idField = idField; self.textField = textField; self.labelField = labelField
        self.labels = labels; self.labelValues = labelValues ?? labels; self.prompt = prompt
        self.verbalizers = verbalizers ?? labels.map { " " + $0 }; self.chat = chat; self.limit = limit
    }
    /// `zero_shot:<name>`.
    public var checkName: String { "zero_shot:\(name)" }
}

/// Plain texts on which a decoder's causal-LM loss is measured, for the base model and with each
/// candidate: the mean negative log-likelihood per predicted token (its exponential is the
/// perplexity). What the model could already do with language, measured before and after.
public struct TextSetSpec: Sendable, Equatable {
    /// `[A-Za-z0-9_-]+`.
    public var name: String
    public var file: DataFile
    public var idField: String
    public var textField: String
    /// Keep the first N texts in SHA-256(id) order.
    public var limit: Int?
    public init(name: String, file: DataFile, idField: String = "id", textField: String = "text", limit: Int? = nil) {
        self.name = name; self.file = file; self.idField = idField; self.textField = textField; self.limit = limit
    }
    /// `lm:<name>`.
    public var checkName: String { "lm:\(name)" }
}

/// Pairs of texts with a human similarity score: the Spearman correlation between the encoder's
/// cosine similarities and the scores, for the base model and with each adapter.
public struct SimilaritySetSpec: Sendable, Equatable {
    /// `[A-Za-z0-9_-]+`.
    public var name: String
    public var file: DataFile
    public var idField: String
    public var textAField: String
    public var textBField: String
    public var scoreField: String
    /// Keep the first N pairs in SHA-256(id) order.
    public var limit: Int?
    public init(name: String, file: DataFile, idField: String = "id", textAField: String = "text_a",
                textBField: String = "text_b", scoreField: String = "score", limit: Int? = nil) {
        self.name = name; self.file = file; self.idField = idField; self.textAField = textAField
        self.textBField = textBField; self.scoreField = scoreField; self.limit = limit
    }
    /// `similarity:<name>`.
    public var checkName: String { "similarity:\(name)" }
}

/// A frozen probe: a logistic regression fitted on the base model's embeddings of `train`, then
/// scored on `test` with the base model and with each adapter's embeddings.
public struct ProbeSpec: Sendable, Equatable {
    /// `[A-Za-z0-9_-]+`.
    public var name: String
    public var train: DataFile
    public var test: DataFile
    public var idField: String
    public var textField: String
    public var labelField: String
    /// Class names in class-index order; nil: the sorted distinct labels of the probe's train file.
    public var labels: [String]?
    /// Only `train` and `test` are used.
    public var limit: SplitLimits
    public init(name: String, train: DataFile, test: DataFile, idField: String = "id", textField: String = "text",
                labelField: String = "label", labels: [String]? = nil, limit: SplitLimits = SplitLimits()) {
        self.name = name; self.train = train; self.test = test; self.idField = idField; self.textField = textField
        self.labelField = labelField; self.labels = labels; self.limit = limit
    }
    /// `probe:<name>`.
    public var checkName: String { "probe:\(name)" }
}

/// Learning-rate schedule after warm-up.
public enum LearningRateScheduleName: String, Sendable, Equatable, CaseIterable {
    case linear, cosine, constant
}

public struct DropoutSettings: Sendable, Equatable {
    /// After attention output and feed-forward projections (BERT's hidden_dropout_prob).
    public var hidden: Double
    /// On attention probabilities.
    public var attention: Double
    /// Before the classification head.
    public var classifier: Double
    public init(hidden: Double = 0.1, attention: Double = 0.1, classifier: Double = 0.1) {
        self.hidden = hidden; self.attention = attention; self.classifier = classifier
    }
}

/// How the training loss weighs each class (`class_weights:`), with PyTorch's weighted
/// cross-entropy semantics: Σ w[y]·nll / Σ w[y] over a batch.
public enum ClassWeighting: Sendable, Equatable {
    /// Every class weighs 1 (the plain mean).
    case none
    /// w_c = n / (K · n_c) over the training split, scikit-learn's `compute_class_weight("balanced")`.
    case balanced
    /// Weights by class index (classes the suite did not name weigh 1).
    case explicit([Double])

    /// The K weights for a training split with these class counts; nil for `.none`.
    public func weights(trainCounts: [Int]) -> [Double]? {
        switch self {
        case .none: return nil
        case .explicit(let weights): return weights
        case .balanced:
            let n = Double(trainCounts.reduce(0, +)), K = Double(trainCounts.count)
            // A class absent from train gets weight 1: it never appears in a batch, so its weight is unused.
            return trainCounts.map { $0 == 0 ? 1 : n / (K * Double($0)) }
        }
    }

    /// The setting as results.json records it: "balanced", or "1,5" (one weight per class, in label order).
    var settingText: String? {
        switch self {
        case .none: return nil
        case .balanced: return "balanced"
        case .explicit(let weights): return weights.map(SettingText.number).joined(separator: ",")
        }
    }
}

/// How one candidate trains, every value resolved.
public struct TrainingSettings: Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    /// AdamW decoupled weight decay.
    public var weightDecay: Double
    public var schedule: LearningRateScheduleName
    /// Fraction of all steps spent warming up linearly from 0.
    public var warmupRatio: Double
    /// Global gradient-norm clip; 0 turns clipping off.
    public var maxGradNorm: Double
    public var dropout: DropoutSettings
    /// Stop after this many epochs without a lower validation loss; 0: never stop early.
    public var patience: Int
    /// The suite's seed.
    public var seed: UInt64
    /// Independent training runs (seeds) of the candidate; its numbers are means over them. Not part
    /// of `settings` or the config hash: each run trains the same way.
    public var seeds: Int
    /// Loss weights per class (default none: absent from `settings`, so older config hashes hold).
    public var classWeights: ClassWeighting = .none

    public init(epochs: Int = 3, batchSize: Int = 32, learningRate: Double = 5e-4, weightDecay: Double = 0.01,
                schedule: LearningRateScheduleName = .linear, warmupRatio: Double = 0.1, maxGradNorm: Double = 1.0,
                dropout: DropoutSettings = DropoutSettings(), patience: Int = 2, seed: UInt64 = 42, seeds: Int = 1) {
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
        self.weightDecay = weightDecay; self.schedule = schedule; self.warmupRatio = warmupRatio
        self.maxGradNorm = maxGradNorm; self.dropout = dropout; self.patience = patience; self.seed = seed
        self.seeds = seeds
    }
}

/// Training keys as a `training:` block or a candidate wrote them (nil: not set).
public struct TrainingDefaults: Sendable, Equatable {
    public var epochs: Int?
    public var batchSize: Int?
    public var learningRate: Double?
    public var weightDecay: Double?
    public var schedule: LearningRateScheduleName?
    public var warmupRatio: Double?
    public var maxGradNorm: Double?
    public var hiddenDropout: Double?
    public var attentionDropout: Double?
    public var classifierDropout: Double?
    public var patience: Int?
    public var seeds: Int?
    public var classWeights: ClassWeighting?

    public init(epochs: Int? = nil, batchSize: Int? = nil, learningRate: Double? = nil, weightDecay: Double? = nil,
                schedule: LearningRateScheduleName? = nil, warmupRatio: Double? = nil, maxGradNorm: Double? = nil,
                hiddenDropout: Double? = nil, attentionDropout: Double? = nil, classifierDropout: Double? = nil,
                patience: Int? = nil, seeds: Int? = nil) {
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
        self.weightDecay = weightDecay; self.schedule = schedule; self.warmupRatio = warmupRatio
        self.maxGradNorm = maxGradNorm; self.hiddenDropout = hiddenDropout; self.attentionDropout = attentionDropout
        self.classifierDropout = classifierDropout; self.patience = patience; self.seeds = seeds
    }

    /// Keys set here win over `base`.
    public func overriding(_ base: TrainingDefaults) -> TrainingDefaults {
        var out = TrainingDefaults(
            epochs: epochs ?? base.epochs, batchSize: batchSize ?? base.batchSize,
            learningRate: learningRate ?? base.learningRate, weightDecay: weightDecay ?? base.weightDecay,
            schedule: schedule ?? base.schedule, warmupRatio: warmupRatio ?? base.warmupRatio,
            maxGradNorm: maxGradNorm ?? base.maxGradNorm, hiddenDropout: hiddenDropout ?? base.hiddenDropout,
            attentionDropout: attentionDropout ?? base.attentionDropout,
            classifierDropout: classifierDropout ?? base.classifierDropout, patience: patience ?? base.patience,
            seeds: seeds ?? base.seeds)
        out.classWeights = classWeights ?? base.classWeights
        return out
    }

    /// Fills unset keys with the built-in defaults; the learning rate's default depends on the
    /// method (`CandidateSpec.Method.defaultLearningRate`).
    public func resolved(method: CandidateSpec.Method, seed: UInt64) -> TrainingSettings {
        let builtIn = DropoutSettings()
        var settings = TrainingSettings(
            epochs: epochs ?? 3, batchSize: batchSize ?? 32, learningRate: learningRate ?? method.defaultLearningRate,
            weightDecay: weightDecay ?? 0.01, schedule: schedule ?? .linear, warmupRatio: warmupRatio ?? 0.1,
            maxGradNorm: maxGradNorm ?? 1.0,
            dropout: DropoutSettings(hidden: hiddenDropout ?? builtIn.hidden, attention: attentionDropout ?? builtIn.attention,
                                     classifier: classifierDropout ?? builtIn.classifier),
            patience: patience ?? 2, seed: seed, seeds: seeds ?? 1)
        settings.classWeights = classWeights ?? .none
        return settings
    }
}

/// One fine-tuning candidate: a method, its options and its resolved training settings.
public struct CandidateSpec: Sendable, Equatable {
    public enum Method: String, Sendable, Equatable, CaseIterable {
        case full, lora, qlora, prompt
        /// No training: the base model as it is (a decoder answering zero-shot by label scoring),
        /// the reference row a fine-tuned candidate has to beat.
        case base

        /// The learning rate when neither the candidate nor `training:` sets one.
        public var defaultLearningRate: Double {
            switch self {
            case .full: return 3e-5
            case .lora, .qlora: return 5e-4
            case .prompt: return 3e-2
            case .base: return 0
            }
        }

        /// Whether the method trains anything (and so has training settings and seeds).
        public var trains: Bool { self != .base }
    }

    /// How QLoRA holds a decoder's frozen linear weights.
    public enum BaseQuantization: String, Sendable, Equatable, CaseIterable {
        /// bitsandbytes' NF4 (blocks of 64), quantised from the fp32 weights: what PEFT + bitsandbytes train on.
        case nf4
        /// The GGUF file's own blocks (Q4_1, Q4_K, …), never expanded to an fp32 copy.
        case gguf
    }

    /// How prompt-tuning vectors start.
    public enum PromptInit: Sendable, Equatable {
        /// Word embeddings of random vocabulary entries.
        case vocab
        /// Word embeddings of this text's tokens, repeated or cut to `numVirtualTokens`.
        case text(String)
    }

    public var name: String
    public var method: Method
    /// `training:` merged with this candidate's overrides, then the built-in defaults.
    public var training: TrainingSettings
    /// full only (default false): keep the embedding tables and their LayerNorm frozen.
    public var freezeEmbeddings: Bool?
    /// lora and qlora only (defaults 8, 16, 0.0, [query, value]).
    public var rank: Int?
    public var alpha: Double?
    public var loraDropout: Double?
    /// Hugging Face module names (query, key, value, attention.output.dense, intermediate.dense,
    /// output.dense, or the attention.self.* forms) or the single entry `all-linear`.
    public var targetModules: [String]?
    /// qlora only (default false): quantise the NF4 blocks' scales too.
    public var doubleQuantization: Bool?
    /// qlora on a decoder only: how the frozen base is held (nil: NF4).
    public var quantization: BaseQuantization?
    /// prompt only (defaults 20, vocab).
    public var numVirtualTokens: Int?
    public var promptInit: PromptInit?

    /// The positions this candidate adds in front of every sequence: its virtual tokens (20 unless
    /// set) for prompt tuning, none for the other methods.
    public var virtualTokenCount: Int { method == .prompt ? numVirtualTokens ?? 20 : 0 }

    public init(name: String, method: Method, training: TrainingSettings, freezeEmbeddings: Bool? = nil,
                rank: Int? = nil, alpha: Double? = nil, loraDropout: Double? = nil, targetModules: [String]? = nil,
                doubleQuantization: Bool? = nil, numVirtualTokens: Int? = nil, promptInit: PromptInit? = nil) {
        self.name = name; self.method = method; self.training = training; self.freezeEmbeddings = freezeEmbeddings
        self.rank = rank; self.alpha = alpha; self.loraDropout = loraDropout; self.targetModules = targetModules
        self.doubleQuantization = doubleQuantization; self.numVirtualTokens = numVirtualTokens; self.promptInit = promptInit
    }

    /// Every resolved setting as text, keyed by its suite-file name (results.json's
    /// `candidates[].settings`), e.g. "rank": "8", "learning_rate": "0.0005", "dropout.hidden": "0.1".
    public var settings: [String: String] {
        // Nothing trains: no training setting changes what a base candidate measures.
        guard method.trains else { return ["method": method.rawValue] }
        let t = training
        var out: [String: String] = [
            "method": method.rawValue, "epochs": String(t.epochs), "batch_size": String(t.batchSize),
            "learning_rate": SettingText.number(t.learningRate), "weight_decay": SettingText.number(t.weightDecay),
            "schedule": t.schedule.rawValue, "warmup_ratio": SettingText.number(t.warmupRatio),
            "max_grad_norm": SettingText.number(t.maxGradNorm), "dropout.hidden": SettingText.number(t.dropout.hidden),
            "dropout.attention": SettingText.number(t.dropout.attention),
            "dropout.classifier": SettingText.number(t.dropout.classifier), "patience": String(t.patience),
            "seed": String(t.seed),
        ]
        if let classWeights = t.classWeights.settingText { out["class_weights"] = classWeights }
        if let freezeEmbeddings { out["freeze_embeddings"] = String(freezeEmbeddings) }
        if let rank { out["rank"] = String(rank) }
        if let alpha { out["alpha"] = SettingText.number(alpha) }
        if let loraDropout { out["dropout"] = SettingText.number(loraDropout) }
        if let targetModules { out["target_modules"] = targetModules.joined(separator: ",") }
        if let doubleQuantization { out["double_quantization"] = String(doubleQuantization) }
        if let quantization { out["quantization"] = quantization.rawValue }
        if let numVirtualTokens { out["num_virtual_tokens"] = String(numVirtualTokens) }
        switch promptInit {
        case .vocab?: out["init"] = "vocab"
        case .text(let text)?: out["init"] = "text"; out["init_text"] = text
        case nil: break
        }
        return out
    }

    /// SHA-256 of the canonical settings text: `key=value` lines of `settings` sorted by key, each
    /// ending in a newline. Two candidates with the same hash train the same way (given the data
    /// and the model).
    public var configHash: String {
        let text = settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        return SHA256.hex(of: text)
    }
}

/// Settings of the paired comparisons and confidence intervals.
public struct ComparisonSettings: Sendable, Equatable {
    /// Bootstrap resamples (default 1000).
    public var bootstrapResamples: Int
    /// Confidence level of every interval (default 0.95).
    public var confidence: Double
    /// Family-wise error control over the checks decided on intervals (default none).
    public var multipleTesting: MultipleTesting
    public init(bootstrapResamples: Int = 1000, confidence: Double = 0.95, multipleTesting: MultipleTesting = .none) {
        self.bootstrapResamples = bootstrapResamples; self.confidence = confidence; self.multipleTesting = multipleTesting
    }
}

enum SettingText {
    /// Shortest text that reads back as the same Double: 0.0005, 3e-05, 16 (not 16.0).
    static func number(_ value: Double) -> String {
        var text = String(value)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}
