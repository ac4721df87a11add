/// Token ids of a batch, right-padded to the batch's own longest sequence.
public struct TokenBatch: Sendable {
    /// B
    public let batchSize: Int
    /// T: the longest sequence in this batch, not a global maximum.
    public let tokens: Int
    /// (B, T) token ids; padding positions hold `padID`.
    public let ids: [Int32]
    /// (B) number of real tokens in each row.
    public let lengths: [Int32]

    public init(sequences: [[Int32]], padID: Int32 = 0) {
        precondition(!sequences.isEmpty, "a batch needs at least one sequence")
        let T = max(1, sequences.map(\.count).max() ?? 1)
        var ids = [Int32](repeating: padID, count: sequences.count * T)
        for (b, sequence) in sequences.enumerated() {
            for (t, id) in sequence.enumerated() { ids[b * T + t] = id }
        }
        self.batchSize = sequences.count
        self.tokens = T
        self.ids = ids
        self.lengths = sequences.map { Int32($0.count) }
    }
}
