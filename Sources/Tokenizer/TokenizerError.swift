import Foundation

/// A tokenizer file that could not be used. The message names the file (and line, when one is at
/// fault) and says what was expected, so a user can fix the file without reading our code.
public struct TokenizerError: Error, CustomStringConvertible {
    public let file: URL
    /// 1-based line number of the offending line, when the problem is on one line.
    public let line: Int?
    public let message: String

    public init(file: URL, line: Int? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line {
            return "\(file.path):\(line): \(message)"
        }
        return "\(file.path): \(message)"
    }
}
