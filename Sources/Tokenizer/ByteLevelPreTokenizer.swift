/// GPT-2's pre-tokenizer, as Hugging Face `tokenizers` runs it (`ByteLevel(use_regex: true)`,
/// optionally after `Digits(individual_digits: true)`): text between special tokens is cut into
/// pieces that BPE then encodes one at a time. The GPT-2 pattern
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// is matched by hand (Oniguruma semantics: first alternative that matches, `\s` = Unicode
/// White_Space, `\p{L}`/`\p{N}` = the letter/number general categories): a literal regex would be
/// several times slower and its Unicode classes are not guaranteed to match Oniguruma's.
enum ByteLevelPreTokenizer {
    /// Pieces of `scalars`, as index ranges, in order. With `splitDigits`, every number character
    /// (`isNumeric`, Rust's `char::is_numeric`) is first isolated as a piece
    /// of its own, and the pattern runs on the text between them.
    static func pieces(_ scalars: [Unicode.Scalar], splitDigits: Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        guard splitDigits else {
            gpt2Pieces(scalars, 0..<scalars.count, into: &out)
            return out
        }
        var start = 0
        for index in scalars.indices where isNumeric(scalars[index]) {
            if start < index { gpt2Pieces(scalars, start..<index, into: &out) }
            out.append(index..<(index + 1))
            start = index + 1
        }
        if start < scalars.count { gpt2Pieces(scalars, start..<scalars.count, into: &out) }
        return out
    }

    /// `\p{L}` as Oniguruma in `tokenizers` 0.23 sees it: its tables are Unicode 16.0, so a scalar
    /// assigned later (Swift 6.3 knows Unicode 17) is unassigned there, in none of the classes.
    /// Every scalar is checked against the reference in `ByteLevelBPETests`.
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return (0x41...0x5A).contains(scalar.value) || (0x61...0x7A).contains(scalar.value) }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return inReferenceUnicode(scalar)
        default: return false
        }
    }

    /// `\p{N}` (general categories Nd, Nl, No), and Rust's `char::is_numeric` for the digit split.
    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return (0x30...0x39).contains(scalar.value) }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return inReferenceUnicode(scalar)
        default: return false
        }
    }

    /// Rust's `char::is_numeric`, which `Digits` uses: the same categories with the standard
    /// library's current tables (Unicode 17, as Swift 6.3's), not Oniguruma's.
    static func isNumeric(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return (0x30...0x39).contains(scalar.value) }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// Whether the scalar was assigned by Unicode 16.0, the reference's version.
    private static func inReferenceUnicode(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age <= (16, 0)
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

    /// The pattern's matches in `range` of `s`, appended to `out`. Every scalar belongs to exactly
    /// one match (the alternatives together cover every character).
    static func gpt2Pieces(_ s: [Unicode.Scalar], _ range: Range<Int>, into out: inout [Range<Int>]) {
        let end = range.upperBound
        var i = range.lowerBound
        func run(from start: Int, while test: (Unicode.Scalar) -> Bool) -> Int {
            var j = start
            while j < end, test(s[j]) { j += 1 }
            return j
        }
        while i < end {
            if let length = contraction(s, at: i, end: end) {
                out.append(i..<(i + length)); i += length
                continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional literal space, then a run of one class.
            let body = s[i] == " " && i + 1 < end ? i + 1 : i
            if let test = characterClass(s[body]) {
                let j = run(from: body + 1, while: test)
                out.append(i..<j); i = j
                continue
            }
            // `\s+(?!\S)` then `\s+`: a whitespace run not followed by a non-space is one piece;
            // followed by one, the run less its last character (which then starts the next piece,
            // as the space of " word"); a single whitespace character before a non-space is `\s+`.
            let j = run(from: i, while: isSpace)
            let stop = j == end || j - i == 1 ? j : j - 1
            out.append(i..<stop); i = stop
        }
    }

    /// The length of `'s 't 're 've 'm 'll 'd` at `i` (lowercase only: the pattern is case-sensitive).
    private static func contraction(_ s: [Unicode.Scalar], at i: Int, end: Int) -> Int? {
        guard s[i] == "'", i + 1 < end else { return nil }
        switch s[i + 1] {
        case "s", "t", "m", "d": return 2
        case "r" where i + 2 < end && s[i + 2] == "e": return 3
        case "v" where i + 2 < end && s[i + 2] == "e": return 3
        case "l" where i + 2 < end && s[i + 2] == "l": return 3
        default: return nil
        }
    }

    /// The class test of the three one-class runs a non-space character starts; nil for whitespace.
    private static func characterClass(_ c: Unicode.Scalar) -> ((Unicode.Scalar) -> Bool)? {
        if isLetter(c) { return isLetter }
        if isNumber(c) { return isNumber }
        if isSpace(c) { return nil }
        return { !isSpace($0) && !isLetter($0) && !isNumber($0) }
    }
}
