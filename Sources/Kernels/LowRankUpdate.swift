import COpenBLAS

/// LoRA's low-rank update of one linear layer, y += scale · (x·Aᵀ)·Bᵀ with A (r, in) and B (out, r),
/// forward and backward side by side — the one implementation both backbones' LoRA runs (the
/// encoder's fused query/key/value output is why the output has a row stride). Dropout on x is the
/// caller's: it passes the dropped input, and for the backward the mask.
public enum LowRankUpdate {
    /// projected (rows, r) = x (rows, in) · Aᵀ: the update's input to B, which the backward needs
    /// again (kept from the forward or recomputed, as the caller trades memory).
    public static func project(projected: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, a: UnsafePointer<Float>,
                               rows: Int, inFeatures: Int, rank: Int) {
        matmulForward(out: projected, inp: input, weight: a, bias: nil, rows: rows, inFeatures: inFeatures, outFeatures: rank)
    }

    /// out (rows, outFeatures; row stride outStride) += scale · x·Aᵀ·Bᵀ, leaving x·Aᵀ in `projected` (rows, r).
    public static func forward(out: UnsafeMutablePointer<Float>, outStride: Int, projected: UnsafeMutablePointer<Float>,
                               input: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                               rows: Int, inFeatures: Int, rank: Int, outFeatures: Int, scale: Float) {
        project(projected: projected, input: input, a: a, rows: rows, inFeatures: inFeatures, rank: rank)
        addScaledProduct(output: out, outputStride: outStride, left: projected, rows: rows, inner: rank, right: b,
                         columns: outFeatures, scale: scale)
    }

    /// Backward of `forward`, given its `projected` (x·Aᵀ) and `input` (the dropped x when dropout
    /// was on): dB (out, r) += scale·dOutᵀ·projected; dProjected (rows, r) = scale·dOut·B (scratch);
    /// dA (r, in) += dProjectedᵀ·x; dInput (rows, in) += dProjected·A, through `dropoutMask` (and
    /// its 1/(1 − p) scale) when the forward dropped elements of x.
    public static func backward(dOut: UnsafePointer<Float>, outStride: Int, projected: UnsafePointer<Float>,
                                dProjected: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                                a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                dA: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>,
                                dInput: UnsafeMutablePointer<Float>, dropoutMask: (mask: UnsafePointer<UInt8>, scale: Float)?,
                                rows: Int, inFeatures: Int, rank: Int, outFeatures: Int, scale: Float) {
        stridedGEMM(transposeLeft: true, m: outFeatures, n: rank, k: rows, alpha: scale,
                    left: dOut, leftStride: outStride, right: projected, rightStride: rank, beta: 1, out: dB, outStride: rank)
        stridedGEMM(transposeLeft: false, m: rows, n: rank, k: outFeatures, alpha: scale,
                    left: dOut, leftStride: outStride, right: b, rightStride: rank, beta: 0, out: dProjected, outStride: rank)
        stridedGEMM(transposeLeft: true, m: rank, n: inFeatures, k: rows, alpha: 1,
                    left: dProjected, leftStride: rank, right: input, rightStride: inFeatures, beta: 1, out: dA, outStride: inFeatures)
        guard let (mask, maskScale) = dropoutMask else {
            stridedGEMM(transposeLeft: false, m: rows, n: inFeatures, k: rank, alpha: 1,
                        left: dProjected, leftStride: rank, right: a, rightStride: inFeatures, beta: 1, out: dInput, outStride: inFeatures)
            return
        }
        var contribution = [Float](repeating: 0, count: rows * inFeatures)
        contribution.withUnsafeMutableBufferPointer { c in
            stridedGEMM(transposeLeft: false, m: rows, n: inFeatures, k: rank, alpha: 1,
                        left: dProjected, leftStride: rank, right: a, rightStride: inFeatures, beta: 0, out: c.baseAddress!, outStride: inFeatures)
            applyDropoutMask(c.baseAddress!, mask, scale: maskScale, count: c.count)
            addInPlace(dInput, c.baseAddress!, count: c.count)
        }
    }
}

extension LowRankUpdate {
    /// weight (out, in) += scale · B (out, r) · A (r, in): the merged weight computes what the
    /// base plus the update does.
    public static func merge(into weight: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                             outFeatures: Int, inFeatures: Int, rank: Int, scale: Float) {
        stridedGEMM(transposeLeft: false, m: outFeatures, n: inFeatures, k: rank, alpha: scale,
                    left: b, leftStride: rank, right: a, rightStride: inFeatures, beta: 1, out: weight, outStride: inFeatures)
    }
}

/// out (m, n) = alpha · op(left) · right + beta · out, row-major with explicit strides, where
/// op(left) is left (m, k) or leftᵀ with left stored (k, m). The small products of adapters
/// (rank-r factors, column blocks of the fused QKV output) need the strides.
public func stridedGEMM(transposeLeft: Bool, m: Int, n: Int, k: Int, alpha: Float,
                        left: UnsafePointer<Float>, leftStride: Int,
                        right: UnsafePointer<Float>, rightStride: Int,
                        beta: Float, out: UnsafeMutablePointer<Float>, outStride: Int) {
    cblas_sgemm(CblasRowMajor, transposeLeft ? CblasTrans : CblasNoTrans, CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, left, Int32(leftStride), right, Int32(rightStride),
                beta, out, Int32(outStride))
}

/// output (rows, columns; row stride outputStride) += scale · left (rows, inner) · right (columns, inner)ᵀ,
/// split across workers by rows.
public func addScaledProduct(output: UnsafeMutablePointer<Float>, outputStride: Int, left: UnsafePointer<Float>, rows: Int,
                             inner: Int, right: UnsafePointer<Float>, columns: Int, scale: Float) {
    Parallel.forEachRange(rows, minimumChunk: 64) { range in
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(range.count), Int32(columns), Int32(inner),
                    scale, left + range.lowerBound * inner, Int32(inner), right, Int32(inner),
                    1, output + range.lowerBound * outputStride, Int32(outputStride))
    }
}
