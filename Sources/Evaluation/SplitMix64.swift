import Foundation

/// Sebastiano Vigna's SplitMix64 generator: the seeded source of every random draw in this module.
///
/// Each call adds the golden-ratio increment `0x9E3779B97F4A7C15` to a 64-bit state and returns
/// the state mixed by `z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB;
/// z ^= z >> 31` (all arithmetic modulo 2^64). It is defined on integers only, so the same seed
/// gives the same sequence on every platform and Swift version (which `RandomNumberGenerator`
/// helpers such as `Int.random(in:using:)` do not promise). Seed 1234567 yields
/// 6457827717110365317, 3203168211198807973, 9817491932198370423, … as in Vigna's `splitmix64.c`.
public struct SplitMix64: Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 uniformly distributed bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal draw by Box–Muller from two outputs (53-bit uniforms, the first in (0, 1)
    /// so its logarithm is finite); the same on every platform, as the integer stream is.
    public mutating func nextGaussian() -> Double {
        let u1 = (Double(next() >> 11) + 1) / 9_007_199_254_740_993
        let u2 = Double(next() >> 11) / 9_007_199_254_740_992
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// A uniform integer in `0..<bound` by Lemire's multiply-shift method: the high 64 bits of
    /// `next() * bound`, drawing again while the low 64 bits are below `2^64 mod bound` (which
    /// removes the bias). Consumes one or, rarely, more outputs of `next()`.
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        let threshold = (0 &- bound) % bound  // 2^64 mod bound
        while true {
            let product = next().multipliedFullWidth(by: bound)
            if product.low >= threshold {
                return product.high
            }
        }
    }
}
