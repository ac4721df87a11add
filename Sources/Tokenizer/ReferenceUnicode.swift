/// The character classes of Hugging Face `tokenizers`' BERT normalizer and pre-tokenizer, as that
/// Rust code sees them rather than as today's Unicode does.
///
/// The Rust library takes general categories from the `unicode_categories` crate, whose tables are
/// Unicode 8.0, and NFD from `unicode-normalization-alignments`, whose tables are Unicode 9.0.
/// Whitespace and lowercasing come from Rust's standard library, which is current. Swift's
/// properties are current (Unicode 17 in Swift 6.3), so we take Swift's category and then undo
/// what changed since: scalars assigned after 8.0 have no category in the reference, and the
/// few scalars recategorized since 8.0 get their 8.0 category back. `UnicodeClassesTests`
/// checks every scalar against the installed reference, so a toolchain with newer Unicode data
/// that breaks this fails loudly.
enum ReferenceUnicode {
    /// The scalar's general category in Unicode 8.0, or nil if it was unassigned then.
    private static func unicode8Category(_ scalar: Unicode.Scalar) -> Unicode.GeneralCategory? {
        // Scalars assigned by 8.0 whose category changed since, found by comparing every scalar
        // with the reference implementation.
        switch scalar.value {
        case 0x166D: return .otherPunctuation  // CANADIAN SYLLABICS CHI SIGN, So since 12.0
        case 0x111C9: return .otherPunctuation  // SHARADA SANDHI MARK, Mn since 9.0
        case 0x1734: return .nonspacingMark  // HANUNOO SIGN PAMUDPOD, Mc since 14.0
        case 0x1885, 0x1886: return .otherLetter  // MONGOLIAN LETTER ALI GALI (THREE) BALUDA, Mn since 9.0
        case 0xA9BD: return .spacingMark  // JAVANESE CONSONANT SIGN KERET, Mn since 12.0
        case 0x1171E: return .nonspacingMark  // AHOM CONSONANT SIGN MEDIAL RA, Mc since 11.0
        default: break
        }
        guard let age = scalar.properties.age, age <= (8, 0) else {
            return nil
        }
        return scalar.properties.generalCategory
    }

    /// `char::is_whitespace` (the White_Space property), which is also what the normalizer maps
    /// to a space (it adds tab, newline and carriage return, already White_Space).
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return scalar == " " || (0x09...0x0D).contains(scalar.value)
        }
        return scalar.properties.isWhitespace
    }

    /// What the normalizer's clean_text removes: NUL, U+FFFD and "control" characters, which
    /// bert.rs defines as `is_other()` of `unicode_categories`: Cc, Cf or Co (its tables hold no
    /// Cn), excepting tab, newline and carriage return.
    static func isRemovedByCleanText(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r":
            return false
        case "\u{0}", "\u{FFFD}":
            return true
        default:
            break
        }
        if scalar.isASCII {
            return scalar.value < 0x20 || scalar.value == 0x7F
        }
        switch unicode8Category(scalar) {
        case .control, .format, .privateUse:
            return true
        default:
            return false
        }
    }

    /// bert.rs `is_chinese_char`: the CJK Unified Ideographs blocks (not kana, not Hangul).
    static func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
            0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// The pre-tokenizer's `is_bert_punc`: ASCII punctuation (which includes symbols like `$`,
    /// `+`, `^`) or a Unicode 8.0 punctuation category (Pc, Pd, Ps, Pe, Pi, Pf, Po).
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            switch scalar.value {
            case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E:
                return true
            default:
                return false
            }
        }
        switch unicode8Category(scalar) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// What strip_accents drops after NFD: category Mn as of Unicode 8.0.
    static func isNonspacingMark(_ scalar: Unicode.Scalar) -> Bool {
        !scalar.isASCII && unicode8Category(scalar) == .nonspacingMark
    }

    /// Whether the reference NFD (Unicode 9.0 tables) knows the scalar. Scalars it does not know
    /// have no decomposition and combining class 0 there, so they must be neither decomposed nor
    /// reordered; Swift's newer data would do both (e.g. U+11938 DIVES AKURU VOWEL SIGN O).
    static func isInReferenceNormalizationTables(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else {
            return false
        }
        return age <= (9, 0)
    }
}
