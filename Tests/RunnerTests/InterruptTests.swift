import Foundation
import XCTest

/// Ctrl-C or a cancelled CI job in the middle of a run leaves the previous outputs whole and no
/// temporary files behind; the process ends with the shell's code for the signal.
final class InterruptTests: XCTestCase {
    /// Starts `compare` on `suite`, waits until stderr shows `marker`, then sends `signal`.
    private func interruptedCompare(signal: Int32, into directory: URL, when marker: String) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = try CommandLineTool.binary
        let suite = directory.deletingLastPathComponent().appendingPathComponent("interrupted-\(UUID().uuidString).yaml")
        // Two seeds of six short epochs: the signal lands seconds before the reports would be written.
        try CommandLineTool.tinySuite(epochs: 6, seeds: 2).write(to: suite, atomically: true, encoding: .utf8)
        // No cache: the run must train (a cached unit would finish before the signal).
        process.arguments = ["compare", suite.path, "--out", directory.path, "--threads", "1", "--no-cache"]
        process.currentDirectoryURL = CommandLineTool.root
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let seen = DispatchSemaphore(value: 0)
        let collected = Collected()
        try process.run()
        // A plain thread blocked in read(2): Foundation's readabilityHandler crashes libdispatch
        // on Linux when the pipe closes.
        let reader = errors.fileHandleForReading
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            while case let data = reader.availableData, !data.isEmpty {
                if collected.append(String(decoding: data, as: UTF8.self)).contains(marker) { seen.signal() }
            }
            finished.signal()
        }
        XCTAssertEqual(seen.wait(timeout: .now() + 300), .success, "never saw \(marker): \(collected.text)")
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        finished.wait()
        return (process.terminationStatus, collected.text)
    }

    /// Text read on another thread.
    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var value = ""
        var text: String { lock.withLock { value } }
        func append(_ more: String) -> String { lock.withLock { value += more; return value } }
    }

    private func previousOutputs(in directory: URL) throws -> [String: String] {
        var files: [String: String] = [:]
        for name in ["results.json", "junit.xml", "report.html", "summary.md", "adapters/lora/adapter_config.json", "notes.txt"] {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try "previous \(name)".write(to: url, atomically: false, encoding: .utf8)
            files[name] = "previous \(name)"
        }
        return files
    }

    private func assertUnchanged(_ files: [String: String], in directory: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        for (name, text) in files {
            XCTAssertEqual(try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8), text, name, file: file, line: line)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(),
                       ["adapters", "junit.xml", "notes.txt", "report.html", "results.json", "summary.md"], "no staging or temporary files", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("adapters").path), ["lora"],
                       file: file, line: line)
    }

    func testSIGTERMWhileTrainingLeavesThePreviousOutputsWhole() throws {
        let directory = try CommandLineTool.temporaryDirectory()
        let files = try previousOutputs(in: directory)
        let run = try interruptedCompare(signal: SIGTERM, into: directory, when: "lora seed 1/2 epoch 1/6")
        XCTAssertEqual(run.status, 143, run.stderr)
        XCTAssertTrue(run.stderr.contains("interrupted: the previous outputs in \(directory.standardizedFileURL.path) are unchanged"), run.stderr)
        try assertUnchanged(files, in: directory)
    }

    /// The first seed's adapter has been exported into the staging folder and the second seed is
    /// training: the staged adapter is removed with the rest.
    func testSIGINTAfterTheAdapterIsStagedLeavesThePreviousOutputsWhole() throws {
        let directory = try CommandLineTool.temporaryDirectory()
        let files = try previousOutputs(in: directory)
        let run = try interruptedCompare(signal: SIGINT, into: directory, when: "lora seed 2/2 epoch 1/6")
        XCTAssertEqual(run.status, 130, run.stderr)
        try assertUnchanged(files, in: directory)
    }
}
