import Foundation
import XCTest

/// Locations and JSON helpers shared by the test targets that read fixtures or the real model.
public enum TestPaths {
    /// The repository root, found from this file's path.
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let fixtures = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// The real model: `$EVALHARNESS_MODEL_DIR` or `models/all-MiniLM-L6-v2`. CI always fetches it,
    /// so its absence is a failure with instructions, never a silent skip.
    public static func realModel() throws -> URL {
        let directory = ProcessInfo.processInfo.environment["EVALHARNESS_MODEL_DIR"].map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) else {
            XCTFail("the real model is missing at \(directory.path): run scripts/fetch_model.sh")
            throw XCTSkip("model missing")
        }
        return directory
    }

    /// The real decoder model, SmolLM2-135M-Instruct as a GGUF file: `$EVALHARNESS_DECODER_GGUF` or
    /// `models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf`. CI always fetches it
    /// (scripts/fetch_decoder.sh), so its absence is a failure with instructions.
    public static func decoderModel() throws -> URL {
        let file = ProcessInfo.processInfo.environment["EVALHARNESS_DECODER_GGUF"].map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent("models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
        guard FileManager.default.fileExists(atPath: file.path) else {
            XCTFail("the decoder model is missing at \(file.path): run scripts/fetch_decoder.sh")
            throw XCTSkip("decoder model missing")
        }
        return file
    }

    public static func json(_ relativePath: String) throws -> [String: Any] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent(relativePath))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

extension Array where Element == Any {
    public var floats: [Float] { map { Float(($0 as! NSNumber).doubleValue) } }
    public var doubles: [Double] { map { ($0 as! NSNumber).doubleValue } }
    public var int32s: [Int32] { map { Int32(truncating: $0 as! NSNumber) } }
}
