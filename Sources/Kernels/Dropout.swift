/// Inverted dropout, as `torch.nn.Dropout` in training mode: each element is kept with
/// probability 1 − p and scaled by 1/(1 − p).
///
/// The mask is a pure function of (seed, index): a counter-based hash rather than a sequential
/// generator, so it can be filled in parallel and is identical for any thread count.
public func dropoutMaskFill(
    mask: UnsafeMutablePointer<Float>,      // (N) 0 or 1/(1 − p)
    count N: Int, probability p: Float, seed: UInt64
) {
    precondition(p >= 0 && p < 1, "dropout probability must be in [0, 1)")
    let keep = 1 / (1 - p)
    // Compare 24 random bits with p · 2²⁴.
    let threshold = UInt64(Double(p) * 16_777_216)
    Parallel.forEachRange(N, minimumChunk: 16384) { range in
        for i in range {
            mask[i] = (counterHash(seed, UInt64(i)) >> 40) < threshold ? 0 : keep
        }
    }
}

/// x[i] *= mask[i]: applies a dropout mask in place (forward), or to a gradient (backward —
/// dropout's backward is the same multiplication).
public func multiplyInPlace(_ x: UnsafeMutablePointer<Float>, _ mask: UnsafePointer<Float>, count N: Int) {
    Parallel.forEachRange(N, minimumChunk: 16384) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound { x.storeVector(x.loadVector(at: i) * mask.loadVector(at: i), at: i); i += 16 }
        while i < range.upperBound { x[i] *= mask[i]; i += 1 }
    }
}

/// SplitMix64's finaliser over (seed, counter): statistically good, stateless random bits.
@inline(__always)
public func counterHash(_ seed: UInt64, _ counter: UInt64) -> UInt64 {
    var z = seed &+ (counter &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
