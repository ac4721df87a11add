import Foundation

/// One labelled text of a classification split.
public struct Example: Sendable, Equatable, Hashable {
    /// The record's id as text (numeric ids become "17", "2.5").
    public var id: String
    public var text: String
    /// Index into the task's labels (0 in a generation task, which has none).
    public var label: Int
    /// A generation task's accepted answers, the first the one trained on (empty in a classification task).
    public var answers: [String] = []
    public init(id: String, text: String, label: Int) { self.id = id; self.text = text; self.label = label }
    public init(id: String, text: String, answers: [String]) { self.id = id; self.text = text; self.label = 0; self.answers = answers }
}

/// Two texts and a human similarity score (on the data set's own scale).
public struct SimilarityPair: Sendable, Equatable, Hashable {
    public var id: String
    public var textA: String
    public var textB: String
    public var score: Double
    public init(id: String, textA: String, textB: String, score: Double) {
        self.id = id; self.textA = textA; self.textB = textB; self.score = score
    }
}

/// A text with its id (a language-modelling set).
public struct IdentifiedText: Sendable, Equatable, Hashable {
    public var id: String
    public var text: String
    public init(id: String, text: String) { self.id = id; self.text = text }
}

/// Readers of data files (JSONL, CSV with RFC 4180 quoting, TSV without quoting; CSV and TSV need
/// a header row). Errors name the file, the line and the field: a missing file, bad JSON, a missing
/// field, a label outside `labels`, a duplicate id (with the line of the first), an empty file.
public enum Dataset {
    /// Labelled examples, in file order. `format` nil: from the extension.
    public static func load(path: String, format: DataFormat? = nil, idField: String = "id", textField: String = "text",
                            labelField: String = "label", labels: [String]) throws(SuiteError) -> [Example] {
        try loadExamples(path: path, format: format, idField: idField, textField: textField, labelField: labelField,
                         labels: labels).examples
    }

    /// Text pairs with scores, in file order.
    public static func loadSimilarity(path: String, format: DataFormat? = nil, idField: String = "id",
                                      textAField: String = "text_a", textBField: String = "text_b",
                                      scoreField: String = "score") throws(SuiteError) -> [SimilarityPair] {
        try loadPairs(path: path, format: format, idField: idField, textAField: textAField, textBField: textBField,
                      scoreField: scoreField).pairs
    }

    // MARK: With lines and hashes (for TaskData and RetentionData)

    struct LoadedExamples {
        var examples: [Example]
        /// Line of each example.
        var lines: [Int]
        var sha256: String
        /// The sorted distinct labels when none were given.
        var discoveredLabels: [String]? = nil
    }

    /// `labels` nil: any label is accepted and the list is discovered (`discovered`, sorted).
    /// `idField` nil: ids are generated from each record's content (`HashSplit.generatedIDs`).
    /// `answerField` set: a generation task's examples, each with its answers from that field (and no label).
    static func loadExamples(path: String, format: DataFormat?, idField: String?, textField: String, labelField: String,
                             labels: [String]?, answerField: String? = nil) throws(SuiteError) -> LoadedExamples {
        let file = try DataFileReader.read(path: path, format: format)
        try file.requireColumns((idField.map { [$0] } ?? []) + [textField, answerField ?? labelField])
        try requireRecords(file)
        var labelIndex: [String: Int] = [:]
        for (index, label) in (labels ?? []).enumerated() { labelIndex[label] = index }
        var firstLine: [String: Int] = [:]
        firstLine.reserveCapacity(file.records.count)
        var examples: [Example] = []
        examples.reserveCapacity(file.records.count)
        var lines: [Int] = []
        lines.reserveCapacity(file.records.count)
        var rawLabels: [String] = []
        var contentHashes: [[UInt8]] = []
        for record in file.records {
            let text = try file.text(record, textField)
            var answers: [String]?
            if let answerField { answers = try file.answers(record, answerField) }
            // An answer list hashes as its texts joined by a unit separator, like a label would.
            let label = if let answers { answers.joined(separator: "\u{1F}") } else { try file.label(record, labelField) }
            let id: String
            if let idField {
                id = try file.id(record, idField)
                if let first = firstLine[id] {
                    throw file.error(record.line, idField, "duplicate id \(Field.quoted(id)) (first on line \(first))")
                }
                firstLine[id] = record.line
            } else {
                id = ""
                contentHashes.append(HashSplit.contentHash(text: text, label: label))
            }
            var index = 0
            if let answers {
                examples.append(Example(id: id, text: text, answers: answers))
                lines.append(record.line)
                continue
            }
            if let labels {
                guard let found = labelIndex[label] else {
                    throw file.error(record.line, labelField,
                                     "\(Field.quoted(label)) is not one of the labels (allowed: \(labels.joined(separator: ", ")))")
                }
                index = found
            } else {
                rawLabels.append(label)
            }
            examples.append(Example(id: id, text: text, label: index))
            lines.append(record.line)
        }
        if idField == nil {
            for (index, id) in HashSplit.generatedIDs(hashes: contentHashes).enumerated() { examples[index].id = id }
        }
        if labels == nil {
            let discovered = Array(Set(rawLabels)).sorted()
            for (index, label) in discovered.enumerated() { labelIndex[label] = index }
            for i in examples.indices { examples[i].label = labelIndex[rawLabels[i]]! }
            return LoadedExamples(examples: examples, lines: lines, sha256: file.sha256, discoveredLabels: discovered)
        }
        return LoadedExamples(examples: examples, lines: lines, sha256: file.sha256)
    }

    struct LoadedPairs {
        var pairs: [SimilarityPair]
        var lines: [Int]
        var sha256: String
    }

    static func loadPairs(path: String, format: DataFormat?, idField: String, textAField: String, textBField: String,
                          scoreField: String) throws(SuiteError) -> LoadedPairs {
        let file = try DataFileReader.read(path: path, format: format)
        try file.requireColumns([idField, textAField, textBField, scoreField])
        try requireRecords(file)
        var firstLine: [String: Int] = [:]
        var pairs: [SimilarityPair] = []
        pairs.reserveCapacity(file.records.count)
        var lines: [Int] = []
        for record in file.records {
            let id = try file.id(record, idField)
            if let first = firstLine[id] {
                throw file.error(record.line, idField, "duplicate id \(Field.quoted(id)) (first on line \(first))")
            }
            firstLine[id] = record.line
            pairs.append(SimilarityPair(id: id, textA: try file.text(record, textAField), textB: try file.text(record, textBField),
                                        score: try file.number(record, scoreField)))
            lines.append(record.line)
        }
        return LoadedPairs(pairs: pairs, lines: lines, sha256: file.sha256)
    }

    struct LoadedTexts {
        var texts: [IdentifiedText]
        var sha256: String
    }

    /// Texts with unique ids, in file order (an empty text is refused, as everywhere).
    static func loadTexts(path: String, format: DataFormat?, idField: String, textField: String) throws(SuiteError) -> LoadedTexts {
        let file = try DataFileReader.read(path: path, format: format)
        try file.requireColumns([idField, textField])
        try requireRecords(file)
        var firstLine: [String: Int] = [:]
        var texts: [IdentifiedText] = []
        texts.reserveCapacity(file.records.count)
        for record in file.records {
            let id = try file.id(record, idField)
            if let first = firstLine[id] {
                throw file.error(record.line, idField, "duplicate id \(Field.quoted(id)) (first on line \(first))")
            }
            firstLine[id] = record.line
            texts.append(IdentifiedText(id: id, text: try file.text(record, textField)))
        }
        return LoadedTexts(texts: texts, sha256: file.sha256)
    }

    static func requireRecords(_ file: RecordFile) throws(SuiteError) {
        guard file.records.isEmpty else { return }
        if file.format != .jsonl, !file.header.isEmpty {
            throw file.error(nil, nil, "no examples: the file has a header row and nothing else (empty split)")
        }
        throw file.error(nil, nil, "no examples: the file is empty (empty split)")
    }
}

/// Deterministic subsets for `limit:`.
public enum Subset {
    /// The `count` items whose SHA-256(id) (of the id's UTF-8 bytes, compared as lowercase hex) is
    /// smallest, kept in their original order; all items when `count` is nil or not smaller. The
    /// choice depends only on the ids: it is the same on every machine and run, does not depend on
    /// the file's order, and a smaller limit keeps a subset of what a larger one keeps.
    public static func first<Item>(_ count: Int?, of items: [Item], id: (Item) -> String) -> [Item] {
        indices(count, of: items, id: id).map { items[$0] }
    }

    /// The positions `first` keeps, ascending.
    public static func indices<Item>(_ count: Int?, of items: [Item], id: (Item) -> String) -> [Int] {
        guard let count, count < items.count else { return Array(items.indices) }
        let keys = items.map { item -> [UInt8] in
            var hasher = SHA256()
            hasher.update(id(item).utf8)
            return hasher.finalize()
        }
        let order = items.indices.sorted { keys[$0].lexicographicallyPrecedes(keys[$1]) }
        return order.prefix(count).sorted()
    }
}
