import Foundation
import Reports
import Evaluation

// Where a command's outputs go: the output folder, the set of files replaced together, and what
// an interrupt does to them.

/// Creates the output folder; a failure is an `OutputError` naming it.
func prepareOutputFolder(_ directory: URL) throws {
    // The folder, or the first of its ancestors that exists, must be a folder.
    var ancestor = directory.standardizedFileURL
    while true {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw OutputError(path: directory.path, reason: ancestor.path == directory.standardizedFileURL.path
                    ? "it is a file, not a folder" : "\(ancestor.path) is a file, not a folder")
            }
            break
        }
        let parent = ancestor.deletingLastPathComponent()
        if parent.path == ancestor.path { break }
        ancestor = parent
    }
    do {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
        throw OutputError(path: directory.path, reason: OutputError.reason(error))
    }
    guard FileManager.default.isWritableFile(atPath: directory.path) else {
        throw OutputError(path: directory.path, reason: "the folder is not writable")
    }
}

/// The output folder, created if needed, with a fresh staging folder for the set of outputs a
/// command is about to write. From here until the set is committed or discarded, SIGINT and
/// SIGTERM discard it (see `Interrupts`).
func openOutputSet(_ directory: URL) throws -> OutputSet {
    try prepareOutputFolder(directory)
    let outputs: OutputSet
    do {
        outputs = try OutputSet(directory: directory)
    } catch {
        throw OutputError(path: directory.path, reason: OutputError.reason(error))
    }
    Interrupts.discardOnInterrupt(outputs)
    return outputs
}

/// results.json (unless `includeResults` is false), junit.xml, report.html and summary.md, written
/// into the set's staging folder beside whatever it already holds (the adapters), then committed
/// as one set. On a failure nothing of the set replaces the previous outputs.
func writeReports(_ result: RunResult, baseline: RunResult?, trends: [MetricTrend] = [], into outputs: OutputSet,
                  includeResults: Bool = true) throws {
    try finishing(outputs) {
        try stageReports(result, baseline: baseline, trends: trends, into: outputs, includeResults: includeResults)
    }
}

/// The report files of `writeReports`, into the staging folder only.
func stageReports(_ result: RunResult, baseline: RunResult?, trends: [MetricTrend] = [], into outputs: OutputSet,
                  includeResults: Bool = true) throws {
    if includeResults {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(result).write(to: outputs.url("results.json"))
    }
    try JUnitWriter.write(result: result, to: outputs.url("junit.xml"))
    try HTMLReport.write(result: result, baseline: baseline, trends: trends, to: outputs.url("report.html"))
    try Data(MarkdownSummary.render(result: result, trends: trends).utf8).write(to: outputs.url("summary.md"))
}

/// Runs `stage` (which writes into the set's staging folder), then commits the set; any failure
/// discards it and becomes an `OutputError` (exit 3) naming the output folder and the cause.
func finishing(_ outputs: OutputSet, stage: () throws -> Void) throws {
    do {
        try stage()
        try outputs.commit()
    } catch let error as OutputError {
        outputs.discard()
        throw error
    } catch {
        outputs.discard()
        throw OutputError(path: outputs.directory.path, reason: OutputError.reason(error))
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (a CI job cancelled) while an output set is open: the staging
/// folder is removed — the previous outputs stay whole — and the process exits 130 or 143, as
/// shells report a process ended by those signals. A signal that arrives while the set is being
/// committed waits for the renames to finish; the new set is then whole instead.
enum Interrupts {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func discardOnInterrupt(_ outputs: OutputSet) {
        for (number, exitCode) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            signal(number, SIG_IGN)  // delivered to the dispatch source instead of ending the process
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let discarded = outputs.discard()
                let state = discarded ? "the previous outputs in \(outputs.directory.path) are unchanged"
                                      : "the new outputs in \(outputs.directory.path) were already complete"
                FileHandle.standardError.write(Data("\ninterrupted: \(state)\n".utf8))
                _exit(exitCode)
            }
            source.resume()
            sources.append(source)
        }
    }
}
