/// A byte-wise prefix tree over the UTF-8 spellings of the vocabulary.
///
/// Not a `[String: Int32]`: Swift compares strings by canonical equivalence, so "é" and
/// "e\u{301}" would be one key, while the reference compares bytes. The trie compares bytes, and
/// finds the longest entry starting at a position in one walk, without building candidate strings.
struct VocabularyTrie: Sendable {
    typealias Node = Int32

    static let root: Node = 0

    /// Edges keyed by `node << 8 | byte`.
    private var children: [UInt64: Node] = [:]
    /// The id of the token spelled by the path to each node, or -1.
    private var tokenIDs: [Int32] = [-1]

    /// Adds `spelling` as token `id`. Returns the id it already had if it was added before.
    mutating func insert(_ spelling: String, id: Int32) -> Int32? {
        var node = Self.root
        for byte in spelling.utf8 {
            let key = Self.edge(node, byte)
            if let next = children[key] {
                node = next
            } else {
                let next = Node(tokenIDs.count)
                tokenIDs.append(-1)
                children[key] = next
                node = next
            }
        }
        let existing = tokenIDs[Int(node)]
        guard existing < 0 else {
            return existing
        }
        tokenIDs[Int(node)] = id
        return nil
    }

    /// The node reached from `start` by `bytes`, if the vocabulary has entries with that prefix.
    func node(after bytes: some Sequence<UInt8>, from start: Node = root) -> Node? {
        var node = start
        for byte in bytes {
            guard let next = children[Self.edge(node, byte)] else {
                return nil
            }
            node = next
        }
        return node
    }

    func tokenID(at node: Node) -> Int32? {
        let id = tokenIDs[Int(node)]
        return id < 0 ? nil : id
    }

    /// The id of the token spelled exactly (byte for byte) `spelling`.
    func id(of spelling: String) -> Int32? {
        node(after: spelling.utf8).flatMap(tokenID(at:))
    }

    /// The longest non-empty `bytes[start..<end]` that, appended to the path to `node`, spells a
    /// token. Tokens are whole UTF-8 sequences, so `end` always falls on a scalar boundary.
    func longestMatch(in bytes: [UInt8], from start: Int, after node: Node) -> (id: Int32, end: Int)? {
        var current = node
        var best: (id: Int32, end: Int)?
        var index = start
        while index < bytes.count, let next = children[Self.edge(current, bytes[index])] {
            current = next
            index += 1
            if let id = tokenID(at: current) {
                best = (id, index)
            }
        }
        return best
    }

    private static func edge(_ node: Node, _ byte: UInt8) -> UInt64 {
        UInt64(UInt32(bitPattern: node)) << 8 | UInt64(byte)
    }
}
