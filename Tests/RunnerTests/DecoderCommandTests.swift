import Foundation
import XCTest

/// `generate` and `score` on SmolLM2 as a user runs them.
final class DecoderCommandTests: XCTestCase {
    func testScoreAndGenerate() throws {
        let scored = try CommandLineTool.run(["score", "--prompt", "Review: a wonderful, moving film.\nSentiment:",
                                              "--continuation", " positive", "--continuation", " negative", "--json"])
        XCTAssertEqual(scored.status, 0, scored.stderr)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["text"] as? String }, [" positive", " negative"])
        let shares = rows.map { $0["share"] as! Double }
        XCTAssertEqual(shares.reduce(0, +), 1, accuracy: 1e-9)
        XCTAssertGreaterThan(shares[0], 0.8, "a wonderful film reads as positive")

        let generated = try CommandLineTool.run(["generate", "--raw", "The capital of France is", "--max-tokens", "2"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertEqual(generated.stdout, " Paris.\n")
        let chat = try CommandLineTool.run(["generate", "What is the capital of France? Answer in one sentence.", "--max-tokens", "12"])
        XCTAssertEqual(chat.status, 0, chat.stderr)
        XCTAssertTrue(chat.stdout.contains("Paris"), chat.stdout)

        let missing = try CommandLineTool.run(["score", "--model", "/nonexistent.gguf", "--prompt", "a", "--continuation", "b"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("/nonexistent.gguf: no such file or folder"), missing.stderr)
    }
}
