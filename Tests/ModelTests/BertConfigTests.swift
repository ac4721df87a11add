import Foundation
import Model
import TestSupport
import XCTest

final class BertConfigTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("BertConfigTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: folder)
    }

    /// The all-MiniLM-L6-v2 config's fields, as JSON values, for variations on a valid file.
    private let valid: [String: Any] = [
        "model_type": "bert", "vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
        "num_attention_heads": 12, "intermediate_size": 1536, "max_position_embeddings": 512,
        "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "position_embedding_type": "absolute",
    ]

    private func configFile(_ fields: [String: Any]) throws -> URL {
        try configFile(text: String(decoding: JSONSerialization.data(withJSONObject: fields), as: UTF8.self))
    }

    private func configFile(text: String) throws -> URL {
        let url = folder.appendingPathComponent("config.json")
        try Data(text.utf8).write(to: url)
        return url
    }

    /// Asserts that loading the valid config with `changes` applied (nil removes a key) fails with a
    /// message that names the file and contains every fragment.
    private func assertRejected(_ changes: [String: Any?], mentions fragments: [String],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        var fields = valid
        for (key, value) in changes { fields[key] = value }
        try assertRejected(try configFile(fields), mentions: fragments, file: file, line: line)
    }

    private func assertRejected(_ url: URL, mentions fragments: [String],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        do {
            _ = try BertConfig.load(from: url)
            XCTFail("expected the config to be rejected", file: file, line: line)
        } catch {
            let message = error.description
            XCTAssertTrue(message.hasPrefix(url.path + ": "), message, file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "\"\(message)\" should mention \(fragment)", file: file, line: line)
            }
        }
    }

    func testLoadsRealConfig() throws {
        let url = try TestPaths.realModel().appendingPathComponent("config.json")
        let config = try BertConfig.load(from: url)
        XCTAssertEqual(config, BertConfig(vocabSize: 30522, hiddenSize: 384, numHiddenLayers: 6, numAttentionHeads: 12,
                                          intermediateSize: 1536, maxPositionEmbeddings: 512, typeVocabSize: 2,
                                          hiddenAct: "gelu", layerNormEps: 1e-12, hiddenDropoutProb: 0.1,
                                          attentionProbsDropoutProb: 0.1, positionEmbeddingType: "absolute"))
        XCTAssertEqual(config.headSize, 32)
    }

    func testMissingOptionalKeysGetBertDefaults() throws {
        var fields = valid
        for key in ["model_type", "type_vocab_size", "hidden_act", "layer_norm_eps", "hidden_dropout_prob",
                    "attention_probs_dropout_prob", "position_embedding_type"] {
            fields[key] = nil
        }
        let config = try BertConfig.load(from: try configFile(fields))
        XCTAssertEqual(config.typeVocabSize, 2)
        XCTAssertEqual(config.hiddenAct, "gelu")
        XCTAssertEqual(config.layerNormEps, 1e-12)
        XCTAssertEqual(config.hiddenDropoutProb, 0.1)
        XCTAssertEqual(config.attentionProbsDropoutProb, 0.1)
        XCTAssertEqual(config.positionEmbeddingType, "absolute")
    }

    func testEncodesUnderConfigJSONNamesAndRoundTrips() throws {
        let config = BertConfig.tiny()
        let data = try JSONEncoder().encode(config)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["hidden_size"] as? Int, 8)
        XCTAssertEqual(object["num_attention_heads"] as? Int, 2)
        XCTAssertEqual(try JSONDecoder().decode(BertConfig.self, from: data), config)
    }

    func testTinyConfigIsValid() throws {
        let tiny = BertConfig.tiny()
        XCTAssertEqual([tiny.vocabSize, tiny.hiddenSize, tiny.numHiddenLayers, tiny.numAttentionHeads,
                        tiny.intermediateSize, tiny.maxPositionEmbeddings, tiny.headSize], [50, 8, 2, 2, 16, 32, 4])
        XCTAssertNoThrow(try tiny.validate(file: "tiny"))
    }

    func testRejectsHiddenSizeNotDivisibleByHeads() throws {
        try assertRejected(["hidden_size": 383],
                           mentions: ["hidden_size 383 is not divisible by num_attention_heads 12"])
    }

    func testRejectsUnsupportedActivation() throws {
        for act in ["relu", "gelu_new", "gelu_fast"] {
            try assertRejected(["hidden_act": act], mentions: ["hidden_act \"\(act)\" is not supported (expected \"gelu\")"])
        }
    }

    func testRejectsOtherPositionEmbeddings() throws {
        try assertRejected(["position_embedding_type": "relative_key"],
                           mentions: ["position_embedding_type \"relative_key\"", "absolute"])
    }

    func testRejectsOtherModelTypes() throws {
        try assertRejected(["model_type": "roberta"], mentions: ["model_type \"roberta\"", "expected \"bert\""])
    }

    func testRejectsSizesWhoseParameterCountOverflows() throws {
        try assertRejected(["hidden_size": 1 << 30, "num_attention_heads": 1, "num_hidden_layers": Int(Int32.max)],
                           mentions: ["more parameters than a 64-bit count holds", "hidden_size 1073741824"])
    }

    func testRejectsSizesOutsideOneTo32Bits() throws {
        for key in ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                    "max_position_embeddings", "type_vocab_size"] {
            try assertRejected([key: 0], mentions: ["\(key) must be from 1 to 2147483647 (matrix dimensions are 32-bit), got 0"])
            try assertRejected([key: -3], mentions: ["\(key) must be from 1 to 2147483647", "got -3"])
            try assertRejected([key: 2_147_483_648], mentions: ["\(key) must be from 1 to 2147483647", "got 2147483648"])
        }
    }

    func testRejectsBadEpsilonAndDropout() throws {
        try assertRejected(["layer_norm_eps": 0], mentions: ["layer_norm_eps must be a positive number"])
        try assertRejected(["layer_norm_eps": -1e-5], mentions: ["layer_norm_eps"])
        try assertRejected(["layer_norm_eps": 1e-50], mentions: ["layer_norm_eps must be a positive number, got 0.0"])
        try assertRejected(["hidden_dropout_prob": 1e300], mentions: ["hidden_dropout_prob must be in [0, 1), got inf"])
        try assertRejected(["hidden_dropout_prob": 1.0], mentions: ["hidden_dropout_prob must be in [0, 1)"])
        try assertRejected(["attention_probs_dropout_prob": -0.1], mentions: ["attention_probs_dropout_prob"])
    }

    func testRejectsMissingRequiredField() throws {
        try assertRejected(["hidden_size": nil], mentions: ["missing field hidden_size"])
    }

    func testRejectsFieldsOfTheWrongType() throws {
        try assertRejected(["hidden_size": "384"], mentions: ["hidden_size", "wrong type"])
        try assertRejected(["num_hidden_layers": 6.5], mentions: ["num_hidden_layers: expected an integer, got 6.5"])
        try assertRejected(["vocab_size": 1e30], mentions: ["vocab_size: expected an integer"])
        try assertRejected(["layer_norm_eps": "1e-12"], mentions: ["layer_norm_eps", "wrong type"])
        try assertRejected(["hidden_act": 3], mentions: ["hidden_act", "wrong type"])
        try assertRejected(["vocab_size": NSNull()], mentions: ["vocab_size", "null"])
    }

    func testRejectsFilesThatAreNotConfigs() throws {
        try assertRejected(try configFile(text: "{\"hidden_size\": "), mentions: ["not valid JSON"])
        try assertRejected(try configFile(text: "[384]"), mentions: ["expected a JSON object"])
        try assertRejected(folder.appendingPathComponent("absent.json"), mentions: ["cannot read"])
    }
}
