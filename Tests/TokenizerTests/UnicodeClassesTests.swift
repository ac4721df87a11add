import XCTest

@testable import Tokenizer

/// Every Unicode scalar against what the reference library does to it alone, so differences
/// between Swift's Unicode data and the Rust crates' older tables cannot hide outside the cases.
final class UnicodeClassesTests: XCTestCase {
    private static let allScalars = (0..<0x110000 as Range<UInt32>).compactMap(Unicode.Scalar.init)

    private var classes: TokenizerFixtures.UnicodeClasses!

    override func setUpWithError() throws {
        classes = try TokenizerFixtures.unicodeClasses()
    }

    func testCleanTextRemovesAndMapsToSpaceLikeTheReference() {
        let removed = membership(classes.removedByCleanText)
        let whitespace = membership(classes.whitespaceByCleanText)
        assertEveryScalar("clean_text") { scalar in
            let actual = BertNormalizer.cleanTextAndSpaceChineseCharacters(CollectionOfOne(scalar))
            let isChinese = ReferenceUnicode.isChineseCharacter(scalar)
            let expected: [Unicode.Scalar] =
                removed[Int(scalar.value)] ? [] : whitespace[Int(scalar.value)] ? [" "] : isChinese ? [" ", scalar, " "] : [scalar]
            return (actual, expected)
        }
    }

    func testChineseCharactersAreTheReferenceRanges() {
        let chinese = membership(classes.chineseCharacters)
        assertEveryScalar("is_chinese_char") { scalar in
            (ReferenceUnicode.isChineseCharacter(scalar), chinese[Int(scalar.value)])
        }
    }

    func testPunctuationIsTheReferenceSet() {
        let punctuation = membership(classes.punctuation)
        assertEveryScalar("is_bert_punc") { scalar in
            (ReferenceUnicode.isPunctuation(scalar), punctuation[Int(scalar.value)])
        }
    }

    func testStripAccentsMatchesTheReference() {
        let removed = membership(classes.removedByStripAccents)
        let mapped = hexMap(classes.stripAccents).mapValues { $0.map(\.value) }
        assertEveryScalar("strip_accents") { scalar in
            let expected = removed[Int(scalar.value)] ? [] : mapped[scalar.value] ?? hangulJamo(scalar) ?? [scalar.value]
            return (BertNormalizer.strippingAccents([scalar]).map(\.value), expected)
        }
    }

    /// The canonical decomposition of a Hangul syllable (Unicode chapter 3.12), which the
    /// fixture leaves out because it is arithmetic.
    private func hangulJamo(_ scalar: Unicode.Scalar) -> [UInt32]? {
        guard (0xAC00...0xD7A3).contains(scalar.value) else {
            return nil
        }
        let index = scalar.value - 0xAC00
        let leading: UInt32 = 0x1100 + index / 588, vowel: UInt32 = 0x1161 + index % 588 / 28
        let trailing = index % 28
        return trailing == 0 ? [leading, vowel] : [leading, vowel, 0x11A7 + trailing]
    }

    /// U+1DFA (Unicode 14, combining class 218) is unknown to the reference's NFD tables, so
    /// there it is a starter and the marks on either side are reordered separately; U+1D165 and
    /// U+1D16D are spacing marks (kept) with classes 216 and 226. Expected values from tokenizers.
    func testScalarsUnknownToTheReferenceTablesBlockReordering() {
        let cases: [(input: [UInt32], expected: [UInt32])] = [
            ([0x61, 0x1DFA, 0x1D165], [0x61, 0x1DFA, 0x1D165]),
            ([0x61, 0x1D165, 0x1DFA], [0x61, 0x1D165, 0x1DFA]),
            ([0xE9, 0x1D16D, 0x1D165], [0x65, 0x1D165, 0x1D16D]),
            ([0x78, 0x1D16D, 0x1D165, 0x1DFA, 0x1D16D, 0x1D165], [0x78, 0x1D165, 0x1D16D, 0x1DFA, 0x1D165, 0x1D16D]),
        ]
        for (input, expected) in cases {
            let scalars = input.map { Unicode.Scalar($0)! }
            XCTAssertEqual(BertNormalizer.strippingAccents(scalars).map(\.value), expected, "input \(input)")
        }
    }

    func testLowercaseMatchesTheReference() {
        let mapped = hexMap(classes.lowercase)
        assertEveryScalar("lowercase") { scalar in
            (BertNormalizer.lowercased([scalar]).map(\.value), (mapped[scalar.value] ?? [scalar]).map(\.value))
        }
    }

    // MARK: - Helpers

    /// Asserts `compare(scalar)` gives (actual, expected) that are equal for every scalar, and
    /// reports the first few that are not.
    private func assertEveryScalar<T: Equatable>(
        _ step: String, file: StaticString = #filePath, line: UInt = #line,
        _ compare: (Unicode.Scalar) -> (actual: T, expected: T)
    ) {
        var mismatches: [String] = []
        for scalar in Self.allScalars {
            let (actual, expected) = compare(scalar)
            if actual != expected {
                let name = scalar.properties.name ?? "unnamed"
                mismatches.append("U+\(String(scalar.value, radix: 16, uppercase: true)) \(name): actual \(actual), expected \(expected)")
            }
        }
        XCTAssert(
            mismatches.isEmpty, "\(step): \(mismatches.count) scalars differ from the reference:\n"
                + mismatches.prefix(10).joined(separator: "\n"), file: file, line: line)
    }

    private func membership(_ ranges: [[UInt32]]) -> [Bool] {
        var result = [Bool](repeating: false, count: 0x110000)
        for range in ranges {
            for value in range[0]...range[1] {
                result[Int(value)] = true
            }
        }
        return result
    }

    private func hexMap(_ map: [String: String]) -> [UInt32: [Unicode.Scalar]] {
        var result: [UInt32: [Unicode.Scalar]] = [:]
        for (key, value) in map {
            result[UInt32(key, radix: 16)!] = value.split(separator: " ").map { Unicode.Scalar(UInt32($0, radix: 16)!)! }
        }
        return result
    }
}
