/// Finds special tokens written literally in raw text, as tokenizers' `AddedVocabulary` finds
/// added tokens marked `normalized: false` (BERT's [CLS], [SEP], [PAD], [UNK], [MASK]): exact
/// scalars, leftmost-longest, before normalization. So "[MASK]" in a text is the mask token, while
/// "[mask]" is the three pieces "[", "mask", "]".
struct SpecialTokenMatcher: Sendable {
    enum Segment {
        case text(Substring.UnicodeScalarView)
        case special(Int32)
    }

    private struct Entry: Sendable {
        let scalars: [Unicode.Scalar]
        let id: Int32
    }

    /// Longest first, so the first entry matching at a position is the longest there.
    private let entries: [Entry]
    /// The scalars entries start with: a cheap test before trying entries at a position.
    private let firstScalars: [Unicode.Scalar]

    init(_ tokens: [(spelling: String, id: Int32)]) {
        entries = tokens
            .filter { !$0.spelling.isEmpty }
            .map { Entry(scalars: Array($0.spelling.unicodeScalars), id: $0.id) }
            .sorted { $0.scalars.count > $1.scalars.count }
        firstScalars = Array(Set(entries.map { $0.scalars[0] }))
    }

    /// `text` cut into the special tokens it spells and the text between them, in order.
    func segments(of text: String) -> [Segment] {
        let scalars = text.unicodeScalars
        var segments: [Segment] = []
        var segmentStart = scalars.startIndex
        var index = segmentStart
        while index < scalars.endIndex {
            let rest = scalars[index...]
            guard firstScalars.contains(scalars[index]),
                  let entry = entries.first(where: { rest.starts(with: $0.scalars) })
            else {
                scalars.formIndex(after: &index)
                continue
            }
            if segmentStart < index {
                segments.append(.text(scalars[segmentStart..<index]))
            }
            segments.append(.special(entry.id))
            index = scalars.index(index, offsetBy: entry.scalars.count)
            segmentStart = index
        }
        if segmentStart < scalars.endIndex {
            segments.append(.text(scalars[segmentStart...]))
        }
        return segments
    }
}
