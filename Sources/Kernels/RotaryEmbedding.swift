import Foundation

/// Rotary position embedding in the half-split layout Hugging Face's Llama uses: within each head
/// of D values, dimension i is rotated with dimension i + D/2 by the angle p·θ^(−2i/D) of the
/// token's position p:
///   x'[i]       = x[i]·cos − x[i + D/2]·sin
///   x'[i + D/2] = x[i + D/2]·cos + x[i]·sin
/// (`x * cos + rotate_half(x) * sin`). The tables hold cos and sin for every position and i.
public struct RotaryTables: Sendable {
    public let headDim: Int
    public let positions: Int
    /// (positions, D/2) each.
    public let cos: [Float]
    public let sin: [Float]
    /// (D/2): 1/θ^(2i/D), as transformers computes it in fp32.
    public let inverseFrequencies: [Float]

    public init(headDim D: Int, positions: Int, theta: Float) {
        precondition(D % 2 == 0 && D > 0 && positions > 0, "RoPE needs an even head size and at least one position")
        headDim = D
        self.positions = positions
        let half = D / 2
        // transformers: 1.0 / (theta ** (arange(0, D, 2, float) / D)), each step in fp32.
        inverseFrequencies = (0..<half).map { i in
            let exponent = Float(2 * i) / Float(D)
            return 1 / Float(Foundation.pow(Double(theta), Double(exponent)))
        }
        var cos = [Float](repeating: 0, count: positions * half)
        var sin = [Float](repeating: 0, count: positions * half)
        for p in 0..<positions {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequencies[i]  // one fp32 product, as the reference's matmul
                cos[p * half + i] = Float(Foundation.cos(Double(angle)))
                sin[p * half + i] = Float(Foundation.sin(Double(angle)))
            }
        }
        self.cos = cos
        self.sin = sin
    }
}

/// Rotates, in place, the `heads` heads of each of `T` token rows of `x` (row stride `rowStride`
/// floats, heads contiguous at the row's start), token t at position past + t; for every sequence
/// of a right-padded batch the positions restart at `past`.
public func rotaryForward(
    _ x: UnsafeMutablePointer<Float>,       // (B, T, rowStride), heads·D ≤ rowStride
    tables: RotaryTables,
    batch B: Int, tokens T: Int, past: Int = 0, heads: Int, rowStride: Int
) {
    precondition(past + T <= tables.positions, "RoPE tables cover \(tables.positions) positions, not \(past + T)")
    let D = tables.headDim, half = D / 2
    Parallel.forEachRange(B * T, minimumChunk: 16) { range in
        tables.cos.withUnsafeBufferPointer { cosTable in
            tables.sin.withUnsafeBufferPointer { sinTable in
                for row in range {
                    let p = past + row % T
                    let c = cosTable.baseAddress! + p * half, s = sinTable.baseAddress! + p * half
                    for h in 0..<heads {
                        let v = x + row * rowStride + h * D
                        for i in 0..<half {
                            let a = v[i], b = v[i + half]
                            v[i] = a * c[i] - b * s[i]
                            v[i + half] = b * c[i] + a * s[i]
                        }
                    }
                }
            }
        }
    }
}

/// Backward of `rotaryForward`, in place on the gradient of the rotated values: a rotation's
/// inverse is its transpose (the same angle, the other way),
///   dx[i]       = dy[i]·cos + dy[i + D/2]·sin
///   dx[i + D/2] = dy[i + D/2]·cos − dy[i]·sin.
public func rotaryBackward(
    _ grad: UnsafeMutablePointer<Float>,    // (B, T, rowStride): d(rotated) in, d(unrotated) out
    tables: RotaryTables,
    batch B: Int, tokens T: Int, past: Int = 0, heads: Int, rowStride: Int
) {
    precondition(past + T <= tables.positions, "RoPE tables cover \(tables.positions) positions, not \(past + T)")
    let D = tables.headDim, half = D / 2
    Parallel.forEachRange(B * T, minimumChunk: 16) { range in
        tables.cos.withUnsafeBufferPointer { cosTable in
            tables.sin.withUnsafeBufferPointer { sinTable in
                for row in range {
                    let p = past + row % T
                    let c = cosTable.baseAddress! + p * half, s = sinTable.baseAddress! + p * half
                    for h in 0..<heads {
                        let g = grad + row * rowStride + h * D
                        for i in 0..<half {
                            let a = g[i], b = g[i + half]
                            g[i] = a * c[i] + b * s[i]
                            g[i + half] = b * c[i] - a * s[i]
                        }
                    }
                }
            }
        }
    }
}
