/// Inverted dropout, as `torch.nn.Dropout` in training mode: each element is kept with
/// probability 1 − p and scaled by 1/(1 − p).
///
/// Masks are bytes (1 keep, 0 drop) — a quarter of the memory of float masks, which matters
/// because training keeps one per dropout site and layer — and a pure function of (seed, index):
/// a counter-based hash rather than a sequential generator, so they can be filled in parallel and
/// are identical for any thread count.
public func dropoutMaskFill(
    mask: UnsafeMutablePointer<UInt8>,      // (N) 1 keep, 0 drop
    count N: Int, probability p: Float, seed: UInt64
) {
    precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
    // Compare 24 random bits with p · 2²⁴.
    let threshold = UInt64(Double(p) * 16_777_216)
    Parallel.forEachRange(N, minimumChunk: 16384) { range in
        for i in range {
            mask[i] = (counterHash(seed, UInt64(i)) >> 40) < threshold ? 0 : 1
        }
    }
}

/// The factor kept elements are scaled by: 1/(1 − p).
@inline(__always)
public func dropoutScale(probability p: Float) -> Float { 1 / (1 - p) }

/// x[i] *= mask[i] · scale: applies a dropout mask in place (forward), or to a gradient
/// (backward — dropout's backward is the same multiplication).
public func applyDropoutMask(_ x: UnsafeMutablePointer<Float>, _ mask: UnsafePointer<UInt8>, scale: Float, count N: Int) {
    Parallel.forEachRange(N, minimumChunk: 16384) { range in
        for i in range { x[i] *= Float(mask[i]) * scale }
    }
}

/// A float buffer's worth of dropout masks: bytes, 64-byte aligned, reused across steps.
public final class MaskBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<UInt8>

    public init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64).bindMemory(to: UInt8.self, capacity: max(count, 1))
    }

    deinit { pointer.deallocate() }
}

/// Stateless random bits for (seed, counter): the value `SeededGenerator(seed:)` returns on its
/// (counter + 1)-th call, computed directly.
@inline(__always)
public func counterHash(_ seed: UInt64, _ counter: UInt64) -> UInt64 {
    splitMix64Finalizer(seed &+ (counter &+ 1) &* 0x9E37_79B9_7F4A_7C15)
}

/// SplitMix64's output mix (Steele, Lea & Flood 2014).
@inline(__always)
func splitMix64Finalizer(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
