import COpenBLAS
import Foundation

/// The causal-LM loss at the positions that count (the answer tokens of a completion-only
/// objective), through the language-model head (for a tied model, the embedding table), with its
/// backward fused in:
///   loss = (1/R) Σ_r −log softmax(h_r · Wᵀ)[target_r]
///   dh_r += (softmax_r − onehot_r)/R · W,   dW += Σ_r ((softmax_r − onehot_r)/R)ᵀ · h_r.
/// With a 49,152-token vocabulary the logits dominate a decoder's memory, so they are made
/// `chunkRows` rows at a time and used at once: a (chunkRows, V) block is all that ever exists,
/// never (batch, seq, V). Targets must index the vocabulary (validated where the batch is built).
/// Returns the mean loss in Float64 and how many rows rank their target first (ties to the lower
/// id, as `argmax`). With `dhidden` and `dweight` nil it is the forward alone.
public func languageModelHeadLoss(
    dhidden: UnsafeMutablePointer<Float>?,  // (R, d), accumulates
    dweight: UnsafeMutablePointer<Float>?,  // (V, d), accumulates
    hidden: UnsafePointer<Float>,           // (R, d): the final-normed states of the rows that count
    weight: UnsafePointer<Float>,           // (V, d)
    targets: UnsafePointer<Int32>,          // (R): the token each row predicts
    rows R: Int, dim d: Int, vocabulary V: Int, chunkRows: Int = 64
) -> (loss: Double, correct: Int) {
    guard R > 0 else { return (0, 0) }
    let chunk = min(chunkRows, R)
    let logits = UnsafeMutablePointer<Float>.allocate(capacity: chunk * V)  // (chunk, V)
    defer { logits.deallocate() }
    var rowLosses = [Double](repeating: 0, count: R)
    var rowCorrect = [Bool](repeating: false, count: R)
    let backward = dhidden != nil || dweight != nil
    for start in stride(from: 0, to: R, by: chunk) {
        let n = min(chunk, R - start)
        let h = hidden + start * d
        // logits (n, V) = h (n, d) · Wᵀ; workers take vocabulary columns. (The head is a
        // fifth of a small decoder's work: run on one core it left the other idle.)
        Parallel.forEachRange(V, minimumChunk: 1024) { columns in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(columns.count), Int32(d),
                        1, h, Int32(d), weight + columns.lowerBound * d, Int32(d), 0, logits + columns.lowerBound, Int32(V))
        }
        rowLosses.withUnsafeMutableBufferPointer { losses in
          rowCorrect.withUnsafeMutableBufferPointer { correct in
            Parallel.forEachRange(n) { range in
                for r in range {
                    let row = logits + r * V
                    let target = Int(targets[start + r])
                    var maximum = -Float.infinity, best = 0
                    for v in 0..<V where row[v] > maximum { maximum = row[v]; best = v }
                    correct[start + r] = best == target
                    // Σ exp(logit − max), 16 lanes at a time (`FastMath.exp`, relative error < 2e-7),
                    // each vector's share added in Float64.
                    let shift = FloatVector(repeating: maximum)
                    var sum = 0.0, v = 0
                    while v + 16 <= V { sum += Double(horizontalSum(FastMath.exp(row.loadVector(at: v) - shift))); v += 16 }
                    while v < V { sum += Foundation.exp(Double(row[v] - maximum)); v += 1 }
                    let logSum = Foundation.log(sum)
                    losses[start + r] = logSum - Double(row[target] - maximum)
                    guard backward else { continue }
                    // The row becomes its logits' gradient: (softmax − onehot) / R.
                    let inverseRows = 1 / Float(R)
                    let normalizer = FloatVector(repeating: maximum + Float(logSum)), scale = FloatVector(repeating: inverseRows)
                    v = 0
                    while v + 16 <= V { row.storeVector(FastMath.exp(row.loadVector(at: v) - normalizer) * scale, at: v); v += 16 }
                    while v < V { row[v] = Float(Foundation.exp(Double(row[v] - maximum) - logSum)) * inverseRows; v += 1 }
                    row[target] -= inverseRows
                }
            }
          }
        }
        guard backward else { continue }
        // dh (n, d) += dlogits (n, V) · W (V, d), workers taking columns of dh;
        // dW (V, d) += dlogitsᵀ (V, n) · h (n, d), workers taking vocabulary rows of dW.
        if let dhidden {
            Parallel.forEachRange(d, minimumChunk: 32) { columns in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(columns.count), Int32(V),
                            1, logits, Int32(V), weight + columns.lowerBound, Int32(d), 1,
                            dhidden + start * d + columns.lowerBound, Int32(d))
            }
        }
        if let dweight {
            Parallel.forEachRange(V, minimumChunk: 1024) { vocabulary in
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(vocabulary.count), Int32(d), Int32(n),
                            1, logits + vocabulary.lowerBound, Int32(V), h, Int32(d), 1,
                            dweight + vocabulary.lowerBound * d, Int32(d))
            }
        }
    }
    return (rowLosses.reduce(0, +) / Double(R), rowCorrect.count { $0 })
}
