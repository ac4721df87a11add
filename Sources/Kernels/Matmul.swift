import COpenBLAS

/// Linear layer: out[N, OC] = inp[N, IC] · weight[OC, IC]ᵀ + bias[OC].
///
/// Weights keep the PyTorch/safetensors layout `[out, in]`, so sgemm reads them transposed.
/// Rows are split across `Parallel.threadCount` workers, each calling single-threaded sgemm.
public func matmulForward(
    out: UnsafeMutablePointer<Float>,       // (N, OC)
    inp: UnsafePointer<Float>,              // (N, IC)
    weight: UnsafePointer<Float>,           // (OC, IC)
    bias: UnsafePointer<Float>?,            // (OC) or nil
    rows N: Int, inFeatures IC: Int, outFeatures OC: Int,
    accumulate: Bool = false                // true: out += inp · weightᵀ (+ bias)
) {
    Parallel.forEachRange(N, minimumChunk: 16) { range in
        let rowOut = out + range.lowerBound * OC
        if let bias, !accumulate {
            for r in 0..<range.count { (rowOut + r * OC).update(from: bias, count: OC) }
        } else if let bias {
            for r in 0..<range.count { addInPlace(rowOut + r * OC, bias, count: OC) }
        }
        let beta: Float = (bias != nil || accumulate) ? 1 : 0
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                    Int32(range.count), Int32(OC), Int32(IC),
                    1, inp + range.lowerBound * IC, Int32(IC),
                    weight, Int32(IC),
                    beta, rowOut, Int32(OC))
    }
}

/// Backward of `matmulForward`; gradients accumulate (+=), as everywhere in Kernels.
///   dinp[N, IC]    += dout[N, OC] · weight[OC, IC]
///   dweight[OC, IC] += dout[N, OC]ᵀ · inp[N, IC]
///   dbias[OC]      += Σ_n dout[n, :]
/// Pass nil for a gradient that is not needed (a frozen weight, the first layer's input).
public func matmulBackward(
    dinp: UnsafeMutablePointer<Float>?,     // (N, IC)
    dweight: UnsafeMutablePointer<Float>?,  // (OC, IC)
    dbias: UnsafeMutablePointer<Float>?,    // (OC)
    dout: UnsafePointer<Float>,             // (N, OC)
    inp: UnsafePointer<Float>,              // (N, IC)
    weight: UnsafePointer<Float>,           // (OC, IC)
    rows N: Int, inFeatures IC: Int, outFeatures OC: Int
) {
    if let dinp {
        Parallel.forEachRange(N, minimumChunk: 16) { range in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        Int32(range.count), Int32(IC), Int32(OC),
                        1, dout + range.lowerBound * OC, Int32(OC),
                        weight, Int32(IC),
                        1, dinp + range.lowerBound * IC, Int32(IC))
        }
    }
    if let dweight {
        // Split over output rows of dweight so workers write disjoint memory.
        Parallel.forEachRange(OC, minimumChunk: 16) { range in
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                        Int32(range.count), Int32(IC), Int32(N),
                        1, dout + range.lowerBound, Int32(OC),
                        inp, Int32(IC),
                        1, dweight + range.lowerBound * IC, Int32(IC))
        }
    }
    if let dbias {
        Parallel.forEachRange(OC, minimumChunk: 64) { range in
            for n in 0..<N {
                let row = dout + n * OC
                for o in range { dbias[o] += row[o] }
            }
        }
    }
}

/// a[i] += b[i] for i in 0..<count.
@inline(__always)
public func addInPlace(_ a: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
        a.storeVector(a.loadVector(at: i) + b.loadVector(at: i), at: i)
        i += 16
    }
    while i < count { a[i] += b[i]; i += 1 }
}
