import Foundation

/// A report that could not be written; says which file and why.
public struct ReportWriteError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot write \(path): \(reason)" }
}

/// Writes a file so that readers see either the old file or the whole new one, never a part:
/// the bytes go to a uniquely named temporary file in the same folder (the same file system, so
/// the rename is atomic), are flushed to disk, and the temporary file is then renamed over the
/// destination. On any failure the temporary file is removed and the destination left untouched.
enum AtomicFile {
    static func write(_ data: Data, to url: URL) throws {
        let destination = url.standardizedFileURL.path
        let folder = url.standardizedFileURL.deletingLastPathComponent().path
        var template = Array((folder + "/." + url.lastPathComponent + ".XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw ReportWriteError(path: destination, reason: "cannot create a temporary file in \(folder): \(lastError())")
        }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            // mkstemp creates the file readable by its owner only; a report is for everyone.
            guard fchmod(descriptor, 0o644) == 0 else {
                throw ReportWriteError(path: destination, reason: "cannot set permissions: \(lastError())")
            }
            try handle.close()
            guard rename(temporary, destination) == 0 else {
                throw ReportWriteError(path: destination, reason: "cannot rename \(temporary) into place: \(lastError())")
            }
        } catch {
            try? handle.close()
            unlink(temporary)
            if let error = error as? ReportWriteError { throw error }
            throw ReportWriteError(path: destination, reason: "\(error)")
        }
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
