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

        // Perplexity of two texts: the per-text losses weighted by their predicted tokens.
        let folder = try CommandLineTool.temporaryDirectory()
        let texts = folder.appendingPathComponent("texts.jsonl")
        try "{\"id\": 1, \"text\": \"The capital of France is Paris.\"}\n{\"id\": 2, \"text\": \"A dog is a domesticated animal.\"}\n"
            .write(to: texts, atomically: true, encoding: .utf8)
        let perplexity = try CommandLineTool.run(["perplexity", texts.path, "--per-text"])
        XCTAssertEqual(perplexity.status, 0, perplexity.stderr)
        let lines = try perplexity.stdout.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(lines.count, 3)
        let weighted = lines.prefix(2).reduce(0.0) { $0 + ($1["loss"] as! Double) * Double($1["tokens"] as! Int) }
        let tokens = lines.prefix(2).reduce(0) { $0 + ($1["tokens"] as! Int) }
        XCTAssertEqual(lines[2]["loss"] as! Double, weighted / Double(tokens), accuracy: 1e-12)
        XCTAssertEqual(lines[2]["perplexity"] as! Double, Foundation.exp(weighted / Double(tokens)), accuracy: 1e-9)

        let missing = try CommandLineTool.run(["score", "--model", "/nonexistent.gguf", "--prompt", "a", "--continuation", "b"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("/nonexistent.gguf: no such file or folder"), missing.stderr)
    }
}
