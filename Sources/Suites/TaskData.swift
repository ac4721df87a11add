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

    /// Reads the three splits, applies the limits (`Subset.first`), and checks that every label
    /// in validation and test occurs in the (limited) training split.
    public static func load(_ task: TaskSpec) throws(SuiteError) -> TaskData {
        var loaded: [Dataset.LoadedExamples] = []
        let splits = [("train", task.train, task.limit.train), ("validation", task.validation, task.limit.validation),
                      ("test", task.test, task.limit.test)]
        var files: [DataFileIdentity] = []
        for (role, file, limit) in splits {
            var split = try Dataset.loadExamples(path: file.path, format: file.format, idField: task.idField,
                                                 textField: task.textField, labelField: task.labelField, labels: task.labelValues)
            let keep = Subset.indices(limit, of: split.examples) { $0.id }
            if keep.count < split.examples.count {
                split.examples = keep.map { split.examples[$0] }
                split.lines = keep.map { split.lines[$0] }
            }
            files.append(DataFileIdentity(role: role, path: file.path, sha256: split.sha256, examples: split.examples.count))
            loaded.append(split)
        }
        let (train, validation, test) = (loaded[0], loaded[1], loaded[2])

        let trainLabels = Set(train.examples.map(\.label))
        for (role, file, split) in [("validation", task.validation, validation), ("test", task.test, test)] {
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
                        contamination: contamination, files: files, warnings: warnings)
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

/// Every retention data set of a suite.
public struct RetentionData: Sendable, Equatable {
    public var similarity: [SimilarityData]
    public var probes: [ProbeData]

    public var files: [DataFileIdentity] { similarity.map(\.file) + probes.flatMap(\.files) }

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
        return RetentionData(similarity: similarity, probes: probes)
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
