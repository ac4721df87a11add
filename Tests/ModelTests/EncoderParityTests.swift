import Foundation
import Kernels
import Model
import TestSupport
import XCTest

/// Parity with sentence-transformers / transformers on the real all-MiniLM-L6-v2, from fixtures
/// written by scripts/fixtures/make_encoder_fixture.py.
final class EncoderParityTests: XCTestCase {
    nonisolated(unsafe) static var cachedParameters: EncoderParameters?

    func realParameters() throws -> EncoderParameters {
        if let cached = Self.cachedParameters { return cached }
        let parameters = try PretrainedEncoder.loadParameters(directory: try TestPaths.realModel())
        Self.cachedParameters = parameters
        return parameters
    }

    override func setUp() { Parallel.configure(threads: 2) }

    /// Normalised mean-pooled embeddings of every fixture sentence: max |Δ| ≤ 1e-5.
    func testSentenceEmbeddingsMatchSentenceTransformers() throws {
        let encoder = BertEncoder(parameters: try realParameters())
        let fixture = try TestPaths.json("encoder/embeddings.json")
        let sentences = try XCTUnwrap(fixture["sentences"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(sentences.count, 50)
        let ids = sentences.map { ($0["input_ids"] as! [Any]).int32s }
        let expected = sentences.map { ($0["embedding"] as! [Any]).floats }
        let C = encoder.config.hiddenSize

        var worst: Float = 0, worstIndex = 0
        // Batches of mixed lengths exercise padding to each batch's own longest sequence.
        for start in stride(from: 0, to: ids.count, by: 16) {
            let members = Array(start..<min(start + 16, ids.count))
            encoder.forward(TokenBatch(sequences: members.map { ids[$0] }))
            var pooled = encoder.meanPooledLastHiddenState()
            pooled.withUnsafeMutableBufferPointer { l2NormalizeRows($0.baseAddress!, rows: members.count, channels: C) }
            for (row, index) in members.enumerated() {
                for c in 0..<C {
                    let delta = abs(pooled[row * C + c] - expected[index][c])
                    if delta > worst { worst = delta; worstIndex = index }
                }
            }
        }
        print("embedding parity: max |Δ| = \(worst) (sentence \(worstIndex)) over \(ids.count) sentences")
        XCTAssertLessThanOrEqual(worst, 1e-5, "worst sentence: \(sentences[worstIndex]["text"] ?? "")")
    }

    /// Hidden states of every layer for a padded batch: max |Δ| ≤ 1e-4 on real tokens.
    func testHiddenStatesOfEveryLayerMatchTransformers() throws {
        let encoder = BertEncoder(parameters: try realParameters())
        let fixture = try TestPaths.json("encoder/hidden_states.json")
        let sentences = try XCTUnwrap(fixture["sentences"] as? [[String: Any]])
        let ids = sentences.map { ($0["input_ids"] as! [Any]).int32s }
        let batch = TokenBatch(sequences: ids)
        XCTAssertGreaterThan(Set(ids.map(\.count)).count, 1, "the fixture should mix lengths so padding is exercised")
        encoder.forward(batch, keepAllLayers: true)
        let C = encoder.config.hiddenSize, T = batch.tokens
        for layer in 0...encoder.config.numHiddenLayers {
            let ours = encoder.hiddenState(layer)
            var worst: Float = 0
            for (b, sentence) in sentences.enumerated() {
                let states = sentence["hidden_states"] as! [Any]
                let rows = states[layer] as! [Any]
                for (t, row) in rows.enumerated() {
                    let expected = (row as! [Any]).floats
                    for c in 0..<C { worst = max(worst, abs(ours[(b * T + t) * C + c] - expected[c])) }
                }
            }
            print("hidden state \(layer): max |Δ| = \(worst)")
            XCTAssertLessThanOrEqual(worst, 1e-4, "layer \(layer)")
        }
    }
}
