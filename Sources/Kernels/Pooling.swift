/// Mean pooling over each item's real tokens, as sentence-transformers' `Pooling(mode='mean')`:
///   out[b] = (1/L_b) Σ_{t ∈ [start_b, start_b + L_b)} inp[b, t]
/// `starts` lets prompt tuning skip its virtual tokens at the front.
public func meanPoolForward(
    out: UnsafeMutablePointer<Float>,       // (B, C)
    inp: UnsafePointer<Float>,              // (B, T, C)
    starts: UnsafePointer<Int32>,           // (B) first pooled position
    lengths: UnsafePointer<Int32>,          // (B) number of pooled positions
    batch B: Int, tokens T: Int, channels C: Int
) {
    for b in 0..<B {
        let o = out + b * C
        o.update(repeating: 0, count: C)
        let start = Int(starts[b]), count = Int(lengths[b])
        for t in start..<(start + count) { addInPlace(o, inp + (b * T + t) * C, count: C) }
        // sentence-transformers clamps the token count at 1e-9 before dividing.
        let inv = 1 / max(Float(count), 1e-9)
        for c in 0..<C { o[c] *= inv }
    }
}

/// Backward of `meanPoolForward`: each pooled position receives dout[b] / L_b.
public func meanPoolBackward(
    dinp: UnsafeMutablePointer<Float>,      // (B, T, C)
    dout: UnsafePointer<Float>,             // (B, C)
    starts: UnsafePointer<Int32>,           // (B)
    lengths: UnsafePointer<Int32>,          // (B)
    batch B: Int, tokens T: Int, channels C: Int
) {
    for b in 0..<B {
        let start = Int(starts[b]), count = Int(lengths[b])
        let inv = 1 / max(Float(count), 1e-9)
        let g = dout + b * C
        for t in start..<(start + count) {
            let d = dinp + (b * T + t) * C
            for c in 0..<C { d[c] += g[c] * inv }
        }
    }
}

/// Row-wise L2 normalisation, as `torch.nn.functional.normalize(p=2, eps=1e-12)`.
public func l2NormalizeRows(_ x: UnsafeMutablePointer<Float>, rows N: Int, channels C: Int) {
    for n in 0..<N {
        let row = x + n * C
        var sum: Float = 0
        for c in 0..<C { sum += row[c] * row[c] }
        let inv = 1 / max(sum.squareRoot(), 1e-12)
        for c in 0..<C { row[c] *= inv }
    }
}
