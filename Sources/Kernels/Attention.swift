import COpenBLAS

/// Multi-head self-attention with a key-padding mask, as BERT's `BertSelfAttention` (eval mode):
/// for each batch item b and head h,
///   probs = softmax(Q·Kᵀ / √hs) over keys j < lengths[b]  (padded keys get probability 0),
///   out   = probs · V.
/// Query rows t ≥ lengths[b] are padding: their probabilities and outputs are set to zero and never
/// computed, since nothing downstream reads them (pooling and the classifier use real tokens only).
/// With a dropout mask (training), out = (probs ⊙ mask) · V; `probs` keeps the undropped values
/// the backward pass needs, and `scratch` holds one (T, T) block per worker.
public func attentionForward(
    out: UnsafeMutablePointer<Float>,       // (B, T, C)
    probs: UnsafeMutablePointer<Float>,     // (B, NH, T, T)
    qkv: UnsafePointer<Float>,              // (B, T, 3C): query | key | value, heads contiguous in each
    lengths: UnsafePointer<Int32>,          // (B) real tokens per item, right-padded
    dropoutMask: UnsafePointer<UInt8>? = nil, // (B, NH, T, T) 1 keep / 0 drop, or nil
    dropoutScale: Float = 1,                // 1/(1 − p) for kept probabilities
    scratch: UnsafeMutablePointer<Float>? = nil, // (Parallel.threadCount, T, T), needed with a mask
    batch B: Int, tokens T: Int, channels C: Int, heads NH: Int
) {
    let hs = C / NH
    let scale = 1 / Float(hs).squareRoot()
    let C3 = 3 * C
    precondition(dropoutMask == nil || scratch != nil, "attention dropout needs scratch memory")
    Parallel.forEachWorkerRange(B * NH) { worker, range in
        for bh in range {
            let b = bh / NH, h = bh % NH
            let L = Int(lengths[b])
            let p = probs + bh * T * T
            let q = qkv + b * T * C3 + h * hs
            let k = q + C
            let v = q + 2 * C
            let o = out + b * T * C + h * hs
            // Only the padded parts are zeroed: the L×L block is overwritten below.
            if L < T {
                for t in 0..<L { (p + t * T + L).update(repeating: 0, count: T - L) }
                (p + L * T).update(repeating: 0, count: (T - L) * T)
                for t in L..<T { (o + t * C).update(repeating: 0, count: hs) }
            }
            guard L > 0 else { continue }
            // scores[t, j] = scale · q_t · k_j, rows of length T (only the first L columns used)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(L), Int32(hs),
                        scale, q, Int32(C3), k, Int32(C3), 0, p, Int32(T))
            for t in 0..<L { softmaxInPlace(p + t * T, count: L) }
            var used = UnsafePointer(p)
            if let dropoutMask, let scratch {
                let dropped = scratch + worker * T * T
                applyMask(dropped, p, dropoutMask + bh * T * T, scale: dropoutScale, rows: L, columns: L, stride: T)
                used = UnsafePointer(dropped)
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(L), Int32(hs), Int32(L),
                        1, used, Int32(T), v, Int32(C3), 0, o, Int32(C))
        }
    }
}

/// out[r, c] = p[r, c] · mask[r, c] · scale over an L×L block of (T, T) matrices.
@inline(__always)
private func applyMask(_ out: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ mask: UnsafePointer<UInt8>,
                       scale: Float, rows: Int, columns: Int, stride: Int) {
    for r in 0..<rows {
        for c in 0..<columns { out[r * stride + c] = p[r * stride + c] * (Float(mask[r * stride + c]) * scale) }
    }
}

/// Backward of `attentionForward`; dqkv accumulates.
///   dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = scale·dS·K,  dK = scale·dSᵀ·Q
/// With dropout, P in dV = Pᵀ·dO is the dropped (P ⊙ M) and dP is masked by M before the softmax backward.
/// `scratch` holds two (T, T) blocks per worker: (threads, 2, T, T).
public func attentionBackward(
    dqkv: UnsafeMutablePointer<Float>,      // (B, T, 3C)
    dout: UnsafePointer<Float>,             // (B, T, C)
    qkv: UnsafePointer<Float>,              // (B, T, 3C)
    probs: UnsafePointer<Float>,            // (B, NH, T, T)
    lengths: UnsafePointer<Int32>,          // (B)
    dropoutMask: UnsafePointer<UInt8>? = nil, // (B, NH, T, T) 1 keep / 0 drop, or nil
    dropoutScale: Float = 1,
    scratch: UnsafeMutablePointer<Float>,   // (Parallel.threadCount, 2, T, T)
    batch B: Int, tokens T: Int, channels C: Int, heads NH: Int
) {
    let hs = C / NH
    let scale = 1 / Float(hs).squareRoot()
    let C3 = 3 * C
    // Heads of one batch item write disjoint columns of dqkv, so splitting over (b, h) is race-free.
    Parallel.forEachWorkerRange(B * NH) { worker, range in
        let dp = scratch + worker * 2 * T * T
        let dropped = dp + T * T
        for bh in range {
            let b = bh / NH, h = bh % NH
            let L = Int(lengths[b])
            guard L > 0 else { continue }
            let p = probs + bh * T * T
            let q = qkv + b * T * C3 + h * hs, k = q + C, v = q + 2 * C
            let dq = dqkv + b * T * C3 + h * hs, dk = dq + C, dv = dq + 2 * C
            let dO = dout + b * T * C + h * hs
            let mask = dropoutMask.map { $0 + bh * T * T }
            var used = p
            if let mask {
                applyMask(dropped, p, mask, scale: dropoutScale, rows: L, columns: L, stride: T)
                used = UnsafePointer(dropped)
            }
            // dV[L, hs] += (P ⊙ M)ᵀ[L, L] · dO[L, hs]
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(L), Int32(hs), Int32(L),
                        1, used, Int32(T), dO, Int32(C), 1, dv, Int32(C3))
            // dP[L, L] = (dO[L, hs] · V[L, hs]ᵀ) ⊙ M
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(L), Int32(L), Int32(hs),
                        1, dO, Int32(C), v, Int32(C3), 0, dp, Int32(T))
            if let mask { applyMask(dp, dp, mask, scale: dropoutScale, rows: L, columns: L, stride: T) }
            // softmax backward in place: dS = P ⊙ (dP − Σ_j dP·P)
            for t in 0..<L {
                let prow = p + t * T, drow = dp + t * T
                var dot: Float = 0
                for j in 0..<L { dot += prow[j] * drow[j] }
                for j in 0..<L { drow[j] = prow[j] * (drow[j] - dot) }
            }
            // dQ[L, hs] += scale · dS[L, L] · K[L, hs];  dK[L, hs] += scale · dSᵀ · Q
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(L), Int32(hs), Int32(L),
                        scale, dp, Int32(T), k, Int32(C3), 1, dq, Int32(C3))
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(L), Int32(hs), Int32(L),
                        scale, dp, Int32(T), q, Int32(C3), 1, dk, Int32(C3))
        }
    }
}

/// Numerically stable softmax of `count` values in place.
@inline(__always)
public func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    let vectorEnd = n - n % 16
    // A scalar maximum: the generic SIMD `pointwiseMax` on half-vectors is not inlined here.
    var maxValue = -Float.infinity
    for i in 0..<n { maxValue = max(maxValue, x[i]) }
    var sumVector = FloatVector()
    for i in stride(from: 0, to: vectorEnd, by: 16) {
        let e = FastMath.exp(x.loadVector(at: i) - maxValue)
        x.storeVector(e, at: i)
        sumVector += e
    }
    var sum = horizontalSum(sumVector)
    var i = vectorEnd
    while i < n {
        var lane = FloatVector(repeating: -Float.infinity)
        lane[0] = x[i] - maxValue
        let e = FastMath.exp(lane)[0]
        x[i] = e
        sum += e
        i += 1
    }
    let inv = 1 / sum
    for j in stride(from: 0, to: vectorEnd, by: 16) { x.storeVector(x.loadVector(at: j) * inv, at: j) }
    for j in vectorEnd..<n { x[j] *= inv }
}
