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
