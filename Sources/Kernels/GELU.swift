#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Exact GELU, as `torch.nn.functional.gelu` with approximate='none': x · Φ(x) = ½x(1 + erf(x/√2)).
public func geluForward(
    out: UnsafeMutablePointer<Float>,       // (N)
    inp: UnsafePointer<Float>,              // (N)
    count N: Int
) {
    let invSqrt2: Float = 0.707_106_781_186_547_5
    Parallel.forEachRange(N, minimumChunk: 4096) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let x = inp.loadVector(at: i)
            let y = 0.5 * x * (1 + FastMath.erf(x * invSqrt2))
            out.storeVector(y, at: i)
            i += 16
        }
        while i < range.upperBound {
            let x = inp[i]
            out[i] = 0.5 * x * (1 + erff(x * invSqrt2))
            i += 1
        }
    }
}

/// Backward of `geluForward`: dinp += dout · (Φ(x) + x·φ(x)), φ the standard normal density.
/// `dinp` and `dout` may be the same buffer only through `geluBackwardInPlace`.
public func geluBackward(
    dinp: UnsafeMutablePointer<Float>,      // (N)
    inp: UnsafePointer<Float>,              // (N)
    dout: UnsafePointer<Float>,             // (N)
    count N: Int
) {
    geluBackward(dinp: dinp, inp: inp, dout: dout, count: N, accumulate: true)
}

/// Backward of `geluForward` overwriting the output gradient with the input gradient:
/// d ← d · (Φ(x) + x·φ(x)). Saves the encoder a (B, T, FF) buffer per step.
public func geluBackwardInPlace(
    _ d: UnsafeMutablePointer<Float>,       // (N) dout in, dinp out
    inp: UnsafePointer<Float>,              // (N)
    count N: Int
) {
    geluBackward(dinp: d, inp: inp, dout: d, count: N, accumulate: false)
}

private func geluBackward(
    dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, dout: UnsafePointer<Float>, count N: Int, accumulate: Bool
) {
    let invSqrt2: Float = 0.707_106_781_186_547_5
    let invSqrt2Pi: Float = 0.398_942_280_401_432_7
    Parallel.forEachRange(N, minimumChunk: 4096) { range in
        var i = range.lowerBound
        while i + 16 <= range.upperBound {
            let x = inp.loadVector(at: i)
            let cdf = 0.5 * (1 + FastMath.erf(x * invSqrt2))
            let pdf = invSqrt2Pi * FastMath.exp(-0.5 * x * x)
            let grad = cdf + x * pdf
            let contribution = dout.loadVector(at: i) * grad
            dinp.storeVector(accumulate ? dinp.loadVector(at: i) + contribution : contribution, at: i)
            i += 16
        }
        while i < range.upperBound {
            let x = inp[i]
            let grad = 0.5 * (1 + erff(x * invSqrt2)) + x * invSqrt2Pi * expf(-0.5 * x * x)
            dinp[i] = (accumulate ? dinp[i] : 0) + dout[i] * grad
            i += 1
        }
    }
}
