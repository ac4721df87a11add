import Dispatch
import COpenBLAS

/// How kernels share the machine's cores.
///
/// OpenBLAS is pinned to one thread and every kernel (sgemm included) is split across
/// `Parallel.threadCount` workers by rows. One owner of the cores means no OpenBLAS worker spins
/// while our own element-wise kernels run, and results do not depend on OpenBLAS's thread heuristics.
public enum Parallel {
    /// Number of workers kernels split their rows across. Set once at start-up (`configure`).
    nonisolated(unsafe) public private(set) static var threadCount: Int = 1

    /// Sets the worker count (clamped to at least 1) and pins OpenBLAS to one thread per call.
    public static func configure(threads: Int) {
        threadCount = max(1, threads)
        openblas_set_num_threads(1)
    }

    /// Splits `0..<count` into at most `threadCount` contiguous ranges of at least `minimumChunk`
    /// items and runs `body` on each, concurrently. Ranges are a pure function of
    /// (`count`, `threadCount`, `minimumChunk`), so results are reproducible for a given thread count.
    @inlinable
    public static func forEachRange(_ count: Int, minimumChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        forEachWorkerRange(count, minimumChunk: minimumChunk) { _, range in body(range) }
    }

    /// As `forEachRange`, also passing the worker's index in `0..<threadCount`, for kernels that
    /// give each worker its own scratch memory.
    @inlinable
    public static func forEachWorkerRange(_ count: Int, minimumChunk: Int = 1, _ body: (_ worker: Int, Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = min(threadCount, max(1, count / max(1, minimumChunk)))
        if workers == 1 { body(0, 0..<count); return }
        // Workers touch disjoint ranges of raw buffers: the caller guarantees race freedom, which
        // the type system cannot see through pointers, hence the unchecked box.
        withoutActuallyEscaping(body) { body in
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let begin = count * worker / workers
                let end = count * (worker + 1) / workers
                if begin < end { task.value(worker, begin..<end) }
            }
        }
    }
}

@usableFromInline
struct UncheckedSendable<Value>: @unchecked Sendable {
    @usableFromInline let value: Value
    @usableFromInline init(_ value: Value) { self.value = value }
}
