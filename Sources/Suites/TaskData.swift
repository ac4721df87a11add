import Evaluation

/// A text that occurs in the training split and also in validation or test (exact string match):
/// a score on it measures memory, not generalisation. Reported, not an error.
public struct Contamination: Sendable, Equatable {
    /// "validation" or "test".
    public var split: String
    /// The example's id in that split.
    public var id: String
    /// The id of the first training example with the same text.
    public var trainID: String
    public var text: String
    public init(split: String, id: String, trainID: String, text: String) {
        self.split = split; self.id = id; self.trainID = trainID; self.text = text
    }
}

/// The task's three splits after `limit:`, checked against each other.
public struct TaskData: Sendable, Equatable {
    /// Class names; index = class id.
    public var labels: [String]
    public var train: [Example]
    public var validation: [Example]
    public var test: [Example]
    /// Validation and test examples whose text is also in train (validation first, file order).
    public var contamination: [Contamination]
    /// train, validation, test: path, SHA-256 of the whole file, examples kept after the limit.
    public var files: [DataFileIdentity]
    /// Things worth knowing that do not stop a run, e.g. a declared label that never occurs in train.
    public var warnings: [String]
    /// How the examples were divided and the class counts of each split.
    public var splits: DataSplits

    /// Reads the three splits (or divides the one file, `HashSplit`), applies the limits
    /// (`Subset.first`), and checks that every label in validation and test occurs in the (limited)
    /// training split and that a positive label occurs in validation and test.
    public static func load(_ task: TaskSpec) throws(SuiteError) -> TaskData {
        var loaded: [Dataset.LoadedExamples] = []
        var files: [DataFileIdentity] = []
        let limits = [task.limit.train, task.limit.validation, task.limit.test]
        let answerField = task.generation?.answerField
        if let oneFile = task.oneFile {
            let all = try Dataset.loadExamples(path: oneFile.file.path, format: oneFile.file.format,
                                               idField: oneFile.idsFromContent ? nil : task.idField, textField: task.textField,
                                               labelField: task.labelField, labels: task.labelValues, answerField: answerField)
            let hashes = all.examples.map {
                HashSplit.contentHash(text: $0.text, label: answerField == nil ? task.labelValues[$0.label] : $0.answers.joined(separator: "\u{1F}"))
            }
            let roles = HashSplit.assign(hashes: hashes, classes: all.examples.map(\.label), validation: oneFile.validation,
                                         test: oneFile.test, stratify: oneFile.stratify)
            for role in HashSplit.Role.allCases {
                let members = roles.indices.filter { roles[$0] == role }
                guard !members.isEmpty else {
                    throw SuiteError(file: oneFile.file.path, field: "split",
                                     message: "the \(role.name) split is empty: \(all.examples.count) examples are too few for the shares asked (validation \(oneFile.validation), test \(oneFile.test))")
                }
                loaded.append(Dataset.LoadedExamples(examples: members.map { all.examples[$0] }, lines: members.map { all.lines[$0] },
                                                     sha256: all.sha256))
            }
            files.append(DataFileIdentity(role: "data", path: oneFile.file.path, sha256: all.sha256, examples: all.examples.count))
        } else {
            for file in [task.train, task.validation, task.test] {
                loaded.append(try Dataset.loadExamples(path: file.path, format: file.format, idField: task.idField,
                                                       textField: task.textField, labelField: task.labelField, labels: task.labelValues,
                                                       answerField: answerField))
            }
        }
        for (index, role) in HashSplit.Role.allCases.enumerated() {
            let keep = Subset.indices(limits[index], of: loaded[index].examples) { $0.id }
            if keep.count < loaded[index].examples.count {
                loaded[index].examples = keep.map { loaded[index].examples[$0] }
                loaded[index].lines = keep.map { loaded[index].lines[$0] }
            }
            if task.oneFile == nil {
                let file = [task.train, task.validation, task.test][index]
                files.append(DataFileIdentity(role: role.name, path: file.path, sha256: loaded[index].sha256,
                                              examples: loaded[index].examples.count))
            }
        }
        let (train, validation, test) = (loaded[0], loaded[1], loaded[2])
        if let positive = task.positiveClass {
            for (role, split) in [("validation", validation), ("test", test)] where !split.examples.contains(where: { $0.label == positive }) {
                throw SuiteError(file: [task.validation, task.test][role == "test" ? 1 : 0].path, field: "positive_label",
                                 message: "the \(role) split has no example of the positive label \(Field.quoted(task.labels[positive])): its ROC-AUC, PR-AUC and threshold would be undefined")
            }
        }
        // A generation task has no classes: each split's count is its one entry.
        let classCount = task.generation == nil ? task.labels.count : 1
        var splits = DataSplits(method: task.oneFile == nil ? "files" : "content_hash",
                                train: counts(train.examples, classCount), validation: counts(validation.examples, classCount),
                                test: counts(test.examples, classCount))
        if let oneFile = task.oneFile {
            splits.file = oneFile.file.path; splits.validationShare = oneFile.validation; splits.testShare = oneFile.test
            splits.stratified = oneFile.stratify; splits.generatedIDs = oneFile.idsFromContent
        }

        let trainLabels = Set(train.examples.map(\.label))
        for (role, file, split) in [("validation", task.validation, validation), ("test", task.test, test)] where task.generation == nil {
            for (position, example) in split.examples.enumerated() where !trainLabels.contains(example.label) {
                let limited = task.limit.train.map { " after limit.train kept \($0) examples" } ?? ""
                throw SuiteError(file: file.path, line: split.lines[position], field: task.labelField,
                                 message: "\(role) label \(Field.quoted(task.labels[example.label])) never appears in the training split (\(task.train.path)\(limited))")
            }
        }
        var warnings: [String] = []
        for (index, label) in task.labels.enumerated() where !trainLabels.contains(index) {
            warnings.append("label \(Field.quoted(label)) of task.labels never appears in the training split (\(task.train.path)); the classifier cannot learn it")
        }

        var firstTrainID: [String: String] = [:]
        for example in train.examples where firstTrainID[example.text] == nil { firstTrainID[example.text] = example.id }
        var contamination: [Contamination] = []
        for (role, split) in [("validation", validation), ("test", test)] {
            for example in split.examples {
                if let trainID = firstTrainID[example.text] {
                    contamination.append(Contamination(split: role, id: example.id, trainID: trainID, text: example.text))
                }
            }
        }
        return TaskData(labels: task.labels, train: train.examples, validation: validation.examples, test: test.examples,
                        contamination: contamination, files: files, warnings: warnings, splits: splits)
    }

    /// Examples per class.
    static func counts(_ examples: [Example], _ classCount: Int) -> [Int] {
        var out = [Int](repeating: 0, count: classCount)
        for example in examples { out[example.label] += 1 }
        return out
    }
}

/// One similarity set, loaded.
public struct SimilarityData: Sendable, Equatable {
    public var spec: SimilaritySetSpec
    /// After `limit` (`Subset.first`), in file order.
    public var pairs: [SimilarityPair]
    /// Role `similarity:<name>`.
    public var file: DataFileIdentity
}

/// One probe's data, loaded.
public struct ProbeData: Sendable, Equatable {
    public var spec: ProbeSpec
    /// The probe's classes: `spec.labels`, or the sorted distinct labels of its train file.
    public var labels: [String]
    public var train: [Example]
    public var test: [Example]
    /// Roles `probe:<name>:train` and `probe:<name>:test`.
    public var files: [DataFileIdentity]
}

/// One language-modelling text set, loaded.
public struct TextSetData: Sendable, Equatable {
    public var spec: TextSetSpec
    /// After `limit` (`Subset.first`), in file order.
    public var texts: [IdentifiedText]
    /// Role `lm:<name>`.
    public var file: DataFileIdentity
}

/// One zero-shot retention task, loaded.
public struct ZeroShotData: Sendable, Equatable {
    public var spec: ZeroShotTaskSpec
    /// After `limit` (`Subset.first`), in file order.
    public var examples: [Example]
    /// Role `zero_shot:<name>`.
    public var file: DataFileIdentity
}

/// Every retention data set of a suite.
public struct RetentionData: Sendable, Equatable {
    public var similarity: [SimilarityData]
    public var probes: [ProbeData]
    public var languageModeling: [TextSetData] = []
    public var zeroShot: [ZeroShotData] = []

    public var files: [DataFileIdentity] {
        similarity.map(\.file) + probes.flatMap(\.files) + languageModeling.map(\.file) + zeroShot.map(\.file)
    }

    public static func load(_ retention: RetentionSpec) throws(SuiteError) -> RetentionData {
        var similarity: [SimilarityData] = []
        for set in retention.similarity {
            let loaded = try Dataset.loadPairs(path: set.file.path, format: set.file.format, idField: set.idField,
                                               textAField: set.textAField, textBField: set.textBField, scoreField: set.scoreField)
            let pairs = Subset.first(set.limit, of: loaded.pairs) { $0.id }
            similarity.append(SimilarityData(spec: set, pairs: pairs, file: DataFileIdentity(
                role: set.checkName, path: set.file.path, sha256: loaded.sha256, examples: pairs.count)))
        }
        var probes: [ProbeData] = []
        for probe in retention.probes {
            let train = try Dataset.loadExamples(path: probe.train.path, format: probe.train.format, idField: probe.idField,
                                                 textField: probe.textField, labelField: probe.labelField, labels: probe.labels)
            let labels = probe.labels ?? train.discoveredLabels ?? []
            let test = try Dataset.loadExamples(path: probe.test.path, format: probe.test.format, idField: probe.idField,
                                                textField: probe.textField, labelField: probe.labelField, labels: labels)
            let trainKept = Subset.first(probe.limit.train, of: train.examples) { $0.id }
            let testKept = Subset.first(probe.limit.test, of: test.examples) { $0.id }
            probes.append(ProbeData(spec: probe, labels: labels, train: trainKept, test: testKept, files: [
                DataFileIdentity(role: "\(probe.checkName):train", path: probe.train.path, sha256: train.sha256, examples: trainKept.count),
                DataFileIdentity(role: "\(probe.checkName):test", path: probe.test.path, sha256: test.sha256, examples: testKept.count),
            ]))
        }
        var languageModeling: [TextSetData] = []
        for set in retention.languageModeling {
            let loaded = try Dataset.loadTexts(path: set.file.path, format: set.file.format, idField: set.idField, textField: set.textField)
            let texts = Subset.first(set.limit, of: loaded.texts) { $0.id }
            languageModeling.append(TextSetData(spec: set, texts: texts, file: DataFileIdentity(
                role: set.checkName, path: set.file.path, sha256: loaded.sha256, examples: texts.count)))
        }
        var zeroShot: [ZeroShotData] = []
        for task in retention.zeroShot {
            let loaded = try Dataset.loadExamples(path: task.file.path, format: task.file.format, idField: task.idField,
                                                  textField: task.textField, labelField: task.labelField, labels: task.labelValues)
            let examples = Subset.first(task.limit, of: loaded.examples) { $0.id }
            zeroShot.append(ZeroShotData(spec: task, examples: examples, file: DataFileIdentity(
                role: task.checkName, path: task.file.path, sha256: loaded.sha256, examples: examples.count)))
        }
        return RetentionData(similarity: similarity, probes: probes, languageModeling: languageModeling, zeroShot: zeroShot)
    }
}

/// All the data a suite names, loaded and checked.
public struct SuiteData: Sendable, Equatable {
    public var task: TaskData
    public var retention: RetentionData
    /// results.json `data`: the task's splits, then the retention files.
    public var files: [DataFileIdentity] { task.files + retention.files }
}

extension SuiteSpec {
    /// Loads the task and retention data (call `validateFiles()` first for errors that point at
    /// the suite's lines).
    public func loadData() throws(SuiteError) -> SuiteData {
        SuiteData(task: try TaskData.load(task), retention: try RetentionData.load(retention))
    }
}
