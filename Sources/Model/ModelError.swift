/// Bad input: a model file or config that cannot be used as given. The CLI maps it to exit code 2.
///
/// `detail` names the tensor or field and says what was expected, so the message alone is enough
/// for a user to find and fix the problem.
public struct ModelInputError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let detail: String

    public init(file: String, detail: String) {
        self.file = file
        self.detail = detail
    }

    public var description: String { "\(file): \(detail)" }
}
