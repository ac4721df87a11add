#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// tanh, as BERT's pooler activation.
public func tanhForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count N: Int) {
    for i in 0..<N { out[i] = tanhf(inp[i]) }
}

/// Backward of `tanhForward` from its output y: dinp += dout · (1 − y²).
public func tanhBackward(dinp: UnsafeMutablePointer<Float>, out: UnsafePointer<Float>, dout: UnsafePointer<Float>, count N: Int) {
    for i in 0..<N { dinp[i] += dout[i] * (1 - out[i] * out[i]) }
}

/// Softmax cross-entropy averaged over the batch, as `F.cross_entropy(logits, labels, weight=w)`:
/// with class weights w, Σ_b w[y_b] · nll_b / Σ_b w[y_b] (PyTorch's weighted mean); without, the
/// plain mean. Writes the softmax probabilities (kept for the backward pass and for predictions)
/// and returns the loss, computed in Float64 so the reported number does not depend on batch order.
@discardableResult
public func crossEntropyForward(
    probabilities: UnsafeMutablePointer<Float>, // (B, K)
    logits: UnsafePointer<Float>,               // (B, K)
    labels: UnsafePointer<Int32>,               // (B)
    classWeights: UnsafePointer<Float>? = nil,  // (K), positive
    batch B: Int, classes K: Int
) -> Double {
    var total = 0.0
    for b in 0..<B {
        let z = logits + b * K, p = probabilities + b * K
        var maxLogit = -Float.infinity
        for k in 0..<K { maxLogit = max(maxLogit, z[k]) }
        var sum = 0.0
        for k in 0..<K { sum += exp(Double(z[k] - maxLogit)) }
        let logSum = log(sum) + Double(maxLogit)
        for k in 0..<K { p[k] = Float(exp(Double(z[k]) - logSum)) }
        let weight = classWeights.map { Double($0[Int(labels[b])]) } ?? 1
        total += weight * (logSum - Double(z[Int(labels[b])]))
    }
    return total / crossEntropyNormalizer(labels: labels, classWeights: classWeights, batch: B)
}

/// Backward of the (weighted) mean cross-entropy: dlogits += w[y] · (p − onehot(label)) / Σ w[y].
public func crossEntropyBackward(
    dlogits: UnsafeMutablePointer<Float>,       // (B, K)
    probabilities: UnsafePointer<Float>,        // (B, K)
    labels: UnsafePointer<Int32>,               // (B)
    classWeights: UnsafePointer<Float>? = nil,  // (K), positive
    batch B: Int, classes K: Int
) {
    let normalizer = Float(crossEntropyNormalizer(labels: labels, classWeights: classWeights, batch: B))
    for b in 0..<B {
        let scale = (classWeights.map { $0[Int(labels[b])] } ?? 1) / normalizer
        for k in 0..<K {
            let target: Float = Int(labels[b]) == k ? 1 : 0
            dlogits[b * K + k] += (probabilities[b * K + k] - target) * scale
        }
    }
}

/// The denominator of the mean: B, or the weights of the batch's labels summed.
private func crossEntropyNormalizer(labels: UnsafePointer<Int32>, classWeights: UnsafePointer<Float>?, batch B: Int) -> Double {
    guard let classWeights else { return Double(B) }
    var sum = 0.0
    for b in 0..<B { sum += Double(classWeights[Int(labels[b])]) }
    return sum
}
