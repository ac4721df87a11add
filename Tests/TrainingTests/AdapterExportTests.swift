@testable import Training
import Foundation
import XCTest

/// Replacing a saved adapter never deletes anything but the old adapter, and never leaves the folder
/// missing or half-written.
final class AdapterExportTests: XCTestCase {
    func testReplaceSwapsByRenamesAndKeepsSiblings() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let adapter = root.appendingPathComponent("lora"), sibling = root.appendingPathComponent("full")
        for (folder, text) in [(adapter, "old"), (sibling, "sibling"), (root.appendingPathComponent(".lora.partial-1"), "new")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try text.write(to: folder.appendingPathComponent("file.txt"), atomically: true, encoding: .utf8)
        }
        try AdapterExport.replace(adapter, with: root.appendingPathComponent(".lora.partial-1"))
        XCTAssertEqual(try String(contentsOf: adapter.appendingPathComponent("file.txt"), encoding: .utf8), "new")
        XCTAssertEqual(try String(contentsOf: sibling.appendingPathComponent("file.txt"), encoding: .utf8), "sibling")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted(), ["full", "lora"])

        // A staging folder that cannot be moved (it does not exist): the old adapter stays in place.
        XCTAssertThrowsError(try AdapterExport.replace(adapter, with: root.appendingPathComponent(".missing")))
        XCTAssertEqual(try String(contentsOf: adapter.appendingPathComponent("file.txt"), encoding: .utf8), "new")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted(), ["full", "lora"])
    }
}
