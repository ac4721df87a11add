import Foundation
@testable import Suites
import XCTest

enum Fixtures {
    /// Tests/Fixtures/suites, found from this file's path.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/suites")
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    static func data(_ name: String) -> String { directory.appendingPathComponent("data").appendingPathComponent(name).path }
}

/// A scratch folder removed at the end of the test.
final class TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("suites-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `contents` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: file)
        return file.path
    }
}

/// The error `body` throws, or a test failure.
func expectSuiteError<T>(_ body: () throws(SuiteError) -> T, file: StaticString = #filePath, line: UInt = #line) -> SuiteError? {
    do {
        let value = try body()
        XCTFail("expected a SuiteError, got \(value)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}
