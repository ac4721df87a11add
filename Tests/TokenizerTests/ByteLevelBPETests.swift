import Foundation
import Model
import TestSupport
@testable import Tokenizer
import XCTest

/// The byte-level BPE tokenizer against SmolLM2's own tokenizer (Hugging Face `tokenizers`, from
/// the GGUF's vocabulary and merges, with the `Digits` step transformers' GGUF loader drops):
/// fixtures from scripts/fixtures/make_bpe_fixture.py.
final class ByteLevelBPETests: XCTestCase {
    static let loaded: Result<GGUFTokenizer, Error> = Result {
        try GGUFTokenizer(GGUFFile(contentsOf: TestPaths.decoderModel()))
    }

    func tokenizer() throws -> GGUFTokenizer { try Self.loaded.get() }

    /// A fixture string from its UTF-8 bytes in hex (Foundation's JSON parser drops some U+FEFF).
    static func text(_ entry: [String: Any], _ key: String) -> String {
        let hex = Array((entry[key] as! String).utf8)
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
        let bytes = stride(from: 0, to: hex.count, by: 2).map { nibble(hex[$0]) << 4 | nibble(hex[$0 + 1]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func testTheGGUFTokenizerSettings() throws {
        let loaded = try tokenizer()
        XCTAssertEqual(loaded.bpe.vocabularySize, 49_152)
        XCTAssertEqual(loaded.bosID, 1)
        XCTAssertEqual(loaded.eosID, 2)
        XCTAssertEqual(loaded.padID, 2)
        XCTAssertTrue(loaded.bpe.splitDigits)
        XCTAssertEqual(loaded.bpe.specialIDs, Set(0...16))
    }

    func testIdsEqualTheReferenceOnEveryFixtureString() throws {
        let fixture = try TestPaths.json("bpe/smollm2_tokenizer.json")
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 800)
        let bpe = try tokenizer().bpe
        var failures: [String] = []
        for entry in cases {
            let text = Self.text(entry, "utf8")
            let expected = (entry["ids"] as! [Any]).int32s
            let ids = bpe.encode(text)
            if ids != expected {
                failures.append("\(entry["group"] ?? ""): \(text.debugDescription.prefix(80)) → \(ids.prefix(12)) expected \(expected.prefix(12))")
            }
            if bpe.decode(ids) != Self.text(entry, "decoded_utf8") {
                failures.append("decode of \(text.debugDescription.prefix(80))")
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) of \(cases.count) differ:\n" + failures.prefix(15).joined(separator: "\n"))
    }

    func testPiecesEqualTheReferencePreTokenizer() throws {
        let fixture = try TestPaths.json("bpe/smollm2_tokenizer.json")
        var failures: [String] = []
        for entry in try XCTUnwrap(fixture["cases"] as? [[String: Any]]) {
            guard let expected = entry["pieces"] as? [String] else { continue }
            let scalars = Array(Self.text(entry, "utf8").unicodeScalars)
            let pieces = ByteLevelPreTokenizer.pieces(scalars, splitDigits: true).map { range in
                String(String.UnicodeScalarView(scalars[range].flatMap { String($0).utf8 }.map { ByteLevelAlphabet.scalar(for: $0) }))
            }
            if pieces != expected { failures.append("\((entry["text"] as! String).debugDescription.prefix(60)): \(pieces.prefix(6)) expected \(expected.prefix(6))") }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) differ:\n" + failures.prefix(10).joined(separator: "\n"))
    }

    /// The pattern's Unicode classes for every scalar, against the ones the reference applied.
    func testCharacterClassesOfEveryScalar() throws {
        let fixture = try TestPaths.json("bpe/unicode_classes.json")
        let ranges = try XCTUnwrap((fixture["regex_classes"] as? [String: Any])?["ranges"] as? [[Any]])
        var mismatches: [String] = []
        for range in ranges {
            let first = range[0] as! Int, last = range[1] as! Int, expected = range[2] as! String
            for value in first...last {
                guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
                let actual = ByteLevelPreTokenizer.isLetter(scalar) ? "L" : ByteLevelPreTokenizer.isNumber(scalar) ? "N"
                    : ByteLevelPreTokenizer.isSpace(scalar) ? "S" : "O"
                if actual != expected { mismatches.append(String(format: "U+%04X %@→%@", value, expected, actual)) }
            }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) scalars classed differently: \(mismatches.prefix(20).joined(separator: ", "))")
        let digits = try XCTUnwrap((fixture["digits"] as? [String: Any])?["ranges"] as? [[Any]])
        var digitMismatches = 0
        for range in digits {
            let first = range[0] as! Int, last = range[1] as! Int, split = range[2] as! Bool
            for value in first...last {
                guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
                if ByteLevelPreTokenizer.isNumeric(scalar) != split { digitMismatches += 1 }
            }
        }
        XCTAssertEqual(digitMismatches, 0)
    }

    func testChatMLRenderingEqualsApplyChatTemplate() throws {
        let fixture = try TestPaths.json("bpe/chat_template.json")
        let loaded = try tokenizer()
        let template = try XCTUnwrap(loaded.chatTemplate.flatMap(ChatTemplate.init(jinja:)))
        XCTAssertEqual(template.defaultSystemPrompt, fixture["default_system_prompt"] as? String)
        let conversations = try XCTUnwrap(fixture["conversations"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(conversations.count, 20)
        for conversation in conversations {
            let messages = (conversation["messages"] as! [[String: String]]).map { ChatTemplate.Message(role: $0["role"]!, content: $0["content"]!) }
            let text = template.render(messages, addGenerationPrompt: conversation["add_generation_prompt"] as! Bool)
            XCTAssertEqual(text, conversation["text"] as? String, conversation["name"] as! String)
            XCTAssertEqual(loaded.bpe.encode(text), (conversation["ids"] as! [Any]).int32s, conversation["name"] as! String)
        }
        XCTAssertNil(ChatTemplate(jinja: "{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}"))
    }
}

extension ByteLevelBPETests {
    /// The same tokenizer written as a Hugging Face tokenizer.json (SmolLM2's pipeline with the
    /// GGUF's vocabulary and merges) gives the same ids on every fixture string.
    func testTokenizerJSONGivesTheSameIds() throws {
        let fixture = try TestPaths.json("bpe/smollm2_tokenizer.json")
        var root = try XCTUnwrap(fixture["reference_tokenizer_json_without_vocab"] as? [String: Any])
        let file = try GGUFFile(contentsOf: TestPaths.decoderModel())
        let tokens = try file.strings("tokenizer.ggml.tokens")
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        model["vocab"] = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($0.element, $0.offset) })
        model["merges"] = try file.strings("tokenizer.ggml.merges").map { $0.split(separator: " ").map(String.init) }
        root["model"] = model
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenizer-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: root).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let fromJSON = try ByteLevelBPETokenizer(tokenizerJSON: url)
        XCTAssertTrue(fromJSON.splitDigits)
        XCTAssertEqual(fromJSON.specialIDs, try tokenizer().bpe.specialIDs)
        for entry in try XCTUnwrap(fixture["cases"] as? [[String: Any]]) {
            let text = Self.text(entry, "utf8")
            XCTAssertEqual(fromJSON.encode(text), (entry["ids"] as! [Any]).int32s, text.debugDescription)
        }
        // Written back by evalharness (a saved Llama folder's tokenizer.json): every field but the
        // vocabulary and merges is the reference's, and it reads back to the same ids.
        let written = try tokenizer().bpe.tokenizerJSON(source: url)
        for key in root.keys where key != "model" {
            XCTAssertEqual((written[key] as? NSObject) ?? NSNull(), (root[key] as? NSObject) ?? NSNull(), key)
        }
        var writtenModel = try XCTUnwrap(written["model"] as? [String: Any])
        XCTAssertEqual(writtenModel["vocab"] as? [String: Int], model["vocab"] as? [String: Int])
        XCTAssertEqual((writtenModel["merges"] as? [String])?.count, (model["merges"] as? [[String]])?.count)
        writtenModel["vocab"] = nil; writtenModel["merges"] = nil; model["vocab"] = nil; model["merges"] = nil
        XCTAssertEqual(writtenModel as NSDictionary, model as NSDictionary)
        try JSONSerialization.data(withJSONObject: written).write(to: url)
        let reread = try ByteLevelBPETokenizer(tokenizerJSON: url)
        for entry in try XCTUnwrap(fixture["cases"] as? [[String: Any]]) {
            XCTAssertEqual(reread.encode(Self.text(entry, "utf8")), (entry["ids"] as! [Any]).int32s)
        }
        // A pipeline it does not implement is refused by name.
        root["pre_tokenizer"] = ["type": "Metaspace"]
        try JSONSerialization.data(withJSONObject: root).write(to: url)
        XCTAssertThrowsError(try ByteLevelBPETokenizer(tokenizerJSON: url)) { error in
            XCTAssertTrue("\(error)".contains("pre_tokenizer\" (Metaspace) is not one this release implements"), "\(error)")
        }
    }
}
