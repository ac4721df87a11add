import COpenBLAS
import Foundation

/// Causal grouped-query self-attention, as Hugging Face's `LlamaAttention` (eager, eval mode): for
/// each sequence b and query head h, with KV head g = h / (H / KV) shared by H / KV query heads,
///   probs = softmax(q_h · k_gᵀ / √D) over keys s ≤ past + t   (later keys masked),
///   out_h = probs · v_g.
/// The `T` query rows are the positions past..<past+T of their sequence; keys and values hold the
/// positions 0..<past+T (a decoding cache keeps the first `past`), `keyRows` rows apart per
/// sequence. Rows of a right-padded batch past a sequence's length attend only to earlier rows, so
/// padding never changes a real row; the caller ignores the padded rows' outputs.
public func causalAttentionForward(
    out: UnsafeMutablePointer<Float>,       // (B, T, H·D)
    probs: UnsafeMutablePointer<Float>,     // (B, H, T, past+T): saved for the backward; masked entries 0
    query: UnsafePointer<Float>,            // (B, T, H·D), rotated
    key: UnsafePointer<Float>,              // (B, keyRows, KV·D), rotated; rows 0..<past+T used
    value: UnsafePointer<Float>,            // (B, keyRows, KV·D)
    batch B: Int, tokens T: Int, past: Int = 0, keyRows: Int? = nil,
    heads H: Int, kvHeads KV: Int, headDim D: Int
) {
    precondition(KV > 0 && H % KV == 0, "query heads must be a multiple of key/value heads")
    let L = past + T
    let keyStride = keyRows ?? L
    precondition(keyStride >= L, "the key buffer holds \(keyStride) rows, fewer than \(L)")
    let group = H / KV
    let scale = 1 / Float(D).squareRoot()
    let qStride = H * D, kvStride = KV * D
    Parallel.forEachRange(B * H) { range in
        for bh in range {
            let b = bh / H, h = bh % H, g = h / group
            let p = probs + bh * T * L
            let q = query + b * T * qStride + h * D
            let k = key + b * keyStride * kvStride + g * D
            let v = value + b * keyStride * kvStride + g * D
            // scores (T, L) = scale · q kᵀ; row t uses keys 0...past+t.
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(T), Int32(L), Int32(D),
                        scale, q, Int32(qStride), k, Int32(kvStride), 0, p, Int32(L))
            for t in 0..<T {
                let row = p + t * L
                let last = past + t
                var maximum = -Float.infinity
                for s in 0...last { maximum = max(maximum, row[s]) }
                var sum: Float = 0
                for s in 0...last {
                    let e = expf(row[s] - maximum)
                    row[s] = e
                    sum += e
                }
                let inverse = 1 / sum
                for s in 0...last { row[s] *= inverse }
                for s in (last + 1)..<L { row[s] = 0 }
            }
            // out_h (T, D) = probs · v
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(T), Int32(D), Int32(L),
                        1, p, Int32(L), v, Int32(kvStride), 0, out + b * T * qStride + h * D, Int32(qStride))
        }
    }
}
