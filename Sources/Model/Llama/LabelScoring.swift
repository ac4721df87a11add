import Foundation

/// Classification by a decoder: each class is a continuation (its verbaliser, " positive"), and
/// the class score of a prompt is log p(verbaliser | prompt), the sum over the verbaliser's
/// tokens — lm-evaluation-harness's `loglikelihood` for multiple choice, without length
/// normalisation. Class probabilities are the softmax of the K scores (the model's odds between
/// the classes, renormalised over them).
extension LlamaModel {
    /// Sequences per forward pass when scoring.
    public static let scoringBatchSize = 8

    /// log p(continuation k | prompt p) for every prompt and continuation: (P, K) sums.
    ///
    /// When every continuation is a single token (the usual verbaliser), one forward of each
    /// prompt answers all K from its last position's log-softmax. Otherwise each prompt runs once
    /// per continuation (prompt + continuation). Prompts are batched by length; each prompt plus
    /// its longest continuation must fit the positions (validated before any forward).
    public func continuationScores(prompts: [[Int32]], continuations: [[Int32]],
                                   progress: ((Int) -> Void)? = nil) throws(ModelInputError) -> [[Double]] {
        guard !continuations.isEmpty, !continuations.contains(where: \.isEmpty) else {
            throw ModelInputError(file: source.path, detail: "every class needs a continuation of at least one token")
        }
        let longest = continuations.map(\.count).max()!
        for (index, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw ModelInputError(file: source.path, detail: "prompt \(index) is empty; a continuation needs a context") }
            try validate([prompt + continuations[continuations.firstIndex { $0.count == longest }!]])
        }
        var scores = [[Double]](repeating: [], count: prompts.count)
        let order = prompts.indices.sorted { (prompts[$0].count, $0) < (prompts[$1].count, $1) }
        let singleToken = longest == 1
        let promptsPerBatch = singleToken ? Self.scoringBatchSize : max(1, Self.scoringBatchSize / continuations.count)
        var done = 0
        for start in stride(from: 0, to: order.count, by: promptsPerBatch) {
            let members = Array(order[start..<min(start + promptsPerBatch, order.count)])
            if singleToken {
                let targets = continuations.map { $0[0] }
                let (states, T) = try hiddenStates(members.map { prompts[$0] })
                let logits = logits(ofRows: states, rows: members.indices.map { $0 * T + prompts[members[$0]].count - 1 })
                for (row, member) in members.enumerated() {
                    scores[member] = logSoftmax(logits, row: row, at: targets)
                }
            } else {
                // Each prompt once per continuation: prompt-major pairs, one forward for the batch.
                let pairs = members.flatMap { member in continuations.map { (prompt: prompts[member], continuation: $0) } }
                let sums = try pairScores(pairs)
                for (m, member) in members.enumerated() {
                    scores[member] = Array(sums[(m * continuations.count)..<((m + 1) * continuations.count)])
                }
            }
            done += members.count
            progress?(done)
        }
        return scores
    }
}

extension LlamaModel {
    /// One forward of every (prompt + continuation): the summed log-probability of each continuation.
    func pairScores(_ pairs: [(prompt: [Int32], continuation: [Int32])]) throws(ModelInputError) -> [Double] {
        let (states, T) = try hiddenStates(pairs.map { $0.prompt + $0.continuation })
        return continuationSums(states, tokens: T, pairs: pairs.map { ($0.prompt.count, $0.continuation) })
    }

    /// The summed log-probability of each sequence's continuation from the hidden states (B, T, d)
    /// of a forward over (prompt + continuation) rows: sequence b's continuation starts after its
    /// first `promptLength` positions.
    func continuationSums(_ states: [Float], tokens T: Int, pairs: [(promptLength: Int, continuation: [Int32])]) -> [Double] {
        var rows: [Int] = [], targets: [Int32] = []
        for (sequence, pair) in pairs.enumerated() {
            for (j, token) in pair.continuation.enumerated() {
                rows.append(sequence * T + pair.promptLength - 1 + j)
                targets.append(token)
            }
        }
        let tokenScores = logProbabilities(logits(ofRows: states, rows: rows), targets: targets)
        var offset = 0
        return pairs.map { pair in
            defer { offset += pair.continuation.count }
            return tokenScores[offset..<(offset + pair.continuation.count)].reduce(0, +)
        }
    }
}

/// The K class probabilities from K continuation log-probabilities (softmax over the classes).
public enum LabelScores {
    public static func probabilities(_ logProbabilities: [Double]) -> [Double] {
        let top = logProbabilities.max()!
        let weights = logProbabilities.map { Foundation.exp($0 - top) }
        let total = weights.reduce(0, +)
        return weights.map { $0 / total }
    }
}
