import Foundation
@testable import Reports
import XCTest

/// A command's outputs are replaced as a set or not at all, and nothing but the set's own previous
/// entries and its staging folder is ever deleted.
final class OutputSetTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("OutputSetTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private func write(_ text: String, _ path: String, in folder: URL? = nil) throws {
        let url = (folder ?? root).appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: false, encoding: .utf8)
    }

    private func read(_ path: String) -> String? {
        try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The previous run's outputs, an adapter of a candidate not in the new run, and a user's file.
    private func previousOutputs() throws {
        for name in ["results.json", "junit.xml", "report.html", "summary.md"] { try write("old", name) }
        try write("old", "adapters/lora/adapter_model.safetensors")
        try write("old", "adapters/full/model.safetensors")
        try write("mine", "notes.txt")
    }

    private func entries(_ path: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(path).path).sorted()
    }

    func testCommitReplacesEveryEntryAndKeepsEverythingElse() throws {
        try previousOutputs()
        let outputs = try OutputSet(directory: root)
        for name in ["results.json", "junit.xml", "report.html", "summary.md"] { try write("new", name, in: outputs.staging) }
        try write("new", "adapters/lora/adapter_model.safetensors", in: outputs.staging)
        // Before the commit, nothing of the new set is visible.
        XCTAssertEqual(read("results.json"), "old")
        try outputs.commit()
        for name in ["results.json", "junit.xml", "report.html", "summary.md", "adapters/lora/adapter_model.safetensors"] {
            XCTAssertEqual(read(name), "new", name)
        }
        XCTAssertEqual(read("adapters/full/model.safetensors"), "old", "another candidate's adapter is left alone")
        XCTAssertEqual(read("notes.txt"), "mine")
        XCTAssertEqual(try entries(), ["adapters", "junit.xml", "notes.txt", "report.html", "results.json", "summary.md"])
        XCTAssertEqual(try entries("adapters"), ["full", "lora"], "no old or partial folders left")
        XCTAssertFalse(outputs.discard(), "a committed set cannot be discarded")
    }

    func testDiscardLeavesThePreviousOutputsWholeAndNoDebris() throws {
        try previousOutputs()
        let outputs = try OutputSet(directory: root)
        try write("new", "results.json", in: outputs.staging)
        try write("half", "adapters/.lora.partial-1/adapter_model.safetensors", in: outputs.staging)
        XCTAssertTrue(outputs.discard())
        XCTAssertFalse(outputs.discard(), "discarding twice is harmless")
        try outputs.commit()  // after a discard: nothing happens
        for name in ["results.json", "junit.xml", "report.html", "summary.md", "adapters/lora/adapter_model.safetensors"] {
            XCTAssertEqual(read(name), "old", name)
        }
        XCTAssertEqual(try entries(), ["adapters", "junit.xml", "notes.txt", "report.html", "results.json", "summary.md"])
    }

    func testAbandonedStagingFoldersOfDeadProcessesAreRemoved() throws {
        // PID 0x7fffffff cannot exist; this process's own PID is alive.
        try write("half", ".evalharness-staging-2147483647/results.json")
        try write("x", ".evalharness-staging-notapid/results.json")
        let outputs = try OutputSet(directory: root)
        XCTAssertEqual(try entries(), [".evalharness-staging-\(getpid())", ".evalharness-staging-notapid"])
        outputs.discard()
        XCTAssertEqual(try entries(), [".evalharness-staging-notapid"])
    }

    func testReplacingAFolderSwapsByRenamesAndKeepsSiblings() throws {
        try write("old", "lora/file.txt")
        try write("sibling", "full/file.txt")
        try write("new", ".lora.new/file.txt")
        try OutputSet.replaceFolder(root.appendingPathComponent("lora"), with: root.appendingPathComponent(".lora.new"))
        XCTAssertEqual(read("lora/file.txt"), "new")
        XCTAssertEqual(read("full/file.txt"), "sibling")
        XCTAssertEqual(try entries(), ["full", "lora"])

        // A staged folder that cannot be moved (it does not exist): the old folder stays in place.
        XCTAssertThrowsError(try OutputSet.replaceFolder(root.appendingPathComponent("lora"), with: root.appendingPathComponent(".missing")))
        XCTAssertEqual(read("lora/file.txt"), "new")
        XCTAssertEqual(try entries(), ["full", "lora"])
    }
}
