import COpenBLAS
import Kernels

/// out (m, n) = alpha · op(left) · right + beta · out, row-major with explicit strides, where
/// op(left) is left (m, k) or leftᵀ with left stored (k, m). The small products of adapters
/// (rank-r factors, column blocks of the fused QKV output) need the strides.
func stridedGEMM(transposeLeft: Bool, m: Int, n: Int, k: Int, alpha: Float,
                 left: UnsafePointer<Float>, leftStride: Int,
                 right: UnsafePointer<Float>, rightStride: Int,
                 beta: Float, out: UnsafeMutablePointer<Float>, outStride: Int) {
    cblas_sgemm(CblasRowMajor, transposeLeft ? CblasTrans : CblasNoTrans, CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, left, Int32(leftStride), right, Int32(rightStride),
                beta, out, Int32(outStride))
}

/// output (rows, columns; row stride outputStride) += scale · left (rows, inner) · right (columns, inner)ᵀ,
/// split across workers by rows.
func addScaledProduct(output: UnsafeMutablePointer<Float>, outputStride: Int, left: UnsafePointer<Float>, rows: Int,
                      inner: Int, right: UnsafePointer<Float>, columns: Int, scale: Float) {
    Parallel.forEachRange(rows, minimumChunk: 64) { range in
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(range.count), Int32(columns), Int32(inner),
                    scale, left + range.lowerBound * inner, Int32(inner), right, Int32(inner),
                    1, output + range.lowerBound * outputStride, Int32(outputStride))
    }
}
