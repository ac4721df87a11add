import Evaluation
import Foundation
import Model
import Suites
import Tokenizer

/// What the base model can do before fine-tuning, measured once per run, and the same
/// measurements with a candidate's adapter active.
///
/// - similarity sets: Spearman correlation between the cosine of the two texts' mean-pooled
///   embeddings and the human score;
/// - probes: a logistic probe fitted on the base model's embeddings of the probe's train split,
///   scored (accuracy) on its test split.
///
/// Its settings are its own, never the task's, so that forgetting is comparable across suites on
/// the same model: texts cut at `maxLength` tokens ([CLS] and [SEP] included; fewer only when the
/// model's positions minus a prompt candidate's virtual tokens allow fewer), mean pooling over the
/// real tokens, L2-normalised embeddings, and the probe's fixed fit (`LogisticProbe`).
struct RetentionMeasurement {
    /// Texts are cut at this many tokens, whatever the task's `max_length`.
    static let maxLength = 128

    struct SimilaritySet { let name: String; let idsA: [[Int32]]; let idsB: [[Int32]]; let scores: [Double] }
    struct Probe { let name: String; let trainIDs: [[Int32]]; let trainLabels: [Int]; let testIDs: [[Int32]]; let testLabels: [Int]; let classCount: Int }

    let similarity: [SimilaritySet]
    let probes: [Probe]
    private(set) var fittedProbes: [String: LogisticProbe] = [:]
    private(set) var baseScores: [String: Double] = [:]

    init(data: RetentionData, tokenizer: WordPieceTokenizer, maxLength: Int) {
        similarity = data.similarity.map { set in
            SimilaritySet(name: set.spec.checkName,
                          idsA: set.pairs.map { tokenizer.encode($0.textA, maxLength: maxLength) },
                          idsB: set.pairs.map { tokenizer.encode($0.textB, maxLength: maxLength) },
                          scores: set.pairs.map(\.score))
        }
        probes = data.probes.map { probe in
            Probe(name: probe.spec.checkName,
                  trainIDs: probe.train.map { tokenizer.encode($0.text, maxLength: maxLength) }, trainLabels: probe.train.map(\.label),
                  testIDs: probe.test.map { tokenizer.encode($0.text, maxLength: maxLength) }, testLabels: probe.test.map(\.label),
                  classCount: probe.labels.count)
        }
    }

    var isEmpty: Bool { similarity.isEmpty && probes.isEmpty }

    /// Whether the base model has been measured (every check then has a base score).
    var isMeasured: Bool { !isEmpty && baseScores.count == similarity.count + probes.count }

    /// Texts embedded to score one model (both sides of every pair, every probe text).
    var textCount: Int {
        similarity.reduce(0) { $0 + $1.idsA.count + $1.idsB.count } + probes.reduce(0) { $0 + $1.trainIDs.count + $1.testIDs.count }
    }

    /// Measures the base model and fits the probes on its embeddings.
    mutating func measureBase(with embedder: SentenceEmbedder) {
        for probe in probes {
            let train = embedder.embed(tokenIDs: probe.trainIDs)
            fittedProbes[probe.name] = LogisticProbe.fit(features: train, labels: probe.trainLabels, classCount: probe.classCount)
        }
        baseScores = scores(with: embedder)
    }

    /// Each check's score with the given embedder (the base model's, or a candidate's).
    func scores(with embedder: SentenceEmbedder) -> [String: Double] {
        var result: [String: Double] = [:]
        for set in similarity {
            let a = embedder.embed(tokenIDs: set.idsA), b = embedder.embed(tokenIDs: set.idsB)
            // Embeddings are L2-normalised, so the cosine is the dot product.
            let cosines = zip(a, b).map { pair in zip(pair.0, pair.1).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
            result[set.name] = SpearmanCorrelation.coefficient(cosines, set.scores) ?? 0
        }
        for probe in probes {
            guard let fitted = fittedProbes[probe.name] else { continue }
            result[probe.name] = fitted.accuracy(features: embedder.embed(tokenIDs: probe.testIDs), labels: probe.testLabels)
        }
        return result
    }

    /// Forgetting of a candidate: base versus candidate for every check, in suite order.
    func forgetting(candidateScores: [String: Double]) -> [ForgettingCheck] {
        similarity.map { ForgettingCheck(name: $0.name, measure: "spearman",
                                         result: ForgettingReport(base: baseScores[$0.name] ?? 0, candidate: candidateScores[$0.name] ?? 0)) }
        + probes.map { ForgettingCheck(name: $0.name, measure: "probe_accuracy",
                                       result: ForgettingReport(base: baseScores[$0.name] ?? 0, candidate: candidateScores[$0.name] ?? 0)) }
    }
}
