import Foundation

/// The gated activation of Llama's MLP: out = SiLU(gate) ⊙ up, SiLU(z) = z·σ(z) = z / (1 + e^(−z)),
/// as `act_fn(gate_proj(x)) * up_proj(x)`.
public func swigluForward(
    out: UnsafeMutablePointer<Float>,       // (N)
    gate: UnsafePointer<Float>,             // (N)
    up: UnsafePointer<Float>,               // (N)
    count N: Int
) {
    Parallel.forEachRange(N, minimumChunk: 4096) { range in
        for i in range {
            let z = gate[i]
            out[i] = z / (1 + expf(-z)) * up[i]
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
        for i in range {
            let z = gate[i]
            let sigmoid = 1 / (1 + expf(-z))
            dgate[i] += dout[i] * up[i] * sigmoid * (1 + z * (1 - sigmoid))
            dup[i] += dout[i] * z * sigmoid
        }
    }
}
