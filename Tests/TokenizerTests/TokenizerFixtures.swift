import Foundation
import XCTest

/// The committed reference fixtures (made by scripts/fixtures/make_tokenizer_fixture.py) and the
/// real model's vocabulary, found from this file's path rather than as SwiftPM resources.
enum TokenizerFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let directory = repositoryRoot.appendingPathComponent("Tests/Fixtures/tokenizer")

    /// `$EVALHARNESS_MODEL_DIR` or `models/all-MiniLM-L6-v2`. CI always fetches the model, so its
    /// absence fails with instructions instead of skipping silently.
    static func realModelDirectory() throws -> URL {
        let directory = ProcessInfo.processInfo.environment["EVALHARNESS_MODEL_DIR"].map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("vocab.txt").path) else {
            XCTFail("no vocab.txt in \(directory.path): run scripts/fetch_model.sh (or set EVALHARNESS_MODEL_DIR)")
            throw XCTSkip("model missing")
        }
        return directory
    }

    struct Case: Decodable {
        let text: String
        let maxLength: Int?
        let inputIDs: [Int32]

        enum CodingKeys: String, CodingKey {
            case text
            case maxLength = "max_length"
            case inputIDs = "input_ids"
        }
    }

    static func referenceCases() throws -> [Case] {
        let data = try Data(contentsOf: directory.appendingPathComponent("cases.jsonl"))
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(Case.self, from: Data($0)) }
    }

    /// What the reference does to each single scalar; see unicode_classes.json's comment.
    struct UnicodeClasses: Decodable {
        let removedByCleanText: [[UInt32]]
        let whitespaceByCleanText: [[UInt32]]
        let chineseCharacters: [[UInt32]]
        let punctuation: [[UInt32]]
        let removedByStripAccents: [[UInt32]]
        /// Hex scalar to space-separated hex scalars.
        let stripAccents: [String: String]
        let lowercase: [String: String]
    }

    static func unicodeClasses() throws -> UnicodeClasses {
        let data = try Data(contentsOf: directory.appendingPathComponent("unicode_classes.json"))
        return try JSONDecoder().decode(UnicodeClasses.self, from: data)
    }

    /// A temporary directory holding `files` (name to contents), removed when the test ends.
    static func temporaryDirectory(_ test: XCTestCase, files: [String: String]) throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("TokenizerTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        for (name, contents) in files {
            try Data(contents.utf8).write(to: directory.appendingPathComponent(name))
        }
        return directory
    }
}

/// `text` with every scalar outside printable ASCII written as \u{…}, so failures show exactly
/// which scalars were involved.
func escaped(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        if (0x20..<0x7F).contains(scalar.value) && scalar != "\"" && scalar != "\\" {
            result.unicodeScalars.append(scalar)
        } else {
            result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
        }
    }
    return result + "\""
}
