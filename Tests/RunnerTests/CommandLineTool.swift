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

    /// Runs the tool with `environment` added to this process's. Unless the caller names a cache,
    /// each run gets an empty one of its own: runs never reuse each other's trained units by accident;
    /// and no run history unless the caller names one.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment
            .merging(["EVALHARNESS_CACHE": try temporaryDirectory().appendingPathComponent("cache").path,
                      "EVALHARNESS_HISTORY": ""]) { $1 }
            .merging(environment) { $1 }
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

    /// A suite that trains in seconds: one LoRA candidate on 64 movie reviews, no retention checks.
    static func tinySuite(epochs: Int, seeds: Int, checks: String = "  - {metric: accuracy, min: 0.0}") -> String {
        """
        name: tiny
        seed: 7
        model: {path: models/all-MiniLM-L6-v2, max_length: 32}
        task:
          train: data/vader/movie/train.jsonl
          validation: data/vader/movie/validation.jsonl
          test: data/vader/movie/test.jsonl
          labels: [negative, positive]
          limit: {train: 64, validation: 16, test: 16}
        training: {epochs: \(epochs), batch_size: 16, patience: 0, seeds: \(seeds)}
        candidates:
          - {name: lora, method: lora, rank: 4, alpha: 8, learning_rate: 1e-3}
        checks:
        \(checks)

        """
    }
}
