import Foundation
import Tokenizer
import XCTest

/// The real vocabulary against ids made by Hugging Face's BertTokenizerFast.
final class FixtureParityTests: XCTestCase {
    func testEveryReferenceCaseGivesIdenticalIDs() throws {
        let tokenizer = try WordPieceTokenizer.load(modelDirectory: TokenizerFixtures.realModelDirectory())
        let cases = try TokenizerFixtures.referenceCases()
        XCTAssertGreaterThanOrEqual(cases.count, 400, "the fixture should have at least 400 cases")

        var mismatches: [String] = []
        for testCase in cases {
            let ids = tokenizer.encode(testCase.text, maxLength: testCase.maxLength)
            guard ids != testCase.inputIDs else {
                continue
            }
            func pieces(_ ids: [Int32]) -> String {
                ids.map { tokenizer.token(of: $0) ?? "<\($0)>" }.description
            }
            mismatches.append("""
                text: \(escaped(testCase.text)) max_length: \(testCase.maxLength.map(String.init) ?? "nil")
                  expected: \(pieces(testCase.inputIDs))
                  actual:   \(pieces(ids))
                """)
        }
        XCTAssert(
            mismatches.isEmpty,
            "\(mismatches.count) of \(cases.count) cases differ; the first ones:\n"
                + mismatches.prefix(5).joined(separator: "\n"))
    }

    func testLoadReadsTheRealModelDirectory() throws {
        let tokenizer = try WordPieceTokenizer.load(modelDirectory: TokenizerFixtures.realModelDirectory())
        XCTAssertEqual(tokenizer.vocabularySize, 30522)
        XCTAssertEqual([tokenizer.clsID, tokenizer.sepID, tokenizer.padID, tokenizer.unkID], [101, 102, 0, 100])
        XCTAssertEqual(tokenizer.tokenize("Hello, World!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(tokenizer.id(of: "hello"), 7592)
        XCTAssertEqual(tokenizer.token(of: 7592), "hello")
    }
}
