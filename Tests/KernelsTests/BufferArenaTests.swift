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

    /// A larger step grows the arena; steps of changing shapes do not make it grow without bound.
    func testGrowthIsBoundedAcrossChangingShapes() {
        let arena = BufferArena(chunkBytes: 1 << 16)
        var most = 0
        for step in 0..<200 {
            arena.reset()
            let scale = 1 + (step * 7919) % 13
            var asked = 0
            for request in 0..<20 {
                let count = (request % 5 + 1) * 500 * scale + (request == 7 ? 40_000 * scale : 0)
                _ = arena.take(count)
                asked += count * 4
            }
            most = max(most, asked)
            XCTAssertLessThanOrEqual(arena.byteCount, 3 * most + (1 << 17), "step \(step)")
        }
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
