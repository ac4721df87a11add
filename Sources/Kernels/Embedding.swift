/// BERT input embeddings before their LayerNorm:
///   out[b, t] = wordEmbeddings[ids[b, t]] + positionEmbeddings[t] + tokenTypeEmbeddings[0]
/// (single-segment input: token type 0 everywhere, as sentence-transformers feeds it).
/// With prompt tuning, the first P positions take their word vector from `prompt` instead of the
/// vocabulary, as PEFT feeds virtual tokens through `inputs_embeds` (positions and token type are
/// still added).
public func embeddingForward(
    out: UnsafeMutablePointer<Float>,           // (B, T, C)
    ids: UnsafePointer<Int32>,                  // (B, T); the first P ids are ignored
    wordEmbeddings: UnsafePointer<Float>,       // (V, C)
    positionEmbeddings: UnsafePointer<Float>,   // (maxPositions, C)
    tokenTypeEmbeddings: UnsafePointer<Float>,  // (types, C); row 0 used
    prompt: UnsafePointer<Float>? = nil,        // (P, C) virtual-token vectors
    promptLength P: Int = 0,
    batch B: Int, tokens T: Int, channels C: Int
) {
    Parallel.forEachRange(B * T, minimumChunk: 64) { range in
        for bt in range {
            let t = bt % T
            let o = out + bt * C
            let w = t < P ? prompt! + t * C : wordEmbeddings + Int(ids[bt]) * C
            let p = positionEmbeddings + t * C
            for c in 0..<C { o[c] = w[c] + p[c] + tokenTypeEmbeddings[c] }
        }
    }
}

/// Backward of `embeddingForward`. Gradients accumulate; pass nil for frozen tables.
/// Word-embedding rows are scattered serially: repeated token ids would race across workers.
public func embeddingBackward(
    dwordEmbeddings: UnsafeMutablePointer<Float>?,      // (V, C)
    dpositionEmbeddings: UnsafeMutablePointer<Float>?,  // (maxPositions, C)
    dtokenTypeEmbeddings: UnsafeMutablePointer<Float>?, // (types, C)
    dprompt: UnsafeMutablePointer<Float>? = nil,        // (P, C)
    promptLength P: Int = 0,
    dout: UnsafePointer<Float>,                         // (B, T, C)
    ids: UnsafePointer<Int32>,                          // (B, T)
    lengths: UnsafePointer<Int32>,                      // (B) padded positions carry no gradient
    batch B: Int, tokens T: Int, channels C: Int
) {
    for b in 0..<B {
        for t in 0..<Int(lengths[b]) {
            let bt = b * T + t
            let g = dout + bt * C
            if t < P {
                if let dprompt { addInPlace(dprompt + t * C, g, count: C) }
            } else if let dw = dwordEmbeddings {
                addInPlace(dw + Int(ids[bt]) * C, g, count: C)
            }
            if let dp = dpositionEmbeddings { addInPlace(dp + t * C, g, count: C) }
            if let dt = dtokenTypeEmbeddings { addInPlace(dt, g, count: C) }
        }
    }
}
