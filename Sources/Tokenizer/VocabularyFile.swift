import Foundation
import InputFiles

/// The `vocab.txt` format: UTF-8, one token a line, LF or CRLF line ends.
enum VocabularyFile {
    static func read(_ file: URL) throws -> [String] {
        let data: Data
        do {
            data = try InputFile.contents(of: file)
        } catch {
            throw TokenizerError(file: file, "cannot read the vocabulary: \(error.reason)")
        }
        // Hugging Face reads the mark as part of the first token, so "[PAD]" would not be found
        // there: refuse rather than tokenize differently from the reference.
        guard !data.starts(with: [0xEF, 0xBB, 0xBF]) else {
            throw TokenizerError(file: file, line: 1, "starts with a UTF-8 byte-order mark (EF BB BF), which Hugging Face reads as part of the first token; save the file without it")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TokenizerError(file: file, "expected UTF-8 text, one token a line")
        }
        // Split scalars, not Characters: "\r\n" is a single Character.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true {
            lines.removeLast()  // the newline ending the last line
        }
        guard !lines.isEmpty else {
            throw TokenizerError(file: file, "the file is empty; expected one token a line")
        }
        return try lines.enumerated().map { index, line in
            let token = String(line.last == "\r" ? line.dropLast() : line)
            guard !token.isEmpty else {
                throw TokenizerError(file: file, line: index + 1, "empty line; expected a token")
            }
            return token
        }
    }
}

/// The parts of Hugging Face's `tokenizer_config.json` that change how BERT tokenizes.
struct TokenizerConfig: Decodable {
    var doLowerCase: Bool?
    var stripAccents: Bool?
    var tokenizeChineseChars: Bool?

    enum CodingKeys: String, CodingKey {
        case doLowerCase = "do_lower_case"
        case stripAccents = "strip_accents"
        case tokenizeChineseChars = "tokenize_chinese_chars"
    }

    /// `do_lower_case` from `configFile`, true when the file or the key is absent. Throws for
    /// settings this tokenizer does not implement rather than tokenizing differently.
    static func lowercase(configFile: URL) throws -> Bool {
        guard FileManager.default.fileExists(atPath: configFile.path) else {
            return true
        }
        let config: TokenizerConfig
        do {
            config = try JSONDecoder().decode(TokenizerConfig.self, from: InputFile.contents(of: configFile))
        } catch let error as InputFile.Problem {
            throw TokenizerError(file: configFile, "cannot read the file: \(error.reason)")
        } catch {
            throw TokenizerError(
                file: configFile, "expected a JSON object with optional boolean do_lower_case (\(error))")
        }
        let lowercase = config.doLowerCase ?? true
        if let stripAccents = config.stripAccents, stripAccents != lowercase {
            throw TokenizerError(
                file: configFile,
                "strip_accents is \(stripAccents) but do_lower_case is \(lowercase); expected strip_accents null or equal to do_lower_case")
        }
        if config.tokenizeChineseChars == false {
            throw TokenizerError(file: configFile, "tokenize_chinese_chars is false; expected true or absent")
        }
        return lowercase
    }
}
