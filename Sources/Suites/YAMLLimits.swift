import Foundation

/// Limits checked on a suite's text before the YAML library sees it.
///
/// The library handles aliases well except in one place: an alias used as a mapping key is
/// expanded and compared with every other key, so a "billion laughs" alias bomb in key position
/// takes minutes (×10 per level of nesting) before any error could be reported. Suites never need
/// a mapping key that is an alias, so that is refused outright, with the line; and a suite is
/// bounded in size and in the number of aliases it may use.
enum YAMLLimits {
    static let maximumBytes = 1 << 20
    static let maximumAliases = 1_000

    static func check(_ text: String, file: String) throws(SuiteError) {
        guard text.utf8.count <= maximumBytes else {
            throw SuiteError(file: file, message: "is \(text.utf8.count) bytes; a suite file may have at most \(maximumBytes) (1 MiB)")
        }
        var aliases = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let code = stripQuotedAndComment(line)
            for alias in aliasPositions(in: code) {
                aliases += 1
                guard aliases <= maximumAliases else {
                    throw SuiteError(file: file, line: index + 1,
                                     message: "uses more than \(maximumAliases) YAML aliases (*name); write the values out or use fewer")
                }
                if isKeyPosition(code, aliasStart: alias) {
                    throw SuiteError(file: file, line: index + 1,
                                     message: "a YAML alias (*name) is used as a mapping key; suites do not allow alias keys (they can expand without bound)")
                }
            }
        }
    }

    /// The line with quoted strings blanked out and a trailing comment removed.
    static func stripQuotedAndComment(_ line: Substring) -> [Character] {
        var out: [Character] = []
        var quote: Character?
        var previous: Character = " "
        for character in line {
            if let open = quote {
                if character == open { quote = nil }
                out.append(" ")
            } else if character == "\"" || character == "'" {
                quote = character
                out.append(" ")
            } else if character == "#" && previous.isWhitespace {
                break
            } else {
                out.append(character)
            }
            previous = character
        }
        return out
    }

    /// Offsets of `*` that start an alias: at the start of a token (after whitespace or a flow
    /// indicator) and followed by a name character.
    static func aliasPositions(in code: [Character]) -> [Int] {
        code.indices.filter { i in
            code[i] == "*" && (i == 0 || " \t[{,?-:".contains(code[i - 1]))
                && i + 1 < code.count && !" \t,[]{}".contains(code[i + 1])
        }
    }

    /// Whether the alias at `aliasStart` is a key: introduced by `? `, or followed (after its name and
    /// spaces) by `:` and a space or the end of the line.
    static func isKeyPosition(_ code: [Character], aliasStart: Int) -> Bool {
        var before = aliasStart - 1
        while before >= 0 && code[before].isWhitespace { before -= 1 }
        if before >= 0 && code[before] == "?" { return true }
        var end = aliasStart + 1
        while end < code.count && !" \t,[]{}".contains(code[end]) && code[end] != ":" { end += 1 }
        while end < code.count && code[end].isWhitespace { end += 1 }
        return end < code.count && code[end] == ":" && (end + 1 == code.count || code[end + 1].isWhitespace)
    }
}
