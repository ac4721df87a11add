import ArgumentParser
import Foundation
import Adapters
import Model
import Suites
import Tokenizer

/// Exit codes, as documented in the README: 0 pass, 1 a gated check failed, 2 bad input or usage,
/// 3 a run failed.
enum Exit {
    static let badInput = ExitCode(2)
    static let runFailed = ExitCode(3)
}

/// A bad-input error whose message already names the file, line or field.
struct InputError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body`, turning known input errors into one clear line on stderr and exit code 2.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ModelInputError {
        printError(error.description); throw Exit.badInput
    } catch let error as TokenizerError {
        printError(error.description); throw Exit.badInput
    } catch let error as SuiteError {
        printError(error.description); throw Exit.badInput
    } catch let error as AdapterConfigurationError {
        printError(error.description); throw Exit.badInput
    } catch let error as InputError {
        printError(error.description); throw Exit.badInput
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
