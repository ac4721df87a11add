import Evaluation
import Foundation
import Yams

extension SuiteSpec {
    /// Reads and validates a suite file. Data files are not opened (see `validateFiles()` and
    /// `TaskData.load`). Every error names the file, the line and the field.
    public static func load(path: String) throws(SuiteError) -> SuiteSpec {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SuiteError(file: path, message: "no such file" + SuitePaths.relativeNote(path))
        }
        guard !isDirectory.boolValue else { throw SuiteError(file: path, message: "is a directory, expected a suite file (.yaml)") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SuiteError(file: path, message: "cannot be read (permissions?)")
        }
        return try parse(data: data, path: path)
    }

    /// Parses suite text; `path` is used in messages and as `sourcePath` (tests, or a suite read
    /// from elsewhere).
    public static func parse(data: Data, path: String) throws(SuiteError) -> SuiteSpec {
        guard let text = String(data: data, encoding: .utf8) else {
            throw SuiteError(file: path, line: SuitePaths.firstInvalidUTF8Line(data), message: "is not valid UTF-8")
        }
        try YAMLLimits.check(text, file: path)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw SuiteParser.convert(error, file: path, text: text)
        } catch {
            throw SuiteError(file: path, message: "invalid YAML: \(error)")
        }
        guard let root, !Field.isNull(root) else {
            throw SuiteError(file: path, line: 1, message: "the file is empty; expected a mapping with name, model, task and candidates")
        }
        var spec = try SuiteParser(file: path).suite(root)
        spec.sourcePath = path
        spec.contentSHA256 = SHA256.hex(of: data)
        return spec
    }

    /// Parses suite text given as a string.
    public static func parse(yaml: String, path: String) throws(SuiteError) -> SuiteSpec {
        try parse(data: Data(yaml.utf8), path: path)
    }
}

/// The suite schema: which keys each mapping may have, what each value must be.
struct SuiteParser {
    let context: YAMLReadContext

    init(file: String) { context = YAMLReadContext(file: file) }

    static let topKeys = ["name", "description", "seed", "model", "task", "retention", "training", "candidates",
                          "checks", "baseline", "comparison", "calibration"]
    static let trainingKeys = ["epochs", "batch_size", "learning_rate", "weight_decay", "schedule", "warmup_ratio",
                               "max_grad_norm", "dropout", "patience", "seeds", "class_weights"]
    static let candidateOwnKeys = ["name", "method", "freeze_embeddings", "rank", "alpha", "target_modules",
                                   "double_quantization", "quantization", "num_virtual_tokens", "init", "init_text"]
    /// Module names LoRA may target (as the Adapters module accepts them).
    static let loraTargets = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense",
                              "attention.self.query", "attention.self.key", "attention.self.value"] + decoderLoRATargets
    /// A Llama decoder's linear layers, as PEFT names them (`SuiteSpec.validate(for:)` keeps each
    /// family to its own names).
    static let decoderLoRATargets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
                                     "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                     "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]

    func suite(_ rootNode: Node) throws(SuiteError) -> SuiteSpec {
        let root = Field(node: rootNode, path: "", line: rootNode.mark?.line ?? 1, context: context)
        let top = try root.mapping(allowed: Self.topKeys, what: "a mapping with name, model, task and candidates")

        let name = try top.required("name", "a name of letters, digits, '.', '_' or '-'").name()
        let description = try top.field("description")?.string()
        let seed = try top.field("seed")?.uint64() ?? 42
        let model = try self.model(try top.required("model", "a mapping with path (and max_length)"))
        let task = try self.task(try top.required("task", "a mapping with train, validation, test and labels"))
        let retention = try top.field("retention").map { (f: Field) throws(SuiteError) in try self.retention(f) } ?? RetentionSpec()
        let defaults = try top.field("training").map { (f: Field) throws(SuiteError) in
            try self.trainingBlock(f.mapping(allowed: Self.trainingKeys), labels: task.labels)
        } ?? TrainingDefaults()
        let candidates = try self.candidates(try top.required("candidates", "a list of candidates"), defaults: defaults, seed: seed,
                                             labels: task.labels)
        let baseline = try top.field("baseline")?.nonEmptyString()
        let calibration = try top.field("calibration")?.nonEmptyString()
        let comparison = try top.field("comparison").map { (f: Field) throws(SuiteError) in try self.comparison(f) }
            ?? ComparisonSettings()
        let checks = try top.field("checks").map { (f: Field) throws(SuiteError) in
            try self.checks(f, candidates: candidates, retention: retention, task: task)
        } ?? []

        return SuiteSpec(name: name, description: description, seed: seed, model: model, task: task,
                         retention: retention, trainingDefaults: defaults, candidates: candidates, checks: checks,
                         baseline: baseline, calibration: calibration, comparison: comparison, lines: context.lines)
    }

    // MARK: model, task

    func model(_ field: Field) throws(SuiteError) -> ModelSpec {
        let map = try field.mapping(allowed: ["path", "max_length"])
        let path = try map.required("path", "the model folder (Hugging Face layout)").nonEmptyString()
        // The model's position table bounds it further; that is checked when the model is loaded.
        let maxLength = try map.field("max_length")?.int(2...1_048_576, expected: "an integer from 2 to 1048576") ?? 128
        return ModelSpec(path: path, maxLength: maxLength)
    }

    func task(_ field: Field) throws(SuiteError) -> TaskSpec {
        let map = try field.mapping(allowed: ["train", "validation", "test", "data", "split", "format", "id_field", "text_field",
                                              "label_field", "labels", "limit", "positive_label", "threshold",
                                              "prompt", "verbalizers", "chat", "type", "answer_field", "max_new_tokens"])
        let isGeneration = try map.field("type")?.choice(["classification", "generation"]) == "generation"
        if isGeneration {
            for key in ["labels", "label_field", "verbalizers", "positive_label", "threshold"] where map.has(key) {
                throw context.error(map.keyLine(key), Field.child(field.path, key),
                                    "a generation task has no classes: its records carry answers (answer_field); leave \(key) out")
            }
        } else {
            for key in ["answer_field", "max_new_tokens"] where map.has(key) {
                throw context.error(map.keyLine(key), Field.child(field.path, key), "only used with type: generation")
            }
        }
        let format = try map.field("format").map { (f: Field) throws(SuiteError) in try Self.format(f) }
        let train: DataFile, validation: DataFile, test: DataFile
        var oneFile: OneFileSplit?
        if let dataField = map.field("data") {
            let splitFiles = ["train", "validation", "test"].filter { map.has($0) }
            guard splitFiles.isEmpty else {
                throw context.error(map.keyLine(splitFiles[0]), Field.child(field.path, splitFiles[0]),
                                    "give either data (one file, split for you) or train, validation and test, not both")
            }
            let file = try dataFile(dataField, format: format)
            var split = OneFileSplit(file: file, idsFromContent: !map.has("id_field"))
            if let splitField = map.field("split") {
                let shares = try splitField.mapping(allowed: ["validation", "test", "stratify"],
                                                    what: "a mapping {validation: 0.1, test: 0.2, stratify: true}")
                if let f = shares.field("validation") { split.validation = try f.fraction() }
                if let f = shares.field("test") { split.test = try f.fraction() }
                if let f = shares.field("stratify") { split.stratify = try f.bool() }
                guard split.test > 0 else { throw (shares.field("test") ?? splitField).error("test must be above 0: the candidates are measured on it") }
                guard split.validation > 0 else {
                    throw (shares.field("validation") ?? splitField).error("validation must be above 0: early stopping and thresholds are chosen on it")
                }
                guard split.validation + split.test < 1 else {
                    throw splitField.error("validation \(Self.shortest(split.validation)) + test \(Self.shortest(split.test)) leave nothing to train on; together they must be below 1")
                }
            }
            oneFile = split
            (train, validation, test) = (file, file, file)
        } else {
            if let splitField = map.field("split") {
                throw splitField.error("split divides one file: use it with data: FILE (this task names train, validation and test files)")
            }
            train = try dataFile(map.required("train", "a .jsonl, .csv or .tsv file (or data: one file to split)"), format: format)
            validation = try dataFile(map.required("validation", "a .jsonl, .csv or .tsv file"), format: format)
            test = try dataFile(map.required("test", "a .jsonl, .csv or .tsv file"), format: format)
        }
        let idField = try map.field("id_field")?.nonEmptyString() ?? "id"
        let textField = try map.field("text_field")?.nonEmptyString() ?? "text"
        let labelField = try map.field("label_field")?.nonEmptyString() ?? "label"
        let (labels, labelValues) = isGeneration ? ([], [])
            : try self.labels(map.required("labels", "a list of at least 2 distinct class names, or a mapping from the data's values to names"))
        let limit = try map.field("limit").map { (f: Field) throws(SuiteError) in
            try limits(f, keys: ["train", "validation", "test"])
        } ?? SplitLimits()
        var task = TaskSpec(train: train, validation: validation, test: test, idField: idField, textField: textField,
                            labelField: labelField, labels: labels, limit: limit, labelValues: labelValues)
        task.oneFile = oneFile
        if isGeneration {
            var settings = GenerationSettings()
            if let f = map.field("answer_field") { settings.answerField = try f.nonEmptyString() }
            if let f = map.field("max_new_tokens") { settings.maxNewTokens = try f.int(1...4096, expected: "an integer from 1 to 4096") }
            task.generation = settings
        }
        if let positiveField = map.field("positive_label") {
            let positive = try positiveField.nonEmptyString()
            guard labels.count == 2 else {
                throw positiveField.error("positive_label needs a binary task (2 labels); this task has \(labels.count)")
            }
            guard labels.contains(positive) else {
                throw positiveField.error("no class \(Field.quoted(positive)) in the task's labels" + Suggestions.hint(positive, labels)
                                          + " (labels: \(labels.joined(separator: ", ")))")
            }
            task.positiveLabel = positive
        }
        if let thresholdField = map.field("threshold") {
            let rule = try thresholdField.mapping(allowed: ["optimize"], what: "a mapping {optimize: f1}")
            _ = try rule.required("optimize", "f1").choice(["f1"])
            guard task.positiveLabel != nil else {
                throw thresholdField.error("a decision threshold needs positive_label (the class whose probability it thresholds)")
            }
            task.threshold = .optimizeF1
        }
        try decoderKeys(map, into: &task)
        return task
    }

    /// `prompt`, `verbalizers` and `chat` (decoders; `SuiteSpec.validate(for:)` refuses them for an encoder).
    func decoderKeys(_ map: Mapping, into task: inout TaskSpec) throws(SuiteError) {
        if let promptField = map.field("prompt") { task.prompt = try promptTemplate(promptField) }
        if let verbalizerField = map.field("verbalizers") { task.verbalizers = try verbalizers(verbalizerField, labels: task.labels) }
        if let chatField = map.field("chat") { task.chat = try chatField.bool() }
    }

    /// A label-scoring prompt: text with `{text}` where each example goes.
    func promptTemplate(_ field: Field) throws(SuiteError) -> String {
        let prompt = try field.nonEmptyString()
        guard prompt.contains("{text}") else {
            throw field.error("the prompt must contain {text}, where each example's text goes (e.g. \"Review: {text}\\nSentiment:\")")
        }
        return prompt
    }

    /// Each class's continuation, in class order: a mapping label → continuation; a class it does
    /// not name keeps " <label>". Two classes may not share one.
    func verbalizers(_ field: Field, labels: [String]) throws(SuiteError) -> [String] {
        guard let entries = try field.orderedEntries() else {
            throw field.typeError("a mapping from each label to its continuation, e.g. {negative: \" negative\", positive: \" positive\"}")
        }
        var verbalizers = labels.map { " " + $0 }
        var seen: [String: String] = [:]
        for (label, value) in entries {
            guard let index = labels.firstIndex(of: label) else {
                throw value.error("no class \(Field.quoted(label)) in the task's labels" + Suggestions.hint(label, labels)
                                  + " (labels: \(labels.joined(separator: ", ")))")
            }
            verbalizers[index] = try value.nonEmptyString()
        }
        for (index, verbalizer) in verbalizers.enumerated() {
            if let other = seen[verbalizer] {
                throw field.error("\(Field.quoted(labels[index])) and \(Field.quoted(other)) share the verbaliser \(Field.quoted(verbalizer)); each class needs its own")
            }
            seen[verbalizer] = labels[index]
        }
        return verbalizers
    }

    static func format(_ field: Field) throws(SuiteError) -> DataFormat {
        DataFormat(rawValue: try field.choice(DataFormat.allCases.map(\.rawValue)))!
    }

    /// A path whose format comes from `format` or its extension.
    func dataFile(_ field: Field, format: DataFormat?) throws(SuiteError) -> DataFile {
        let path = try field.nonEmptyString()
        if let format { return DataFile(path: path, format: format) }
        guard let inferred = DataFormat.inferred(fromPath: path) else {
            throw field.error("cannot tell the format of \(Field.quoted(path)) from its extension; use .jsonl, .csv or .tsv, or set format: jsonl | csv | tsv")
        }
        return DataFile(path: path, format: inferred)
    }

    /// The class names and how the data writes them: a list (`[negative, positive]`: the data
    /// writes the names) or a mapping from the data's values to names, in class order
    /// (`{0: other, 1: grain}`: coded labels get readable names in every report).
    func labels(_ field: Field) throws(SuiteError) -> (names: [String], values: [String]) {
        let pairs: [(value: String, name: Field)]
        if let entries = try field.orderedEntries() {
            pairs = entries.map { ($0.key, $0.value) }
        } else {
            let items = try field.list(expected: "a list of at least 2 distinct class names, or a mapping from the data's values to names")
            var listed: [(value: String, name: Field)] = []
            for item in items { listed.append((try item.nonEmptyString(), item)) }
            pairs = listed
        }
        var names: [String] = [], values: [String] = []
        for (value, item) in pairs {
            let name = try item.nonEmptyString()
            if let first = names.firstIndex(of: name) {
                throw item.error("duplicate label \(Field.quoted(name)) (also class \(first))")
            }
            names.append(name)
            values.append(value)
        }
        guard names.count >= 2 else {
            throw field.error("expected at least 2 distinct class names, got \(names.count)")
        }
        return (names, values)
    }

    func limits(_ field: Field, keys: [String]) throws(SuiteError) -> SplitLimits {
        let map = try field.mapping(allowed: keys, what: "a mapping of " + keys.joined(separator: ", ") + " to example counts")
        return SplitLimits(train: try map.field("train")?.positiveInt(),
                           validation: try map.field("validation")?.positiveInt(),
                           test: try map.field("test")?.positiveInt())
    }

    // MARK: retention

    func retention(_ field: Field) throws(SuiteError) -> RetentionSpec {
        let map = try field.mapping(allowed: ["similarity", "probes", "language_modeling", "zero_shot"])
        var spec = RetentionSpec()
        if let list = map.field("zero_shot") {
            for item in try list.list(expected: "a list of zero-shot tasks") {
                let task = try zeroShotTask(item)
                if let first = spec.zeroShot.firstIndex(where: { $0.name == task.name }) {
                    throw context.error(context.lines["\(item.path).name"], "\(item.path).name",
                                        "duplicate zero-shot task name \(Field.quoted(task.name)) (also \(list.path)[\(first)])")
                }
                spec.zeroShot.append(task)
            }
        }
        if let list = map.field("language_modeling") {
            for item in try list.list(expected: "a list of text sets") {
                let set = try textSet(item)
                if let first = spec.languageModeling.firstIndex(where: { $0.name == set.name }) {
                    throw context.error(context.lines["\(item.path).name"], "\(item.path).name",
                                        "duplicate language-modelling set name \(Field.quoted(set.name)) (also \(list.path)[\(first)])")
                }
                spec.languageModeling.append(set)
            }
        }
        if let list = map.field("similarity") {
            for item in try list.list(expected: "a list of similarity sets") {
                let set = try similaritySet(item)
                if let first = spec.similarity.firstIndex(where: { $0.name == set.name }) {
                    throw context.error(context.lines["\(item.path).name"], "\(item.path).name",
                                        "duplicate similarity set name \(Field.quoted(set.name)) (also \(list.path)[\(first)])")
                }
                spec.similarity.append(set)
            }
        }
        if let list = map.field("probes") {
            for item in try list.list(expected: "a list of probes") {
                let probe = try self.probe(item)
                if let first = spec.probes.firstIndex(where: { $0.name == probe.name }) {
                    throw context.error(context.lines["\(item.path).name"], "\(item.path).name",
                                        "duplicate probe name \(Field.quoted(probe.name)) (also \(list.path)[\(first)])")
                }
                spec.probes.append(probe)
            }
        }
        return spec
    }

    func similaritySet(_ field: Field) throws(SuiteError) -> SimilaritySetSpec {
        let map = try field.mapping(allowed: ["name", "path", "format", "id_field", "text_a_field", "text_b_field",
                                              "score_field", "limit"])
        let name = try map.required("name", "a name of letters, digits, '_' or '-'").name(allowDot: false)
        let format = try map.field("format").map { (f: Field) throws(SuiteError) in try Self.format(f) }
        let file = try dataFile(map.required("path", "a .jsonl, .csv or .tsv file of text pairs with scores"), format: format)
        return SimilaritySetSpec(
            name: name, file: file, idField: try map.field("id_field")?.nonEmptyString() ?? "id",
            textAField: try map.field("text_a_field")?.nonEmptyString() ?? "text_a",
            textBField: try map.field("text_b_field")?.nonEmptyString() ?? "text_b",
            scoreField: try map.field("score_field")?.nonEmptyString() ?? "score",
            limit: try map.field("limit")?.positiveInt())
    }

    func zeroShotTask(_ field: Field) throws(SuiteError) -> ZeroShotTaskSpec {
        let map = try field.mapping(allowed: ["name", "path", "format", "id_field", "text_field", "label_field", "labels",
                                              "prompt", "verbalizers", "chat", "limit"])
        let name = try map.required("name", "a name of letters, digits, '_' or '-'").name(allowDot: false)
        let format = try map.field("format").map { (f: Field) throws(SuiteError) in try Self.format(f) }
        let file = try dataFile(map.required("path", "a .jsonl, .csv or .tsv file of labelled texts"), format: format)
        let (labels, labelValues) = try self.labels(map.required("labels", "a list of at least 2 distinct class names, or a mapping from the data's values to names"))
        let prompt = try promptTemplate(map.required("prompt", "a prompt with {text}, which each class's verbaliser continues"))
        return ZeroShotTaskSpec(
            name: name, file: file, idField: try map.field("id_field")?.nonEmptyString() ?? "id",
            textField: try map.field("text_field")?.nonEmptyString() ?? "text",
            labelField: try map.field("label_field")?.nonEmptyString() ?? "label", labels: labels, labelValues: labelValues,
            prompt: prompt, verbalizers: try map.field("verbalizers").map { (f: Field) throws(SuiteError) in try verbalizers(f, labels: labels) }
                ?? labels.map { " " + $0 },
            chat: try map.field("chat")?.bool() ?? false, limit: try map.field("limit")?.positiveInt())
    }

    func textSet(_ field: Field) throws(SuiteError) -> TextSetSpec {
        let map = try field.mapping(allowed: ["name", "path", "format", "id_field", "text_field", "limit"])
        let name = try map.required("name", "a name of letters, digits, '_' or '-'").name(allowDot: false)
        let format = try map.field("format").map { (f: Field) throws(SuiteError) in try Self.format(f) }
        let file = try dataFile(map.required("path", "a .jsonl, .csv or .tsv file of texts"), format: format)
        return TextSetSpec(name: name, file: file, idField: try map.field("id_field")?.nonEmptyString() ?? "id",
                           textField: try map.field("text_field")?.nonEmptyString() ?? "text",
                           limit: try map.field("limit")?.positiveInt())
    }

    func probe(_ field: Field) throws(SuiteError) -> ProbeSpec {
        let map = try field.mapping(allowed: ["name", "train", "test", "format", "id_field", "text_field", "label_field",
                                              "labels", "limit"])
        let name = try map.required("name", "a name of letters, digits, '_' or '-'").name(allowDot: false)
        let format = try map.field("format").map { (f: Field) throws(SuiteError) in try Self.format(f) }
        let train = try dataFile(map.required("train", "a .jsonl, .csv or .tsv file"), format: format)
        let test = try dataFile(map.required("test", "a .jsonl, .csv or .tsv file"), format: format)
        let labels = try map.field("labels").map { (f: Field) throws(SuiteError) in
            let (names, values) = try self.labels(f)
            guard names == values else { throw f.error("a probe's labels are a list of the names its files use") }
            return names
        }
        let limit = try map.field("limit").map { (f: Field) throws(SuiteError) in try limits(f, keys: ["train", "test"]) }
            ?? SplitLimits()
        return ProbeSpec(name: name, train: train, test: test,
                         idField: try map.field("id_field")?.nonEmptyString() ?? "id",
                         textField: try map.field("text_field")?.nonEmptyString() ?? "text",
                         labelField: try map.field("label_field")?.nonEmptyString() ?? "label",
                         labels: labels, limit: limit)
    }

    // MARK: training

    /// The training keys of a `training:` block or a candidate (whose `dropout` may instead be a
    /// number: the LoRA dropout, read by the caller).
    func trainingBlock(_ map: Mapping, labels: [String]) throws(SuiteError) -> TrainingDefaults {
        var out = TrainingDefaults()
        if let field = map.field("class_weights") { out.classWeights = try classWeights(field, labels: labels) }
        out.epochs = try map.field("epochs")?.positiveInt()
        out.batchSize = try map.field("batch_size")?.positiveInt()
        out.learningRate = try map.field("learning_rate")?.positiveNumber()
        out.weightDecay = try map.field("weight_decay")?.nonNegativeNumber()
        if let field = map.field("schedule") {
            out.schedule = LearningRateScheduleName(rawValue: try field.choice(LearningRateScheduleName.allCases.map(\.rawValue)))
        }
        out.warmupRatio = try map.field("warmup_ratio")?.fraction()
        out.maxGradNorm = try map.field("max_grad_norm")?.nonNegativeNumber()
        out.patience = try map.field("patience")?.nonNegativeInt()
        out.seeds = try map.field("seeds")?.int(1...1000, expected: "a number of training seeds from 1 to 1000")
        if let field = map.field("dropout"), case .mapping = field.node {
            let dropout = try field.mapping(allowed: ["hidden", "attention", "classifier"])
            out.hiddenDropout = try dropout.field("hidden")?.fraction()
            out.attentionDropout = try dropout.field("attention")?.fraction()
            out.classifierDropout = try dropout.field("classifier")?.fraction()
        } else if let field = map.field("dropout") {
            throw field.typeError("a mapping with hidden, attention and classifier")
        }
        return out
    }

    /// `balanced`, or a mapping from labels to positive weights (unnamed labels weigh 1).
    func classWeights(_ field: Field, labels: [String]) throws(SuiteError) -> ClassWeighting {
        if case .scalar = field.node {
            _ = try field.choice(["balanced"])
            return .balanced
        }
        guard let entries = try field.orderedEntries() else {
            throw field.typeError("balanced, or a mapping from labels to weights such as {grain: 5}")
        }
        var weights = [Double](repeating: 1, count: labels.count)
        for (label, value) in entries {
            guard let index = labels.firstIndex(of: label) else {
                throw value.error("no class \(Field.quoted(label)) in the task's labels" + Suggestions.hint(label, labels)
                                  + " (labels: \(labels.joined(separator: ", ")))")
            }
            weights[index] = try value.positiveNumber()
        }
        return .explicit(weights)
    }

    // MARK: candidates

    func candidates(_ field: Field, defaults: TrainingDefaults, seed: UInt64, labels: [String]) throws(SuiteError) -> [CandidateSpec] {
        let items = try field.list(expected: "a list of candidates")
        guard !items.isEmpty else { throw field.error("expected at least one candidate") }
        var out: [CandidateSpec] = []
        var nameLines: [String: Int] = [:]
        for item in items {
            let candidate = try self.candidate(item, defaults: defaults, seed: seed, labels: labels)
            let nameLine = context.lines["\(item.path).name"] ?? item.line
            if let firstLine = nameLines[candidate.name] {
                throw context.error(nameLine, "\(item.path).name",
                                    "duplicate candidate name \(Field.quoted(candidate.name)) (first used on line \(firstLine))")
            }
            nameLines[candidate.name] = nameLine
            out.append(candidate)
        }
        return out
    }

    func candidate(_ field: Field, defaults: TrainingDefaults, seed: UInt64, labels: [String]) throws(SuiteError) -> CandidateSpec {
        let map = try field.mapping(allowed: Self.candidateOwnKeys + Self.trainingKeys, what: "a mapping with name and method")
        let name = try map.required("name", "a name of letters, digits, '.', '_' or '-'").name()
        let methodField = try map.required("method", "one of full, lora, qlora, prompt, base")
        let method = CandidateSpec.Method(rawValue: try methodField.choice(CandidateSpec.Method.allCases.map(\.rawValue)))!
        if !method.trains {
            // Nothing trains, so a training key would be silently ignored: refuse it instead.
            if let key = map.entries.keys.sorted().first(where: { $0 != "name" && $0 != "method" }) {
                throw context.error(map.keyLine(key), Field.child(field.path, key),
                                    "method base trains nothing (the model answers zero-shot); it takes only name and method")
            }
            // One evaluation: the answer is deterministic, so more seeds would repeat it.
            var training = defaults.resolved(method: method, seed: seed)
            training.seeds = 1
            return CandidateSpec(name: name, method: method, training: training)
        }

        // Which keys each method takes; any other method key is an error on its own line.
        let methodKeys: [String: [CandidateSpec.Method]] = [
            "freeze_embeddings": [.full], "rank": [.lora, .qlora], "alpha": [.lora, .qlora],
            "target_modules": [.lora, .qlora], "double_quantization": [.qlora], "quantization": [.qlora],
            "num_virtual_tokens": [.prompt], "init": [.prompt], "init_text": [.prompt],
        ]
        for key in Self.candidateOwnKeys where map.entries[key] != nil {
            guard let methods = methodKeys[key], !methods.contains(method) else { continue }
            throw context.error(map.keyLine(key), Field.child(field.path, key),
                                "only used with method \(methods.map(\.rawValue).joined(separator: " or ")) (this candidate's method is \(method.rawValue))")
        }

        // `dropout`: a number is the LoRA dropout; a mapping overrides the training dropouts.
        var loraDropout: Double?
        var trainingOverrides: TrainingDefaults
        if let dropout = map.field("dropout"), case .scalar = dropout.node {
            guard method == .lora || method == .qlora else {
                throw dropout.error("a number is the LoRA dropout, only used with method lora or qlora; to override the training dropouts write a mapping with hidden, attention, classifier")
            }
            loraDropout = try dropout.fraction()
            var withoutDropout = map.entries
            withoutDropout["dropout"] = nil
            trainingOverrides = try trainingBlock(Mapping(path: map.path, line: map.line, entries: withoutDropout, context: context),
                                                  labels: labels)
        } else {
            trainingOverrides = try trainingBlock(map, labels: labels)
        }
        let training = trainingOverrides.overriding(defaults).resolved(method: method, seed: seed)
        var spec = CandidateSpec(name: name, method: method, training: training)

        switch method {
        case .full:
            spec.freezeEmbeddings = try map.field("freeze_embeddings")?.bool() ?? false
        case .lora, .qlora:
            spec.rank = try map.field("rank")?.positiveInt() ?? 8
            spec.alpha = try map.field("alpha")?.positiveNumber() ?? 16
            spec.loraDropout = loraDropout ?? 0
            spec.targetModules = try map.field("target_modules").map { (f: Field) throws(SuiteError) in try targetModules(f) }
                ?? ["query", "value"]
            if method == .qlora {
                spec.doubleQuantization = try map.field("double_quantization")?.bool() ?? false
                spec.quantization = try map.field("quantization").map { (f: Field) throws(SuiteError) in
                    CandidateSpec.BaseQuantization(rawValue: try f.choice(CandidateSpec.BaseQuantization.allCases.map(\.rawValue)))!
                }
                if spec.quantization == .gguf, spec.doubleQuantization == true {
                    throw context.error(map.keyLine("double_quantization"), Field.child(field.path, "double_quantization"),
                                        "quantises NF4 block scales; quantization gguf keeps the file's own blocks: leave it out")
                }
            }
        case .prompt:
            spec.numVirtualTokens = try map.field("num_virtual_tokens")?.int(1...256, expected: "an integer from 1 to 256") ?? 20
            let initKind = try map.field("init")?.choice(["vocab", "text"]) ?? "vocab"
            if initKind == "text" {
                guard let text = map.field("init_text") else {
                    throw context.error(map.keyLine("init"), Field.child(field.path, "init_text"),
                                        "required when init is text; expected the text whose token embeddings start the prompt")
                }
                spec.promptInit = .text(try text.nonEmptyString())
            } else {
                if map.entries["init_text"] != nil {
                    throw context.error(map.keyLine("init_text"), Field.child(field.path, "init_text"),
                                        "only used with init: text (init is vocab)")
                }
                spec.promptInit = .vocab
            }
        case .base:
            break  // returned above: nothing to read
        }
        return spec
    }

    func targetModules(_ field: Field) throws(SuiteError) -> [String] {
        let items = try field.list(expected: "a list of module names or [all-linear]")
        guard !items.isEmpty else { throw field.error("expected at least one module name, or all-linear") }
        var out: [String] = []
        for item in items {
            let name = try item.nonEmptyString()
            if name == "all-linear" {
                guard items.count == 1 else { throw item.error("all-linear stands alone; it already names every linear layer") }
                return ["all-linear"]
            }
            guard Self.loraTargets.contains(name) else {
                throw item.error("unknown module \(Field.quoted(name)); expected query, key, value, attention.output.dense, intermediate.dense, output.dense (an encoder), q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (a decoder) or all-linear"
                                 + Suggestions.hint(name, Self.loraTargets + ["all-linear"]))
            }
            guard !out.contains(name) else { throw item.error("module \(Field.quoted(name)) is listed twice") }
            out.append(name)
        }
        return out
    }

    // MARK: comparison, checks

    func comparison(_ field: Field) throws(SuiteError) -> ComparisonSettings {
        let map = try field.mapping(allowed: ["bootstrap_resamples", "confidence", "multiple_testing"])
        let multipleTesting = try map.field("multiple_testing").map { (f: Field) throws(SuiteError) in
            MultipleTesting(rawValue: try f.choice(MultipleTesting.allCases.map(\.rawValue)))!
        } ?? MultipleTesting.none
        return ComparisonSettings(
            bootstrapResamples: try map.field("bootstrap_resamples")?.int(100...1_000_000, expected: "an integer from 100 to 1000000") ?? 1000,
            confidence: try map.field("confidence")?.number(expected: "a number between 0.5 and 1 (exclusive)") { $0 > 0.5 && $0 < 1 } ?? 0.95,
            multipleTesting: multipleTesting)
    }

    func checks(_ field: Field, candidates: [CandidateSpec], retention: RetentionSpec, task: TaskSpec) throws(SuiteError) -> [CheckSpec] {
        let items = try field.list(expected: "a list of checks")
        var out: [CheckSpec] = []
        for item in items {
            out.append(try check(item, candidates: candidates, retention: retention, task: task))
        }
        return out
    }

    func check(_ field: Field, candidates: [CandidateSpec], retention: RetentionSpec, task: TaskSpec) throws(SuiteError) -> CheckSpec {
        let map = try field.mapping(allowed: ["metric", "min", "max", "non_inferior_to", "margin", "bound", "candidates"],
                                    what: "a mapping with metric and one of min, max or non_inferior_to")
        let metricField = try map.required("metric", "a metric name such as accuracy")
        let metric = try metricField.nonEmptyString()
        try validateMetric(metric, field: metricField, retention: retention, task: task)

        let kinds = ["min", "max", "non_inferior_to"].filter { map.has($0) }
        guard kinds.count == 1 else {
            let message = kinds.isEmpty
                ? "expected one of min, max or non_inferior_to"
                : "give only one of min, max or non_inferior_to (got \(kinds.joined(separator: " and "))); write one check for each"
            throw context.error(kinds.isEmpty ? field.line : map.keyLine(kinds[1]), field.path, message)
        }
        let kind: CheckSpec.Kind
        var bound = CheckSpec.Bound.value
        let promptNames = candidates.filter { $0.method == .prompt }.map(\.name)
        var reference: String?
        switch kinds[0] {
        case "min", "max":
            let valueField = map.field(kinds[0])!
            let value = try valueField.anyNumber()
            if isFraction(metric, task: task), !(0...1).contains(value) {
                throw valueField.error("\(metric) is a fraction from 0 to 1, and \(kinds[0]) \(Self.shortest(value)) is outside it"
                                       + Self.percentHint(value))
            }
            kind = kinds[0] == "min" ? .minimum(value) : .maximum(value)
            if map.entries["margin"] != nil {
                throw context.error(map.keyLine("margin"), Field.child(field.path, "margin"), "only used with non_inferior_to")
            }
            if let boundField = map.field("bound") {
                bound = CheckSpec.Bound(rawValue: try boundField.choice(["value", "ci_low", "ci_high"]))!
                if bound != .value, task.generation != nil, !CheckMetrics.generation.contains(metric) {
                    throw boundField.error("\(metric) has no confidence interval; ci_low and ci_high apply to \(CheckMetrics.generation.joined(separator: ", "))")
                }
                if bound != .value, task.generation == nil,
                   !CheckMetrics.hasConfidenceInterval(metric, labels: task.labels, positiveClass: task.positiveClass) {
                    throw boundField.error("\(metric) has no confidence interval; ci_low and ci_high apply to \(CheckMetrics.headline.joined(separator: ", ")) and the per-class precision[<label>], recall[<label>], f1[<label>] (and roc_auc, pr_auc with positive_label)")
                }
            }
        default:
            let referenceField = map.field("non_inferior_to")!
            let name = try referenceField.choice(["prompt", "baseline"])
            if map.entries["bound"] != nil {
                throw context.error(map.keyLine("bound"), Field.child(field.path, "bound"),
                                    "not used with non_inferior_to (the decision uses the paired-bootstrap interval of the difference)")
            }
            if name == "prompt" {
                guard promptNames.count == 1 else {
                    throw referenceField.error(promptNames.isEmpty
                        ? "needs a candidate with method: prompt; the suite has none"
                        : "is ambiguous: candidates \(promptNames.joined(separator: ", ")) all use method prompt")
                }
                reference = promptNames[0]
            }
            // `non_inferior_to: baseline` needs no `baseline:` key: the run's --baseline can supply it,
            // and without any baseline (a first run on main) the check is skipped.
            let marginField = try map.required("margin", "the largest tolerated loss, a non-negative number")
            let margin = try marginField.nonNegativeNumber()
            if isFraction(metric, task: task), margin >= 1 {
                throw marginField.error("\(metric) is a fraction from 0 to 1, so a margin of \(Self.shortest(margin)) tolerates any loss"
                                        + Self.percentHint(margin))
            }
            kind = .nonInferior(reference: name, margin: margin)
        }

        var names: [String]?
        if let listField = map.field("candidates") {
            let items = try listField.list(expected: "a list of candidate names")
            guard !items.isEmpty else { throw listField.error("expected at least one candidate name (omit the key for every candidate)") }
            var list: [String] = []
            let known = candidates.map(\.name)
            for item in items {
                let name = try item.nonEmptyString()
                guard known.contains(name) else {
                    throw item.error("no candidate named \(Field.quoted(name))" + Suggestions.hint(name, known)
                                     + " (candidates: \(known.joined(separator: ", ")))")
                }
                guard !list.contains(name) else { throw item.error("candidate \(Field.quoted(name)) is listed twice") }
                if let reference, name == reference {
                    throw item.error("\(Field.quoted(name)) is the prompt reference itself; it cannot be non-inferior to itself")
                }
                list.append(name)
            }
            names = list
        }
        return CheckSpec(metric: metric, kind: kind, bound: bound, candidates: names)
    }

    /// Metrics whose values are fractions in [0, 1]: accuracy, the macro and per-class precision,
    /// recall and F1, and ECE (not log loss, which is unbounded).
    func isFraction(_ metric: String, task: TaskSpec) -> Bool {
        if task.generation != nil { return GenerationMetric(rawValue: metric)?.isFraction ?? false }
        guard let predictionMetric = Gate.predictionMetric(metric, labels: task.labels, positiveClass: task.positiveClass) else { return false }
        return predictionMetric.kind != .logLoss
    }

    /// "; did you mean 0.8?" for a value written as a percentage (1 < value ≤ 100).
    static func percentHint(_ value: Double) -> String {
        value > 1 && value <= 100 ? "; did you mean \(shortest(value / 100))?" : ""
    }

    /// The shortest decimal text of a number: 0.8, 80, 0.04.
    static func shortest(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    func validateMetric(_ metric: String, field: Field, retention: RetentionSpec, task: TaskSpec) throws(SuiteError) {
        let labels = task.labels
        let isGeneration = task.generation != nil
        let known = CheckMetrics.all(retentionChecks: retention.checkNames, generation: isGeneration)
        if known.contains(metric) { return }
        if isGeneration, Gate.predictionMetric(metric, labels: [], positiveClass: nil) != nil || metric.contains("[") || metric == "roc_auc" || metric == "pr_auc" {
            throw field.error("\(metric) measures a classification; a generation task's test metrics are \(CheckMetrics.generation.joined(separator: ", "))")
        }
        switch PredictionMetric.named(metric, labels: labels, positiveClass: task.positiveClass) {
        case .success: return
        case .failure(.needsPositiveLabel(let name)):
            throw field.error(labels.count == 2
                ? "\(name) ranks the positive class: set task.positive_label to one of \(labels.joined(separator: ", "))"
                : "\(name) needs a binary task with task.positive_label; this task has \(labels.count) labels")
        case .failure(.unknownLabel(let label)):
            throw field.error("no class \(Field.quoted(label)) in the task's labels" + Suggestions.hint(label, labels)
                              + " (labels: \(labels.joined(separator: ", ")))")
        case .failure(.notPerClass(let base)):
            throw field.error("\(base) is not a per-class metric; per class there are precision[<label>], recall[<label>] and f1[<label>]")
        case .failure(.notAPredictionMetric):
            break
        }
        if metric.hasPrefix("forgetting.") {
            guard let parts = CheckMetrics.forgettingParts(metric) else {
                throw field.error("unknown metric \(Field.quoted(metric)); forgetting metrics are forgetting.<similarity:NAME | probe:NAME | lm:NAME>.<absolute_drop | relative_drop | candidate>"
                                  + Suggestions.hint(metric, known))
            }
            let defined = retention.checkNames.isEmpty ? "the suite defines no retention checks"
                : "defined: " + retention.checkNames.joined(separator: ", ")
            throw field.error("no retention check named \(Field.quoted(parts.check))" + Suggestions.hint(parts.check, retention.checkNames)
                              + " (\(defined))")
        }
        let listed = (isGeneration ? CheckMetrics.generation : CheckMetrics.headline) + CheckMetrics.overfitting + CheckMetrics.training
        let perClass = labels.flatMap { label in
            [PredictionMetric.Kind.precision, .recall, .f1].map { PredictionMetric.perClassName($0, label: label) }
        } + (task.positiveClass == nil ? [] : [PredictionMetric.Kind.rocAUC.rawValue, PredictionMetric.Kind.prAUC.rawValue])
        throw field.error("unknown metric \(Field.quoted(metric))" + Suggestions.hint(metric, known + perClass)
                          + " (known: \(listed.joined(separator: ", "))\(isGeneration ? "" : ", precision[<label>], recall[<label>], f1[<label>]"), forgetting.<retention check>.<absolute_drop | relative_drop | candidate>)")
    }

    // MARK: YAML syntax errors

    static func convert(_ error: YamlError, file: String, text: String) -> SuiteError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text) on line \(context.mark.line))" }
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if mark.line >= 1, mark.line <= lines.count, lines[mark.line - 1].prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
                message += "; indent with spaces, not tabs"
            }
            return SuiteError(file: file, line: mark.line, message: message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { Field.quoted($0) }.joined(separator: ", ")
            let line = secondOccurrenceLine(of: duplicates.first ?? "", after: context.mark.line, in: text) ?? context.mark.line
            return SuiteError(file: file, line: line, field: duplicates.first,
                              message: "duplicate key \(keys) in one mapping (first on line \(context.mark.line))")
        case .reader(let problem, let offset, _, _):
            let line = offset.map { offset in text.prefix(offset).reduce(1) { $1 == "\n" ? $0 + 1 : $0 } }
            return SuiteError(file: file, line: line, message: "unreadable YAML: \(problem)")
        default:
            return SuiteError(file: file, message: "invalid YAML: \(error)")
        }
    }

    /// The line where a duplicated key appears again at the same indentation (best effort).
    static func secondOccurrenceLine(of key: String, after firstLine: Int, in text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard firstLine >= 1, firstLine <= lines.count, !key.isEmpty else { return nil }
        func keyColumn(_ line: Substring) -> Int? {
            var rest = line[...]
            var column = 0
            while let c = rest.first, c == " " || c == "-" { rest = rest.dropFirst(); column += 1 }
            guard rest.hasPrefix(key) else { return nil }
            let after = rest.dropFirst(key.count).drop { $0 == " " }
            return after.first == ":" ? column : nil
        }
        guard let column = keyColumn(lines[firstLine - 1]) else { return nil }
        for index in firstLine..<lines.count where keyColumn(lines[index]) == column {
            return index + 1
        }
        return nil
    }
}
