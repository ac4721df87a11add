/// How a generated answer is scored against reference answers: SQuAD v1.1's official rules, which
/// lm-evaluation-harness, TRL and most QA leaderboards reuse. Both texts are normalised — lower
/// case, ASCII punctuation removed, the articles "a", "an", "the" removed as whole words,
/// whitespace collapsed — then exact match compares the normalised texts and token F1 the
/// multisets of their whitespace-separated tokens. With several references an answer gets the
/// best score over them (`max over ground truths`).
///
/// The character classes follow Python 3's `str` methods the official script relies on (checked
/// against it on a committed fixture): `lower()` is the full lower-case mapping with the final
/// sigma rule, `\b` sees a word character where `str.isalnum()` or `_`, `split()` splits at
/// `str.isspace()` characters, and texts are equal when their code points are (not merely
/// canonically equivalent, as Swift's `==` would have "café" composed and decomposed).
public enum AnswerMatching {
    /// The normalised form of `text`: `normalize_answer` of the SQuAD v1.1 evaluation script.
    public static func normalize(_ text: String) -> String {
        let withoutPunctuation = String.UnicodeScalarView(pythonLower(text).filter { !isASCIIPunctuation($0) })
        // Articles are removed as whole words (`\b(a|an|the)\b` → " "), then whitespace collapses.
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(withoutPunctuation.count)
        var index = withoutPunctuation.startIndex
        var previousIsWord = false
        while index < withoutPunctuation.endIndex {
            let scalar = withoutPunctuation[index]
            if !previousIsWord, let length = articleLength(withoutPunctuation, at: index) {
                scalars.append(" ")
                index = withoutPunctuation.index(index, offsetBy: length)
                previousIsWord = false
                continue
            }
            scalars.append(scalar)
            previousIsWord = isWordCharacter(scalar)
            index = withoutPunctuation.index(after: index)
        }
        return tokens(ofNormalized: scalars).joined(separator: " ")
    }

    /// 1 when the normalised answer equals the normalised reference of any reference, else 0.
    public static func exactMatch(_ answer: String, references: [String]) -> Double {
        let normalized = Array(normalize(answer).utf8)
        return references.contains { Array(normalize($0).utf8) == normalized } ? 1 : 0
    }

    /// The best token F1 over the references (0 without references).
    public static func tokenF1(_ answer: String, references: [String]) -> Double {
        let answerTokens = tokens(of: answer)
        return references.map { tokenF1(answerTokens, tokens(of: $0)) }.max() ?? 0
    }

    /// The normalised text's tokens as UTF-8 bytes (compared by code points, as Python compares).
    static func tokens(of text: String) -> [[UInt8]] {
        normalize(text).split(separator: " ").map { Array($0.utf8) }
    }

    /// F1 of two token lists' multiset overlap: 0 when they share none (also when either is empty).
    static func tokenF1(_ answer: [[UInt8]], _ reference: [[UInt8]]) -> Double {
        var counts: [[UInt8]: Int] = [:]
        for token in reference { counts[token, default: 0] += 1 }
        var shared = 0
        for token in answer where counts[token, default: 0] > 0 {
            counts[token]! -= 1
            shared += 1
        }
        guard shared > 0 else { return 0 }
        let precision = Double(shared) / Double(answer.count), recall = Double(shared) / Double(reference.count)
        return 2 * precision * recall / (precision + recall)
    }

    // MARK: Character classes

    /// Python's `str.lower()`: each code point's full lower-case mapping, except that a capital
    /// sigma is final (ς) when a cased letter precedes it and none follows it (case-ignorable
    /// characters skipped both ways).
    static func pythonLower(_ text: String) -> [Unicode.Scalar] {
        let scalars = Array(text.unicodeScalars)
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for (index, scalar) in scalars.enumerated() {
            guard scalar == "\u{03A3}" else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                continue
            }
            func casedLetter(in range: some Sequence<Int>) -> Bool {
                for position in range {
                    let neighbour = scalars[position].properties
                    if neighbour.isCaseIgnorable { continue }
                    return neighbour.isCased
                }
                return false
            }
            let isFinal = casedLetter(in: stride(from: index - 1, through: 0, by: -1)) && !casedLetter(in: (index + 1)..<scalars.count)
            out.append(isFinal ? "\u{03C2}" : "\u{03C3}")
        }
        return out
    }

    /// `string.punctuation`: the 32 ASCII punctuation characters.
    static func isASCIIPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: true
        default: false
        }
    }

    /// Python's `\w` on `str`: letters and numbers of every script (`str.isalnum()`) and `_`.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "_" { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Python's `str.isspace()`: Unicode White_Space plus the four ASCII separators U+001C–U+001F.
    static func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(scalar.value) || scalar.properties.isWhitespace
    }

    /// The length of "a", "an" or "the" starting at `index` when it ends at a word boundary (the
    /// caller has checked the boundary before it).
    static func articleLength(_ scalars: String.UnicodeScalarView, at index: String.UnicodeScalarView.Index) -> Int? {
        for article in ["the", "an", "a"] {
            var position = index
            var matched = true
            for expected in article.unicodeScalars {
                guard position < scalars.endIndex, scalars[position] == expected else { matched = false; break }
                position = scalars.index(after: position)
            }
            if matched, position == scalars.endIndex || !isWordCharacter(scalars[position]) { return article.unicodeScalars.count }
        }
        return nil
    }

    /// `' '.join(text.split())`'s tokens.
    static func tokens(ofNormalized scalars: [Unicode.Scalar]) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in scalars {
            if isPythonSpace(scalar) {
                if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }
}
