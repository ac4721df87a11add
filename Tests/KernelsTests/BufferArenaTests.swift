import XCTest
@testable import Kernels

final class BufferArenaTests: XCTestCase {
    /// Slices of one step never overlap and are 64-byte aligned; after `reset` the same requests
    /// get the same memory (nothing new is allocated), and `zeroed` clears what a step left.
    func testSlicesAreDisjointAlignedAndReusedAfterReset() {
        let arena = BufferArena(chunkBytes: 1 << 12)
        let counts = [10, 1000, 3, 2048, 700, 1]
        func step() -> [UnsafeMutableBufferPointer<Float>] { counts.map { arena.take($0) } }
        let first = step()
        for (i, slice) in first.enumerated() {
            XCTAssertEqual(slice.count, counts[i])
            XCTAssertEqual(Int(bitPattern: slice.baseAddress!) % 64, 0)
            slice.update(repeating: Float(i + 1))
        }
        for (i, slice) in first.enumerated() {
            XCTAssertTrue(slice.allSatisfy { $0 == Float(i + 1) }, "slice \(i) was overwritten by another")
        }
        let held = arena.byteCount
        arena.reset()
        let second = step()
        XCTAssertEqual(second.map(\.baseAddress), first.map(\.baseAddress), "the same layout, the same memory")
        XCTAssertEqual(arena.byteCount, held)
        arena.reset()
        let cleared = arena.zeroed(2048 + 10)
        XCTAssertTrue(cleared.allSatisfy { $0 == 0 })
    }

    /// A larger step grows the arena; steps of changing shapes do not make it grow without bound:
    /// at the start of every step it holds at most 1.5× the most any step asked for, plus a chunk
    /// (the rule `reset` keeps). The first case is the layout that needs the rule: a small request
    /// then a large one takes the first large chunk for the small one and adds a second large chunk
    /// every other step; without the rule the arena would hold two large chunks for one step's need.
    func testGrowthIsBoundedAcrossChangingShapes() {
        let chunk = 1 << 16
        func aligned(_ count: Int) -> Int { (count * 4 + 63) / 64 * 64 }
        func check(_ steps: [[Int]], _ label: String) {
            let arena = BufferArena(chunkBytes: chunk)
            var most = 0
            for (index, requests) in steps.enumerated() {
                arena.reset()
                XCTAssertLessThanOrEqual(arena.byteCount, most + most / 2 + chunk, "\(label), step \(index)")
                for count in requests { _ = arena.take(count) }
                most = max(most, requests.reduce(0) { $0 + aligned($1) })
            }
        }
        let large = 10 * chunk / 4
        check([[large]] + (0..<20).map { _ in [1_000, large] }, "small before large")
        check((0..<200).map { step in
            let scale = 1 + (step * 7919) % 13
            return (0..<20).map { request in (request % 5 + 1) * 500 * scale + (request == 7 ? 40_000 * scale : 0) }
        }, "changing shapes")
    }

    func testParallelSumOfSquaresDoesNotDependOnTheWorkerCount() {
        let values = (0..<300_001).map { Float(($0 * 37) % 101) / 50 - 1 }
        let expected = values.reduce(0.0) { $0 + Double($1) * Double($1) }
        var sums: [Double] = []
        for threads in [1, 2, 3] {
            Parallel.configure(threads: threads)
            sums.append(values.withUnsafeBufferPointer { parallelSumOfSquares($0.baseAddress!, count: $0.count) })
        }
        Parallel.configure(threads: 2)
        XCTAssertEqual(Set(sums).count, 1, "\(sums)")
        XCTAssertEqual(sums[0], expected, accuracy: expected * 1e-6)
    }
}
