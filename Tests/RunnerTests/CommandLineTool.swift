import Foundation
import XCTest

/// The built `evalharness` binary, run from the repository root as a user would run it.
enum CommandLineTool {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private final class BundleAnchor {}

    static var binary: URL {
        get throws {
            // The test bundle sits in (or is) the folder of the built products.
            let bundle = Bundle(for: BundleAnchor.self).bundleURL
            let candidates = [bundle.appendingPathComponent("evalharness"),
                              bundle.deletingLastPathComponent().appendingPathComponent("evalharness")]
            guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                XCTFail("evalharness binary not found next to \(bundle.path)")
                throw XCTSkip("binary missing")
            }
            return url
        }
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try binary
        process.arguments = arguments
        process.currentDirectoryURL = root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("evalharness-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
