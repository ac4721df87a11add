import Foundation

/// A frozen linear probe: multinomial logistic regression fitted on base-model embeddings, then
/// scored on embeddings from the base model and from each adapter. The drop in its accuracy is
/// how much of what the base model's embeddings encoded an adapter destroyed.
///
/// Fitting is deterministic full-batch gradient descent (zero start, fixed step and iteration
/// count, L2 penalty λ on the weights): the same embeddings always give the same probe.
public struct LogisticProbe: Sendable {
    public let classCount: Int
    public let dimension: Int
    /// (K, D) weights then (K) biases.
    private var weights: [Double]
    private var biases: [Double]

    public static func fit(features: [[Float]], labels: [Int], classCount K: Int,
                           iterations: Int = 300, learningRate: Double = 2.0, l2: Double = 1e-4) -> LogisticProbe {
        precondition(!features.isEmpty && features.count == labels.count)
        let D = features[0].count, N = features.count
        var probe = LogisticProbe(classCount: K, dimension: D, weights: [Double](repeating: 0, count: K * D),
                                  biases: [Double](repeating: 0, count: K))
        var gradW = [Double](repeating: 0, count: K * D), gradB = [Double](repeating: 0, count: K)
        for _ in 0..<iterations {
            for i in gradW.indices { gradW[i] = l2 * probe.weights[i] }
            for k in 0..<K { gradB[k] = 0 }
            for n in 0..<N {
                let p = probe.probabilities(features[n])
                for k in 0..<K {
                    let g = (p[k] - (labels[n] == k ? 1 : 0)) / Double(N)
                    gradB[k] += g
                    let row = k * D
                    for d in 0..<D { gradW[row + d] += g * Double(features[n][d]) }
                }
            }
            for i in probe.weights.indices { probe.weights[i] -= learningRate * gradW[i] }
            for k in 0..<K { probe.biases[k] -= learningRate * gradB[k] }
        }
        return probe
    }

    /// Softmax class probabilities of one embedding.
    public func probabilities(_ x: [Float]) -> [Double] {
        var logits = biases
        for k in 0..<classCount {
            let row = k * dimension
            var sum = 0.0
            for d in 0..<dimension { sum += weights[row + d] * Double(x[d]) }
            logits[k] += sum
        }
        let maxLogit = logits.max()!
        let exps = logits.map { exp($0 - maxLogit) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }

    public func predict(_ x: [Float]) -> Int {
        let p = probabilities(x)
        return p.indices.max { p[$0] < p[$1] }!
    }

    /// Fraction of `features` whose predicted class equals the label.
    public func accuracy(features: [[Float]], labels: [Int]) -> Double {
        Double(zip(features, labels).filter { predict($0.0) == $0.1 }.count) / Double(max(1, labels.count))
    }
}
