import Foundation

/// The outputs of one command — results.json, junit.xml, report.html, summary.md and
/// adapters/NAME/ — replaced as a set or not at all.
///
/// Everything is written into a staging folder inside the output folder (the same file system, so
/// renames are atomic); `commit` then renames each entry into place. Until `commit` the previous
/// outputs are untouched, and `discard` — on an error or an interrupt — removes the staging folder
/// and leaves them whole. `commit` and `discard` exclude each other: an interrupt that arrives
/// during the commit's renames waits for them (microseconds) and then finds the new set whole.
///
/// The output folder may hold the user's own files (`--out .`): only the set's entries are ever
/// replaced, and nothing but an entry's previous version and the staging folder is ever deleted.
public final class OutputSet: @unchecked Sendable {
    public let directory: URL
    /// Where the set is written before `commit`: `DIR/.evalharness-staging-PID`.
    public let staging: URL
    private let lock = NSLock()
    private var finished = false

    static let stagingPrefix = ".evalharness-staging-"

    /// Creates the staging folder in `directory` (which must exist), first removing the staging
    /// folders of processes that no longer run (a run killed with SIGKILL cannot clean up after itself).
    public init(directory: URL) throws {
        self.directory = directory.standardizedFileURL
        staging = self.directory.appendingPathComponent(Self.stagingPrefix + String(getpid()))
        Self.removeAbandonedStaging(in: self.directory)
        try? FileManager.default.removeItem(at: staging)
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw ReportWriteError(path: staging.path, reason: "cannot create the staging folder: \(error.localizedDescription)")
        }
    }

    /// A file or folder of the set, as it is being written (inside the staging folder).
    public func url(_ relativePath: String) -> URL { staging.appendingPathComponent(relativePath) }

    /// Moves every staged entry into the output folder: files by one rename each (over the old
    /// file), folders one level down (adapters/NAME) by swapping (see `replaceFolder`). Then the
    /// staging folder is removed. Does nothing after `discard`.
    public func commit() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        defer { try? FileManager.default.removeItem(at: staging) }
        let fileManager = FileManager.default
        for name in try fileManager.contentsOfDirectory(atPath: staging.path).sorted() {
            let source = staging.appendingPathComponent(name), destination = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            _ = fileManager.fileExists(atPath: source.path, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                try fileManager.createDirectory(at: destination, withIntermediateDirectories: true)
                for child in try fileManager.contentsOfDirectory(atPath: source.path).sorted() where !child.hasPrefix(".") {
                    try Self.replaceFolder(destination.appendingPathComponent(child), with: source.appendingPathComponent(child))
                }
            } else if !name.hasPrefix(".") {
                guard rename(source.path, destination.path) == 0 else {
                    throw ReportWriteError(path: destination.path, reason: String(cString: strerror(errno)))
                }
            }
        }
    }

    /// Removes the staging folder; the previous outputs stay as they were. Idempotent; does nothing
    /// after `commit`. Safe to call from an interrupt handler's thread.
    /// Returns whether this call discarded the set (false: it was already committed or discarded).
    @discardableResult
    public func discard() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return false }
        finished = true
        try? FileManager.default.removeItem(at: staging)
        return true
    }

    /// Puts the finished folder `staged` at `destination` by renames only: an existing folder is
    /// first renamed aside, the new one renamed in, and only then is the old one removed — so the
    /// path is at every moment the old folder or the new one, and nothing but the old folder is
    /// ever deleted. If the swap fails, the old folder is put back.
    static func replaceFolder(_ destination: URL, with staged: URL) throws {
        let fileManager = FileManager.default
        let aside = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).old-\(getpid())")
        let hadOld = fileManager.fileExists(atPath: destination.path)
        do {
            if hadOld { try fileManager.moveItem(at: destination, to: aside) }
            try fileManager.moveItem(at: staged, to: destination)
        } catch {
            if hadOld, !fileManager.fileExists(atPath: destination.path) { try? fileManager.moveItem(at: aside, to: destination) }
            throw error
        }
        if hadOld { try? fileManager.removeItem(at: aside) }
    }

    /// Staging folders whose process is gone (`kill(pid, 0)` says no such process).
    private static func removeAbandonedStaging(in directory: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(stagingPrefix) {
            guard let pid = Int32(name.dropFirst(stagingPrefix.count)), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            }
        }
    }
}
