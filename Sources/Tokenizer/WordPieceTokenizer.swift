import Foundation

/// A BERT WordPiece tokenizer that gives the same ids as Hugging Face's `BertTokenizerFast` (the
/// Rust `tokenizers` pipeline: added tokens, BertNormalizer, BertPreTokenizer, WordPiece, then
/// [CLS] … [SEP]) for uncased models.
public struct WordPieceTokenizer: Sendable {
    public let clsID: Int32
    public let sepID: Int32
    public let padID: Int32
    public let unkID: Int32

    /// Token spellings by id.
    private let tokens: [String]
    private let normalizer: BertNormalizer
    private let specialTokenMatcher: SpecialTokenMatcher
    private let wordPiece: WordPiece

    /// Reads a BERT `vocab.txt`: one token a line, token i on line i + 1.
    ///
    /// - Parameter lowercase: lowercase and strip accents (uncased models); false keeps both.
    /// - Throws: `TokenizerError` naming the file, and the line when one is at fault, if the file
    ///   cannot be read, is empty, repeats a token or lacks [CLS], [SEP], [PAD] or [UNK].
    public init(vocabularyFile: URL, lowercase: Bool = true) throws {
        let tokens = try VocabularyFile.read(vocabularyFile)
        switch Self.validate(tokens) {
        case .success(let vocabulary):
            self.init(tokens: tokens, vocabulary: vocabulary, lowercase: lowercase)
        case .failure(.duplicate(let index, let firstIndex)):
            throw TokenizerError(
                file: vocabularyFile, line: index + 1,
                "duplicate token \"\(tokens[index])\" (first on line \(firstIndex + 1)); expected each token once")
        case .failure(.missingSpecialToken(let token)):
            throw TokenizerError(file: vocabularyFile, "expected the special token \(token) on some line")
        }
    }

    /// A tokenizer over an in-memory vocabulary where token i has id i, e.g. for tests.
    ///
    /// - Precondition: no token appears twice, and [CLS], [SEP], [PAD] and [UNK] are present.
    public init(vocabulary tokens: [String], lowercase: Bool = true) {
        switch Self.validate(tokens) {
        case .success(let vocabulary):
            self.init(tokens: tokens, vocabulary: vocabulary, lowercase: lowercase)
        case .failure(let problem):
            preconditionFailure("invalid vocabulary: \(problem)")
        }
    }

    private init(tokens: [String], vocabulary: VocabularyTrie, lowercase: Bool) {
        // validate(_:) has checked that the required special tokens are present.
        clsID = vocabulary.id(of: SpecialToken.cls)!
        sepID = vocabulary.id(of: SpecialToken.sep)!
        padID = vocabulary.id(of: SpecialToken.pad)!
        unkID = vocabulary.id(of: SpecialToken.unk)!
        self.tokens = tokens
        normalizer = BertNormalizer(lowercase: lowercase)
        specialTokenMatcher = SpecialTokenMatcher(
            SpecialToken.all.compactMap { token in vocabulary.id(of: token).map { (token, $0) } })
        wordPiece = WordPiece(vocabulary: vocabulary, unknownID: unkID)
    }

    public var vocabularySize: Int { tokens.count }

    /// The word pieces of `text`, without [CLS] and [SEP] (special tokens written in the text,
    /// such as "[MASK]", are kept as pieces, as in the reference).
    public func tokenize(_ text: String) -> [String] {
        var ids: [Int32] = []
        appendPieceIDs(of: text, to: &ids)
        return ids.map { tokens[Int($0)] }
    }

    /// [CLS], the ids of `text`'s pieces, [SEP]. With `maxLength`, only the first
    /// `maxLength - 2` pieces are kept, so the result has at most `maxLength` ids (the reference's
    /// `truncation=True, max_length=maxLength` for one sequence).
    ///
    /// - Precondition: `maxLength` is nil or at least 2, room for [CLS] and [SEP].
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int32] {
        if let maxLength {
            precondition(maxLength >= 2, "maxLength \(maxLength) cannot hold [CLS] and [SEP]")
        }
        var ids = [clsID]
        appendPieceIDs(of: text, to: &ids)
        if let maxLength, ids.count > maxLength - 1 {
            ids.removeSubrange((maxLength - 1)...)
        }
        ids.append(sepID)
        return ids
    }

    public func id(of token: String) -> Int32? {
        wordPiece.vocabulary.id(of: token)
    }

    public func token(of id: Int32) -> String? {
        tokens.indices.contains(Int(id)) ? tokens[Int(id)] : nil
    }

    private func appendPieceIDs(of text: String, to ids: inout [Int32]) {
        var utf8: [UInt8] = []
        for segment in specialTokenMatcher.segments(of: text) {
            switch segment {
            case .special(let id):
                ids.append(id)
            case .text(let scalars):
                BertPreTokenizer.forEachWord(in: normalizer.normalize(scalars)) { word in
                    wordPiece.appendIDs(of: word, to: &ids, utf8: &utf8)
                }
            }
        }
    }
}

extension WordPieceTokenizer {
    /// Reads `vocab.txt` from a model directory, and `do_lower_case` from its
    /// `tokenizer_config.json` when there is one (default: lowercase).
    public static func load(modelDirectory: URL) throws -> WordPieceTokenizer {
        let configFile = modelDirectory.appendingPathComponent("tokenizer_config.json")
        let lowercase = try TokenizerConfig.lowercase(configFile: configFile)
        return try WordPieceTokenizer(
            vocabularyFile: modelDirectory.appendingPathComponent("vocab.txt"), lowercase: lowercase)
    }
}

/// BERT's special tokens, which the reference matches literally in raw text.
private enum SpecialToken {
    static let pad = "[PAD]", unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", mask = "[MASK]"
    static let required = [cls, sep, pad, unk]
    static let all = [pad, unk, cls, sep, mask]
}

extension WordPieceTokenizer {
    private enum VocabularyProblem: Error, CustomStringConvertible {
        case duplicate(index: Int, firstIndex: Int)
        case missingSpecialToken(String)

        var description: String {
            switch self {
            case .duplicate(let index, let firstIndex):
                return "token \(index) repeats token \(firstIndex)"
            case .missingSpecialToken(let token):
                return "no \(token) token"
            }
        }
    }

    /// The trie of `tokens` (id = index), or why they cannot be a vocabulary.
    private static func validate(_ tokens: [String]) -> Result<VocabularyTrie, VocabularyProblem> {
        var trie = VocabularyTrie()
        for (index, token) in tokens.enumerated() {
            if let firstIndex = trie.insert(token, id: Int32(index)) {
                return .failure(.duplicate(index: index, firstIndex: Int(firstIndex)))
            }
        }
        for token in SpecialToken.required where trie.id(of: token) == nil {
            return .failure(.missingSpecialToken(token))
        }
        return .success(trie)
    }
}
