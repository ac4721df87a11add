import Tokenizer
import XCTest

/// Behaviour on a tiny hand-made vocabulary, where each expectation can be worked out by hand.
final class WordPieceTokenizerTests: XCTestCase {
    private static let vocabulary = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "un", "##aff", "##a", "##able", "aff", "run", "runn", "##ing", "##n",
        "hello", "world", "cafe", "café", "a", "##a", "x", "[", "]", "mask", ",", "!", "中", "国", "σ", "##σ",
    ].uniqued()
    private let tokenizer = WordPieceTokenizer(vocabulary: vocabulary)

    func testIDsAreVocabularyPositions() {
        XCTAssertEqual(tokenizer.vocabularySize, Self.vocabulary.count)
        XCTAssertEqual([tokenizer.padID, tokenizer.unkID, tokenizer.clsID, tokenizer.sepID], [0, 1, 2, 3])
        XCTAssertEqual(tokenizer.id(of: "hello"), Int32(Self.vocabulary.firstIndex(of: "hello")!))
        XCTAssertEqual(tokenizer.token(of: tokenizer.id(of: "##ing")!), "##ing")
        XCTAssertNil(tokenizer.id(of: "missing"))
        XCTAssertNil(tokenizer.token(of: -1))
        XCTAssertNil(tokenizer.token(of: Int32(Self.vocabulary.count)))
    }

    func testLookupIsByExactScalarsNotCanonicalEquivalence() {
        XCTAssertNotNil(tokenizer.id(of: "caf\u{E9}"))
        XCTAssertNil(tokenizer.id(of: "cafe\u{301}"), "Swift's String == would call these equal")
    }

    func testGreedyLongestMatchFirstWithContinuations() {
        XCTAssertEqual(tokenizer.tokenize("unaffable"), ["un", "##aff", "##able"])
        XCTAssertEqual(tokenizer.tokenize("running"), ["runn", "##ing"])
        XCTAssertEqual(tokenizer.tokenize("runnning"), ["runn", "##n", "##ing"])
    }

    func testAWordWithAnUnmatchablePositionIsUnknownAsAWhole() {
        XCTAssertEqual(tokenizer.tokenize("xq"), ["[UNK]"])
        XCTAssertEqual(tokenizer.tokenize("hello xq world"), ["hello", "[UNK]", "world"])
        XCTAssertEqual(tokenizer.tokenize("ing"), ["[UNK]"], "continuations never start a word")
    }

    func testWordsOverOneHundredScalarsAreUnknown() {
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a", count: 100)), ["a"] + Array(repeating: "##a", count: 99))
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a", count: 101)), ["[UNK]"])
        // Counted after accent stripping: 120 scalars in, 60 after.
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a\u{301}", count: 60)).count, 60)
    }

    func testPunctuationIsSplitAndWhitespaceDropped() {
        XCTAssertEqual(tokenizer.tokenize("hello,world!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(tokenizer.tokenize("  hello\t\n world\u{3000}!! "), ["hello", "world", "!", "!"])
        XCTAssertEqual(tokenizer.tokenize(""), [])
        XCTAssertEqual(tokenizer.tokenize(" \t\n"), [])
    }

    func testControlCharactersAreRemoved() {
        XCTAssertEqual(tokenizer.tokenize("hel\u{0}lo wor\u{200B}ld\u{FFFD}"), ["hello", "world"])
    }

    func testLowercasingStripsAccents() {
        XCTAssertEqual(tokenizer.tokenize("CAFÉ Café cafe\u{301}"), ["cafe", "cafe", "cafe"])
        XCTAssertEqual(tokenizer.tokenize("ΣΣ"), ["σ", "##σ"], "per-scalar lowercase: no final sigma")
    }

    func testCasedTokenizerKeepsCaseAndAccents() {
        let cased = WordPieceTokenizer(vocabulary: Self.vocabulary, lowercase: false)
        XCTAssertEqual(cased.tokenize("café Hello"), ["café", "[UNK]"])
    }

    func testChineseCharactersAreSplitApart() {
        XCTAssertEqual(tokenizer.tokenize("中国"), ["中", "国"])
        XCTAssertEqual(tokenizer.tokenize("hello中国world"), ["hello", "中", "国", "world"])
    }

    func testSpecialTokensWrittenInTheTextAreKept() {
        XCTAssertEqual(tokenizer.tokenize("hello [MASK] world"), ["hello", "[MASK]", "world"])
        XCTAssertEqual(tokenizer.tokenize("[mask]"), ["[", "mask", "]"])
    }

    func testEncodeAddsClsAndSep() {
        let hello = tokenizer.id(of: "hello")!, world = tokenizer.id(of: "world")!
        XCTAssertEqual(tokenizer.encode("hello world"), [tokenizer.clsID, hello, world, tokenizer.sepID])
        XCTAssertEqual(tokenizer.encode(""), [tokenizer.clsID, tokenizer.sepID])
    }

    func testTruncationKeepsClsAndSep() {
        let (cls, sep) = (tokenizer.clsID, tokenizer.sepID)
        let hello = tokenizer.id(of: "hello")!, world = tokenizer.id(of: "world")!
        let text = "hello world hello world"
        XCTAssertEqual(tokenizer.encode(text, maxLength: 4), [cls, hello, world, sep])
        XCTAssertEqual(tokenizer.encode(text, maxLength: 3), [cls, hello, sep])
        XCTAssertEqual(tokenizer.encode(text, maxLength: 2), [cls, sep])
        XCTAssertEqual(tokenizer.encode(text, maxLength: 6), tokenizer.encode(text))
        XCTAssertEqual(tokenizer.encode(text, maxLength: 100), tokenizer.encode(text))
    }
}

private extension Array where Element: Hashable {
    /// The elements in order, without repeats (the list above names "##a" twice on purpose).
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
