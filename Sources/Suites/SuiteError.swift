/// A problem with a suite file or a data file it names. The description is one line that names
/// the file, the line (when known) and the field (when there is one), then what was expected:
///
///     suites/x.yaml:14: candidates[2].rank: expected a positive integer, got "eight"
///     data/movie/train.jsonl:7: label: "neutral" is not one of the task's labels (negative, positive)
///
/// The command-line tool prints it and exits with code 2.
public struct SuiteError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file the problem is in, as the user named it (relative paths stay relative).
    public var file: String
    /// 1-based line number, nil when the problem concerns the whole file (e.g. it is missing).
    public var line: Int?
    /// The field: a key path in a suite file (`candidates[2].rank`), a column or key in a data file.
    public var field: String?
    /// What is wrong and what was expected.
    public var message: String

    public init(file: String, line: Int? = nil, field: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let field { text += "\(field): " }
        return text + message
    }
}
