/// LayerNorm over the last dimension, as `torch.nn.LayerNorm` (biased variance, eps inside the sqrt).
/// Saves `mean` and `rstd` (1/σ) per row for the backward pass.
public func layerNormForward(
    out: UnsafeMutablePointer<Float>,       // (N, C)
    mean: UnsafeMutablePointer<Float>,      // (N)
    rstd: UnsafeMutablePointer<Float>,      // (N)
    inp: UnsafePointer<Float>,              // (N, C)
    weight: UnsafePointer<Float>,           // (C)
    bias: UnsafePointer<Float>,             // (C)
    rows N: Int, channels C: Int, eps: Float
) {
    Parallel.forEachRange(N, minimumChunk: 32) { range in
        let vectorEnd = C - C % 16
        for n in range {
            let x = inp + n * C
            let y = out + n * C
            var sumVector = FloatVector()
            for c in stride(from: 0, to: vectorEnd, by: 16) { sumVector += x.loadVector(at: c) }
            var sum = horizontalSum(sumVector)
            for c in vectorEnd..<C { sum += x[c] }
            let m = sum / Float(C)
            var squaresVector = FloatVector()
            for c in stride(from: 0, to: vectorEnd, by: 16) {
                let d = x.loadVector(at: c) - m
                squaresVector = squaresVector.addingProduct(d, d)
            }
            var squares = horizontalSum(squaresVector)
            for c in vectorEnd..<C { let d = x[c] - m; squares += d * d }
            let s = 1 / (squares / Float(C) + eps).squareRoot()
            for c in stride(from: 0, to: vectorEnd, by: 16) {
                let normalized = (x.loadVector(at: c) - m) * s
                y.storeVector(normalized * weight.loadVector(at: c) + bias.loadVector(at: c), at: c)
            }
            for c in vectorEnd..<C { y[c] = (x[c] - m) * s * weight[c] + bias[c] }
            mean[n] = m
            rstd[n] = s
        }
    }
}

/// Backward of `layerNormForward` (llm.c's formulation); gradients accumulate.
///   dinp = rstd · (dnorm − mean(dnorm) − x̂ · mean(dnorm · x̂)),  dnorm = dout · weight
public func layerNormBackward(
    dinp: UnsafeMutablePointer<Float>,      // (N, C)
    dweight: UnsafeMutablePointer<Float>?,  // (C)
    dbias: UnsafeMutablePointer<Float>?,    // (C)
    dout: UnsafePointer<Float>,             // (N, C)
    inp: UnsafePointer<Float>,              // (N, C)
    weight: UnsafePointer<Float>,           // (C)
    mean: UnsafePointer<Float>,             // (N)
    rstd: UnsafePointer<Float>,             // (N)
    rows N: Int, channels C: Int
) {
    Parallel.forEachRange(N, minimumChunk: 32) { range in
        for n in range {
            let x = inp + n * C, dy = dout + n * C, dx = dinp + n * C
            let m = mean[n], s = rstd[n]
            var dnormMean: Float = 0, dnormNormMean: Float = 0
            for c in 0..<C {
                let xhat = (x[c] - m) * s
                let dnorm = weight[c] * dy[c]
                dnormMean += dnorm
                dnormNormMean += dnorm * xhat
            }
            dnormMean /= Float(C)
            dnormNormMean /= Float(C)
            for c in 0..<C {
                let xhat = (x[c] - m) * s
                let dnorm = weight[c] * dy[c]
                dx[c] += (dnorm - dnormMean - xhat * dnormNormMean) * s
            }
        }
    }
    // Parameter gradients reduce over rows: one pass, split by channel so writes are disjoint.
    guard dweight != nil || dbias != nil else { return }
    Parallel.forEachRange(C, minimumChunk: 64) { range in
        for n in 0..<N {
            let x = inp + n * C, dy = dout + n * C
            let m = mean[n], s = rstd[n]
            for c in range {
                dweight?[c] += (x[c] - m) * s * dy[c]
                dbias?[c] += dy[c]
            }
        }
    }
}
