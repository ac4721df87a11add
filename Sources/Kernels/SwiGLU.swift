import Foundation

/// The gated activation of Llama's MLP: out = SiLU(gate) ⊙ up, SiLU(z) = z·σ(z) = z / (1 + e^(−z)),
/// as `act_fn(gate_proj(x)) * up_proj(x)`. e^(−z) is `FastMath.exp` 16 lanes at a time (libm's
/// scalar `expf` cost more than a tenth of a training step's element-wise time).
public func swigluForward(
    out: UnsafeMutablePointer<Float>,       // (N)
    gate: UnsafePointer<Float>,             // (N)
    up: UnsafePointer<Float>,               // (N)
    count N: Int
) {
    Parallel.forEachRange(N, minimumChunk: 4096) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let z = gate.loadVector(at: i)
            out.storeVector(z / (1 + FastMath.exp(-z)) * up.loadVector(at: i), at: i)
            i += 16
        }
        while i < range.upperBound {
            let z = gate[i]
            out[i] = z / (1 + expf(-z)) * up[i]
            i += 1
        }
    }
}

/// Backward of `swigluForward`; gradients accumulate. With σ = σ(gate):
///   dgate += dout · up · σ·(1 + gate·(1 − σ))   (the derivative of SiLU),
///   dup   += dout · gate·σ.
public func swigluBackward(
    dgate: UnsafeMutablePointer<Float>,     // (N)
    dup: UnsafeMutablePointer<Float>,       // (N)
    dout: UnsafePointer<Float>,             // (N)
    gate: UnsafePointer<Float>,             // (N)
    up: UnsafePointer<Float>,               // (N)
    count N: Int
) {
    Parallel.forEachRange(N, minimumChunk: 4096) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let z = gate.loadVector(at: i), g = dout.loadVector(at: i)
            let sigmoid = 1 / (1 + FastMath.exp(-z))
            dgate.storeVector(dgate.loadVector(at: i) + g * up.loadVector(at: i) * sigmoid * (1 + z * (1 - sigmoid)), at: i)
            dup.storeVector(dup.loadVector(at: i) + g * z * sigmoid, at: i)
            i += 16
        }
        while i < range.upperBound {
            let z = gate[i]
            let sigmoid = 1 / (1 + expf(-z))
            dgate[i] += dout[i] * up[i] * sigmoid * (1 + z * (1 - sigmoid))
            dup[i] += dout[i] * z * sigmoid
            i += 1
        }
    }
}
