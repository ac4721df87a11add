/// RMSNorm over the last dimension, as Hugging Face's `LlamaRMSNorm`:
///   out = weight ⊙ (x · 1/√(mean(x²) + eps))
/// in fp32, eps inside the root, the normalised row multiplied by the weight last (the same order
/// of operations, so the same roundings). Saves `rstd` (the reciprocal root) per row for the
/// backward pass.
public func rmsNormForward(
    out: UnsafeMutablePointer<Float>,       // (N, C)
    rstd: UnsafeMutablePointer<Float>,      // (N)
    inp: UnsafePointer<Float>,              // (N, C)
    weight: UnsafePointer<Float>,           // (C)
    rows N: Int, channels C: Int, eps: Float
) {
    Parallel.forEachRange(N, minimumChunk: 32) { range in
        let vectorEnd = C - C % 16
        for n in range {
            let x = inp + n * C
            let y = out + n * C
            var squaresVector = FloatVector()
            for c in stride(from: 0, to: vectorEnd, by: 16) {
                let v = x.loadVector(at: c)
                squaresVector = squaresVector.addingProduct(v, v)
            }
            var squares = horizontalSum(squaresVector)
            for c in vectorEnd..<C { squares += x[c] * x[c] }
            let s = 1 / (squares / Float(C) + eps).squareRoot()
            for c in stride(from: 0, to: vectorEnd, by: 16) {
                y.storeVector(x.loadVector(at: c) * s * weight.loadVector(at: c), at: c)
            }
            for c in vectorEnd..<C { y[c] = x[c] * s * weight[c] }
            rstd[n] = s
        }
    }
}

/// Backward of `rmsNormForward`; gradients accumulate. With x̂ = x·rstd and dnorm = dout ⊙ weight:
///   dinp += rstd · (dnorm − x̂ · mean(dnorm ⊙ x̂)),   dweight += Σ_rows dout ⊙ x̂
/// (the mean term is the gradient through rstd, which every channel of the row shares).
public func rmsNormBackward(
    dinp: UnsafeMutablePointer<Float>,      // (N, C)
    dweight: UnsafeMutablePointer<Float>?,  // (C)
    dout: UnsafePointer<Float>,             // (N, C)
    inp: UnsafePointer<Float>,              // (N, C)
    weight: UnsafePointer<Float>,           // (C)
    rstd: UnsafePointer<Float>,             // (N)
    rows N: Int, channels C: Int
) {
    Parallel.forEachRange(N, minimumChunk: 32) { range in
        for n in range {
            let x = inp + n * C, dy = dout + n * C, dx = dinp + n * C
            let s = rstd[n]
            var dnormNormMean: Float = 0
            for c in 0..<C { dnormNormMean += weight[c] * dy[c] * x[c] * s }
            dnormNormMean /= Float(C)
            for c in 0..<C { dx[c] += (weight[c] * dy[c] - x[c] * s * dnormNormMean) * s }
        }
    }
    // The weight's gradient reduces over rows: split by channel so writes are disjoint.
    guard let dweight else { return }
    Parallel.forEachRange(C, minimumChunk: 64) { range in
        for n in 0..<N {
            let x = inp + n * C, dy = dout + n * C, s = rstd[n]
            for c in range { dweight[c] += x[c] * s * dy[c] }
        }
    }
}
