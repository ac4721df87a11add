/// tokenizers' `BertPreTokenizer`: split on whitespace, which is dropped, and make every
/// punctuation scalar a word of its own.
enum BertPreTokenizer {
    static func forEachWord(
        in scalars: [Unicode.Scalar], _ body: (ArraySlice<Unicode.Scalar>) -> Void
    ) {
        var wordStart = 0
        for (index, scalar) in scalars.enumerated() {
            let isWhitespace = ReferenceUnicode.isWhitespace(scalar)
            guard isWhitespace || ReferenceUnicode.isPunctuation(scalar) else {
                continue
            }
            if wordStart < index {
                body(scalars[wordStart..<index])
            }
            if !isWhitespace {
                body(scalars[index...index])
            }
            wordStart = index + 1
        }
        if wordStart < scalars.count {
            body(scalars[wordStart...])
        }
    }
}
