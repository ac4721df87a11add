import ArgumentParser
import Foundation
import Adapters
import History
import Reports
import Runner
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
    } catch let error as HistoryError {
        printError(error.description); throw Exit.badInput
    } catch let error as ShardSelection.Problem {
        printError(error.description); throw Exit.badInput
    } catch let error as OutputError {
        printError(error.description); throw Exit.runFailed
    }
}

/// An output that could not be written (not a folder, no permission, disk full): the run produced
/// no trustworthy result, so exit 3, with the path and the system's reason.
struct OutputError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "cannot write \(path): \(reason)" }

    /// The system's reason in words (POSIX errno text where there is one), not Foundation's domain/code text.
    static func reason(_ error: Error) -> String {
        if let report = error as? ReportWriteError { return report.reason }
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        switch CocoaError.Code(rawValue: nsError.code) {
        case .fileWriteFileExists: return "a file of that name exists where a folder is needed"
        case .fileWriteNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteVolumeReadOnly: return "read-only file system"
        default: return nsError.localizedDescription
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
