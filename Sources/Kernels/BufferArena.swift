/// Memory for a training step's transient buffers, kept from one step to the next.
///
/// A step of a small decoder makes about a gigabyte of activations and gradients and frees them
/// at its end. Allocated afresh every step, each page is faulted in and zeroed again by the
/// kernel, and Swift's zero-filled arrays zero them once more, on the one thread that allocates
/// them while the other cores wait: about a twentieth of a step. An arena hands out slices of
/// chunks it keeps, so from the second step on nothing is faulted in and nothing is zeroed that
/// the step does not ask to have zeroed.
///
/// `reset()` starts a step: every slice handed out before is then invalid and its memory will be
/// handed out again. Slices from `take` hold whatever an earlier step left there (the caller
/// overwrites them); `zeroed` clears them, in parallel. Steps of different shapes reuse the same
/// chunks in order; a request that fits none left gets a new chunk, so the arena grows to the
/// largest step it has served and stays there until it is freed. Steps of changing shapes can
/// leave chunks a later layout skips over: when the chunks hold more than 1.5× the most one
/// step has asked for (plus a chunk), `reset` frees them all. Not for concurrent use.
public final class BufferArena {
    private struct Chunk { let base: UnsafeMutableRawPointer; let bytes: Int }
    private var chunks: [Chunk] = []
    private var chunkIndex = 0, offset = 0
    /// Bytes handed out since `reset`, and the most any step has been handed.
    private var used = 0, mostUsed = 0
    private let chunkBytes: Int
    private static let alignment = 64

    /// Chunks of `chunkBytes` (a larger request gets a chunk of its own size).
    public init(chunkBytes: Int = 64 << 20) { self.chunkBytes = chunkBytes }

    deinit { for chunk in chunks { chunk.base.deallocate() } }

    /// Bytes held.
    public var byteCount: Int { chunks.reduce(0) { $0 + $1.bytes } }

    /// Makes every slice handed out so far available again.
    public func reset() {
        mostUsed = max(mostUsed, used)
        if byteCount > mostUsed + mostUsed / 2 + chunkBytes {
            for chunk in chunks { chunk.base.deallocate() }
            chunks = []
        }
        chunkIndex = 0; offset = 0; used = 0
    }

    /// `count` floats whose contents are undefined (an earlier step's values).
    public func take(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        precondition(count >= 0, "a buffer of \(count) floats")
        let bytes = (count * MemoryLayout<Float>.stride + Self.alignment - 1) / Self.alignment * Self.alignment
        while chunkIndex < chunks.count, chunks[chunkIndex].bytes - offset < bytes {
            chunkIndex += 1
            offset = 0
        }
        if chunkIndex == chunks.count {
            let size = max(chunkBytes, bytes)
            chunks.append(Chunk(base: .allocate(byteCount: size, alignment: Self.alignment), bytes: size))
            offset = 0
        }
        let start = (chunks[chunkIndex].base + offset).bindMemory(to: Float.self, capacity: count)
        offset += bytes
        used += bytes
        return UnsafeMutableBufferPointer(start: start, count: count)
    }

    /// `count` floats set to 0.
    public func zeroed(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = take(count)
        parallelZero(buffer)
        return buffer
    }
}

/// Sets every element to 0, the workers taking a share each.
public func parallelZero(_ buffer: UnsafeMutableBufferPointer<Float>) {
    guard let base = buffer.baseAddress else { return }
    Parallel.forEachRange(buffer.count, minimumChunk: 1 << 16) { range in
        (base + range.lowerBound).update(repeating: 0, count: range.count)
    }
}

/// destination[i] = source[i], the workers taking a share each.
public func parallelCopy(_ destination: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, count: Int) {
    Parallel.forEachRange(count, minimumChunk: 1 << 16) { range in
        (destination + range.lowerBound).update(from: source + range.lowerBound, count: range.count)
    }
}
