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

/// Backward of `causalAttentionForward`; dquery, dkey and dvalue accumulate. Per sequence b and
/// query head h of KV group g:
///   dV_g += Pᵀ·dO_h,  dP = dO_h·V_gᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),
///   dQ_h += scale·dS·K_g,  dK_g += scale·dSᵀ·Q_h
/// (masked entries of P are 0, so they pass no gradient). The query heads of one group write the
/// same dK_g and dV_g, so the work splits over (sequence, group) and each group's heads run in turn.
public func causalAttentionBackward(
    dquery: UnsafeMutablePointer<Float>,    // (B, T, H·D)
    dkey: UnsafeMutablePointer<Float>,      // (B, keyRows, KV·D)
    dvalue: UnsafeMutablePointer<Float>,    // (B, keyRows, KV·D)
    dout: UnsafePointer<Float>,             // (B, T, H·D)
    probs: UnsafePointer<Float>,            // (B, H, T, past+T), from the forward
    query: UnsafePointer<Float>,            // (B, T, H·D), rotated
    key: UnsafePointer<Float>,              // (B, keyRows, KV·D), rotated
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
    Parallel.forEachRange(B * KV) { range in
        let dp = UnsafeMutablePointer<Float>.allocate(capacity: T * L)  // (T, L) per worker
        defer { dp.deallocate() }
        for bg in range {
            let b = bg / KV, g = bg % KV
            let k = key + b * keyStride * kvStride + g * D, v = value + b * keyStride * kvStride + g * D
            let dk = dkey + b * keyStride * kvStride + g * D, dv = dvalue + b * keyStride * kvStride + g * D
            for h in (g * group)..<((g + 1) * group) {
                let p = probs + (b * H + h) * T * L
                let q = query + b * T * qStride + h * D, dq = dquery + b * T * qStride + h * D
                let dO = dout + b * T * qStride + h * D
                // dV_g (L, D) += Pᵀ (L, T) · dO_h (T, D)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(L), Int32(D), Int32(T),
                            1, p, Int32(L), dO, Int32(qStride), 1, dv, Int32(kvStride))
                // dP (T, L) = dO_h · V_gᵀ
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(T), Int32(L), Int32(D),
                            1, dO, Int32(qStride), v, Int32(kvStride), 0, dp, Int32(L))
                // Softmax backward in place over each row's visible keys; masked entries become 0.
                for t in 0..<T {
                    let prow = p + t * L, drow = dp + t * L
                    let last = past + t
                    var dot: Float = 0
                    for s in 0...last { dot += prow[s] * drow[s] }
                    for s in 0...last { drow[s] = prow[s] * (drow[s] - dot) }
                    for s in (last + 1)..<L { drow[s] = 0 }
                }
                // dQ_h (T, D) += scale · dS (T, L) · K_g (L, D);  dK_g (L, D) += scale · dSᵀ · Q_h
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(T), Int32(D), Int32(L),
                            scale, dp, Int32(L), k, Int32(kvStride), 1, dq, Int32(qStride))
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(L), Int32(D), Int32(T),
                            scale, dp, Int32(L), q, Int32(qStride), 1, dk, Int32(kvStride))
            }
        }
    }
}
