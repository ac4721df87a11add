/// tokenizers' `WordPiece` model: greedy longest-match-first, later pieces spelled with the "##"
/// prefix. A word longer than 100 scalars, or with a position no piece matches, becomes a single
/// [UNK] as a whole.
struct WordPiece: Sendable {
    /// `max_input_chars_per_word`, counted in scalars as Rust counts `chars()`.
    static let maxInputScalarsPerWord = 100
    static let continuationPrefix = "##"

    let vocabulary: VocabularyTrie
    let unknownID: Int32
    /// Where continuation pieces start matching; nil if the vocabulary has no "##" entries.
    private let continuation: VocabularyTrie.Node?

    init(vocabulary: VocabularyTrie, unknownID: Int32) {
        self.vocabulary = vocabulary
        self.unknownID = unknownID
        continuation = vocabulary.node(after: Self.continuationPrefix.utf8)
    }

    /// Appends the ids of `word`'s pieces. `utf8` is scratch space, reused across words.
    func appendIDs(of word: ArraySlice<Unicode.Scalar>, to ids: inout [Int32], utf8: inout [UInt8]) {
        guard word.count <= Self.maxInputScalarsPerWord else {
            ids.append(unknownID)
            return
        }
        utf8.removeAll(keepingCapacity: true)
        for scalar in word {
            utf8.append(contentsOf: scalar.utf8)
        }
        let firstPiece = ids.count
        var start = 0
        while start < utf8.count {
            guard let node = start == 0 ? VocabularyTrie.root : continuation,
                  let match = vocabulary.longestMatch(in: utf8, from: start, after: node)
            else {
                ids.removeSubrange(firstPiece...)
                ids.append(unknownID)
                return
            }
            ids.append(match.id)
            start = match.end
        }
    }
}
