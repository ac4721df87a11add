import Kernels
import Model

/// A tokenised, labelled example.
public struct TrainingExample: Sendable, Equatable {
    public var ids: [Int32]
    public var label: Int32
    public init(ids: [Int32], label: Int32) { self.ids = ids; self.label = label }
}

/// Batches grouped by length so each pads only to its own longest member, in a seeded order.
///
/// Each epoch: shuffle all examples with the epoch's seed; cut the shuffled list into windows of
/// 50 batches; sort each window by length and cut it into batches; shuffle the batch order.
/// Similar lengths share a batch (little padding) while every epoch still sees a new mix.
public enum LengthGroupedBatcher {
    public static func batches(count: Int, lengths: (Int) -> Int, batchSize: Int, seed: UInt64) -> [[Int]] {
        var generator = SeededGenerator(seed: seed)
        var order = Array(0..<count)
        fisherYatesShuffle(&order, &generator)
        let window = batchSize * 50
        var batches: [[Int]] = []
        for start in stride(from: 0, to: order.count, by: window) {
            let members = order[start..<min(start + window, order.count)].sorted { lengths($0) > lengths($1) }
            for batchStart in stride(from: 0, to: members.count, by: batchSize) {
                batches.append(Array(members[(members.startIndex + batchStart)..<min(members.startIndex + batchStart + batchSize, members.endIndex)]))
            }
        }
        fisherYatesShuffle(&batches, &generator)
        return batches
    }

    /// Batches in length order for evaluation (no shuffling): as little padding as possible.
    public static func evaluationBatches(count: Int, lengths: (Int) -> Int, batchSize: Int) -> [[Int]] {
        let order = (0..<count).sorted { lengths($0) > lengths($1) }
        return stride(from: 0, to: count, by: batchSize).map { Array(order[$0..<min($0 + batchSize, count)]) }
    }
}

/// Fisher–Yates with our own generator: the standard library's `shuffle` algorithm is not
/// guaranteed stable across Swift versions, and the order must be reproducible from the seed.
func fisherYatesShuffle<T>(_ items: inout [T], _ generator: inout SeededGenerator) {
    guard items.count > 1 else { return }
    for i in stride(from: items.count - 1, to: 0, by: -1) {
        let j = Int(generator.next() % UInt64(i + 1))
        items.swapAt(i, j)
    }
}
