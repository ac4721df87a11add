import Foundation

/// Reads a whole input file (a model's config, weights or vocabulary) or says in words why it
/// cannot — "is a folder, not a file", "no such file", "permission denied" — rather than
/// Foundation's "The operation could not be completed (NSCocoaErrorDomain error 256)". Every
/// module that reads a user's file (model files, vocabularies, suites' data) reads it here.
public enum InputFile {
    public struct Problem: Error, CustomStringConvertible {
        public let reason: String
        /// The file does not exist (callers may add where a relative path was looked for).
        public var isMissing = false
        public var description: String { reason }
    }

    /// The file's bytes; `mapped` memory-maps them (large weight files).
    public static func contents(of url: URL, mapped: Bool = false) throws(Problem) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw Problem(reason: "no such file", isMissing: true)
        }
        guard !isDirectory.boolValue else { throw Problem(reason: "is a folder, not a file") }
        guard FileManager.default.isReadableFile(atPath: url.path) else { throw Problem(reason: "permission denied") }
        // Foundation leaks its 4 KiB read buffer for an empty file (found by fuzz-datafile with
        // LeakSanitizer): an empty file is empty Data without reading it.
        if let size = try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int, size == 0 {
            return Data()
        }
        do {
            return try Data(contentsOf: url, options: mapped ? .alwaysMapped : [])
        } catch {
            let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
            if let underlying, underlying.domain == NSPOSIXErrorDomain {
                throw Problem(reason: String(cString: strerror(Int32(underlying.code))))
            }
            throw Problem(reason: "cannot be read (\(error.localizedDescription))")
        }
    }
}
