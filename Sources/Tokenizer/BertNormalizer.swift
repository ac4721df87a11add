import Foundation

/// tokenizers' `BertNormalizer` with clean_text and handle_chinese_chars on and strip_accents
/// unset (so accents are stripped exactly when lowercasing), the configuration of uncased BERT
/// models such as all-MiniLM-L6-v2.
///
/// Everything works on Unicode scalars, as the Rust code works on `char`s: Swift `Character`s
/// would glue combining marks, ZWJ emoji sequences and flags into single units.
struct BertNormalizer: Sendable {
    let lowercase: Bool

    func normalize(_ text: Substring.UnicodeScalarView) -> [Unicode.Scalar] {
        let cleaned = Self.cleanTextAndSpaceChineseCharacters(text)
        guard lowercase else {
            return cleaned
        }
        return Self.lowercased(Self.strippingAccents(cleaned))
    }

    /// clean_text (drop controls, map every whitespace to a space) followed by
    /// handle_chinese_chars (a space either side of each CJK ideograph), in one pass.
    static func cleanTextAndSpaceChineseCharacters(
        _ text: some Sequence<Unicode.Scalar>
    ) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(text.underestimatedCount)
        for scalar in text where !ReferenceUnicode.isRemovedByCleanText(scalar) {
            if ReferenceUnicode.isWhitespace(scalar) {
                result.append(" ")
            } else if ReferenceUnicode.isChineseCharacter(scalar) {
                result.append(" ")
                result.append(scalar)
                result.append(" ")
            } else {
                result.append(scalar)
            }
        }
        return result
    }

    /// strip_accents: NFD, then drop nonspacing marks.
    ///
    /// Foundation provides the NFD. Scalars unknown to the reference's Unicode 9.0 tables are
    /// passed through untouched and split the text into separately normalized runs, because the
    /// reference neither decomposes them nor reorders marks across them.
    static func strippingAccents(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // Below U+00C0 nothing decomposes and nothing is a combining mark.
        if scalars.allSatisfy({ $0.value < 0xC0 }) {
            return scalars
        }
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(scalars.count)
        var run = String.UnicodeScalarView()
        func appendNormalizedRun() {
            guard !run.isEmpty else {
                return
            }
            for scalar in String(run).decomposedStringWithCanonicalMapping.unicodeScalars
            where !ReferenceUnicode.isNonspacingMark(scalar) {
                result.append(scalar)
            }
            run.removeAll(keepingCapacity: true)
        }
        for scalar in scalars {
            if ReferenceUnicode.isInReferenceNormalizationTables(scalar) {
                run.append(scalar)
            } else {
                appendNormalizedRun()
                if !ReferenceUnicode.isNonspacingMark(scalar) {
                    result.append(scalar)
                }
            }
        }
        appendNormalizedRun()
        return result
    }

    /// Rust's `char::to_lowercase` applied scalar by scalar: the full (possibly multi-scalar)
    /// Unicode mapping, without the context rules of `str::to_lowercase` (so a final capital
    /// sigma becomes σ, not ς).
    static func lowercased(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(scalars.count)
        for scalar in scalars {
            if scalar.isASCII {
                let value = scalar.value
                result.append((0x41...0x5A).contains(value) ? Unicode.Scalar(UInt8(value + 0x20)) : scalar)
            } else if scalar.properties.changesWhenLowercased {
                result.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return result
    }
}
