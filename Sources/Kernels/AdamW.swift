#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One AdamW step (Loshchilov & Hutter, https://arxiv.org/abs/1711.05101) over a flat tensor, with
/// the exact operation order of `torch.optim.AdamW` (single-tensor path), so ten steps match
/// PyTorch's losses:
///   θ ← θ·(1 − lr·λ)                      decoupled weight decay
///   m ← m + (1 − β₁)(g − m);  v ← β₂v + (1 − β₂)g²
///   θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// `step` counts from 1.
public func adamwUpdate(
    parameters: UnsafeMutablePointer<Float>,    // (N)
    gradients: UnsafePointer<Float>,            // (N)
    firstMoment m: UnsafeMutablePointer<Float>, // (N)
    secondMoment v: UnsafeMutablePointer<Float>,// (N)
    count N: Int, learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float,
    weightDecay: Float, step: Int
) {
    let biasCorrection1 = 1 - Float(pow(Double(beta1), Double(step)))
    let biasCorrection2 = 1 - Float(pow(Double(beta2), Double(step)))
    let stepSize = lr / biasCorrection1
    let biasCorrection2Sqrt = biasCorrection2.squareRoot()
    let decay = 1 - lr * weightDecay
    // 16 lanes at a time (the scalar loop's square roots and divisions were a twentieth of a full
    // fine-tuning step), then the tail; both in the same order of operations, so the lanes and the
    // tail round alike.
    Parallel.forEachRange(N, minimumChunk: 65536) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let g = gradients.loadVector(at: i)
            var mi = m.loadVector(at: i), vi = v.loadVector(at: i)
            var p = parameters.loadVector(at: i) * decay
            mi += (g - mi) * (1 - beta1)
            vi = vi * beta2 + (1 - beta2) * g * g
            let denominator = vi.squareRoot() / biasCorrection2Sqrt + epsilon
            p -= stepSize * (mi / denominator)
            parameters.storeVector(p, at: i); m.storeVector(mi, at: i); v.storeVector(vi, at: i)
            i += 16
        }
        while i < range.upperBound {
            let g = gradients[i]
            parameters[i] *= decay
            m[i] += (g - m[i]) * (1 - beta1)
            v[i] = v[i] * beta2 + (1 - beta2) * g * g
            let denominator = v[i].squareRoot() / biasCorrection2Sqrt + epsilon
            parameters[i] -= stepSize * (m[i] / denominator)
            i += 1
        }
    }
}

/// Sum of squares of a gradient buffer, in Float64 (for global-norm clipping and NaN detection).
public func sumOfSquares(_ x: UnsafePointer<Float>, count N: Int) -> Double {
    var total = 0.0
    var i = 0
    while i + 16 <= N {
        let v = x.loadVector(at: i)
        total += Double(horizontalSum(v * v))
        i += 16
    }
    while i < N { total += Double(x[i] * x[i]); i += 1 }
    return total
}

/// x[i] *= factor, the workers taking a share each (element-wise: the same result for any split).
public func scaleInPlace(_ x: UnsafeMutablePointer<Float>, count N: Int, by factor: Float) {
    Parallel.forEachRange(N, minimumChunk: 1 << 16) { range in
        for i in range { x[i] *= factor }
    }
}

/// `sumOfSquares` over fixed blocks of 65,536 values summed in parallel, the blocks' sums then
/// added in order: the same value whatever the worker count (not bit-equal to `sumOfSquares`).
public func parallelSumOfSquares(_ x: UnsafePointer<Float>, count N: Int) -> Double {
    let block = 1 << 16, blocks = (N + block - 1) / block
    guard blocks > 1 else { return sumOfSquares(x, count: N) }
    var sums = [Double](repeating: 0, count: blocks)
    sums.withUnsafeMutableBufferPointer { sums in
        Parallel.forEachRange(blocks) { range in
            for b in range { sums[b] = sumOfSquares(x + b * block, count: min(block, N - b * block)) }
        }
    }
    return sums.reduce(0, +)
}
