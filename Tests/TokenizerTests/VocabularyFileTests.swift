import Tokenizer
import XCTest

/// Bad vocabulary and config files fail with errors that name the file and say what was expected.
final class VocabularyFileTests: XCTestCase {
    private let specials = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n"

    func testReadsOneTokenALineWithLFOrCRLF() throws {
        for contents in [specials + "hello\nworld\n", (specials + "hello\nworld").replacingOccurrences(of: "\n", with: "\r\n")] {
            let directory = try TokenizerFixtures.temporaryDirectory(self, files: ["vocab.txt": contents])
            let tokenizer = try WordPieceTokenizer(vocabularyFile: directory.appendingPathComponent("vocab.txt"))
            XCTAssertEqual(tokenizer.vocabularySize, 6)
            XCTAssertEqual(tokenizer.id(of: "world"), 5)
            XCTAssertEqual(tokenizer.tokenize("Hello"), ["hello"])
        }
    }

    func testMissingFileNamesTheFile() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/evalharness/vocab.txt")
        assertError(try WordPieceTokenizer(vocabularyFile: missing), mentions: [missing.path, "cannot read"])
    }

    func testEmptyFileNamesTheFile() throws {
        let file = try TokenizerFixtures.temporaryDirectory(self, files: ["vocab.txt": ""])
            .appendingPathComponent("vocab.txt")
        assertError(try WordPieceTokenizer(vocabularyFile: file), mentions: [file.path, "empty"])
    }

    func testDuplicateTokenNamesTheLine() throws {
        let file = try TokenizerFixtures.temporaryDirectory(self, files: ["vocab.txt": specials + "hello\nhello\n"])
            .appendingPathComponent("vocab.txt")
        assertError(
            try WordPieceTokenizer(vocabularyFile: file),
            mentions: ["\(file.path):6:", "duplicate token \"hello\"", "line 5"])
    }

    func testEmptyLineNamesTheLine() throws {
        let file = try TokenizerFixtures.temporaryDirectory(self, files: ["vocab.txt": specials + "\nhello\n"])
            .appendingPathComponent("vocab.txt")
        assertError(try WordPieceTokenizer(vocabularyFile: file), mentions: ["\(file.path):5:", "empty line"])
    }

    func testMissingSpecialTokenIsNamed() throws {
        let file = try TokenizerFixtures.temporaryDirectory(self, files: ["vocab.txt": "[PAD]\n[CLS]\n[SEP]\nhello\n"])
            .appendingPathComponent("vocab.txt")
        assertError(try WordPieceTokenizer(vocabularyFile: file), mentions: [file.path, "[UNK]"])
    }

    func testInvalidUTF8IsRejected() throws {
        let directory = try TokenizerFixtures.temporaryDirectory(self, files: [:])
        let file = directory.appendingPathComponent("vocab.txt")
        try Data(specials.utf8 + [0xFF, 0x0A]).write(to: file)
        assertError(try WordPieceTokenizer(vocabularyFile: file), mentions: [file.path, "UTF-8"])
    }

    func testByteOrderMarkIsRefusedWithTheReason() throws {
        let directory = try TokenizerFixtures.temporaryDirectory(self, files: [:])
        let file = directory.appendingPathComponent("vocab.txt")
        try Data([0xEF, 0xBB, 0xBF] + specials.utf8).write(to: file)
        assertError(try WordPieceTokenizer(vocabularyFile: file), mentions: ["\(file.path):1:", "byte-order mark", "save the file without it"])
    }

    func testAFolderInPlaceOfTheFileIsNamedAsSuch() throws {
        let directory = try TokenizerFixtures.temporaryDirectory(self, files: [:])
        let folder = directory.appendingPathComponent("vocab.txt")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        assertError(try WordPieceTokenizer(vocabularyFile: folder), mentions: [folder.path, "is a folder, not a file"])
    }

    func testLoadReadsDoLowerCaseFromTheConfig() throws {
        let cased = try TokenizerFixtures.temporaryDirectory(
            self, files: ["vocab.txt": specials + "Hello\n", "tokenizer_config.json": #"{"do_lower_case": false}"#])
        XCTAssertEqual(try WordPieceTokenizer.load(modelDirectory: cased).tokenize("Hello"), ["Hello"])

        let withoutConfig = try TokenizerFixtures.temporaryDirectory(self, files: ["vocab.txt": specials + "hello\n"])
        XCTAssertEqual(try WordPieceTokenizer.load(modelDirectory: withoutConfig).tokenize("Hello"), ["hello"])
    }

    func testLoadRejectsABadOrUnsupportedConfig() throws {
        for config in ["{not json", #"{"do_lower_case": true, "strip_accents": false}"#, #"{"tokenize_chinese_chars": false}"#] {
            let directory = try TokenizerFixtures.temporaryDirectory(
                self, files: ["vocab.txt": specials, "tokenizer_config.json": config])
            assertError(
                try WordPieceTokenizer.load(modelDirectory: directory),
                mentions: [directory.appendingPathComponent("tokenizer_config.json").path, "expected"])
        }
    }

    private func assertError<T>(
        _ expression: @autoclosure () throws -> T, mentions parts: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssert(error is TokenizerError, "unexpected error type: \(error)", file: file, line: line)
            let message = String(describing: error)
            for part in parts {
                XCTAssert(message.contains(part), "\"\(message)\" does not mention \"\(part)\"", file: file, line: line)
            }
        }
    }
}
