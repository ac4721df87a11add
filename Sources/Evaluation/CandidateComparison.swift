/// A candidate against a reference on the same test examples (paired by example id): McNemar's
/// exact test for accuracy (single runs only) and a two-level paired bootstrap of (candidate − reference) for every headline
/// metric and every other prediction metric a margin is given for (`recall[grain]`, `pr_auc`) —
/// the `comparisons` entries of results.json and the report's comparison tables.
public enum CandidateComparison {
    /// - Parameters:
    ///   - margins: non-inferiority margins by metric name as checks write it; each is decided.
    ///   - labels, positiveClass: resolve per-class and ranking metric names among `margins`.
    public static func compare(
        _ candidate: CandidateResult, with reference: CandidateResult, against: String, classCount: Int,
        margins: [String: Double] = [:], labels: [String] = [], positiveClass: Int? = nil,
        resamples: Int = 1000, confidence: Double = 0.95, seed: UInt64
    ) -> Comparison? {
        guard candidate.status == .ok, reference.status == .ok else { return nil }
        // McNemar pairs two single runs; with several seeds the bootstrap below is the test.
        var accuracy: McNemarResult?
        let candidateRuns = candidate.completedSeedRuns, referenceRuns = reference.completedSeedRuns
        if candidateRuns.count == 1, referenceRuns.count == 1 {
            var referenceByID: [String: Prediction] = [:]
            for prediction in referenceRuns[0].predictions { referenceByID[prediction.id] = prediction }
            let pairs = candidateRuns[0].predictions.compactMap { prediction in referenceByID[prediction.id].map { (prediction, $0) } }
            guard !pairs.isEmpty else { return nil }
            accuracy = McNemar.test(candidateCorrect: pairs.map { $0.0.predicted == $0.0.label },
                                    baselineCorrect: pairs.map { $0.1.predicted == $0.1.label })
        }
        let settings = Gate.Settings(resamples: resamples, confidence: confidence, seed: seed)
        var metrics: [String: PairedDifference] = [:]
        var decisions: [String: NonInferiorityDecision] = [:]
        let named = margins.keys.sorted().compactMap { Gate.predictionMetric($0, labels: labels, positiveClass: positiveClass) }
        for metric in PredictionMetric.headline + named.filter({ !PredictionMetric.headline.contains($0) }) {
            guard case .success(let (difference, _, _)) = Gate.pairedDifference(
                metric: metric, candidate: candidate, reference: reference, classCount: classCount,
                referenceClassCount: classCount, settings: settings) else { continue }
            let name = metric.name(labels: labels)
            metrics[name] = difference
            if let margin = margins[name] {
                decisions[name] = NonInferiority.decide(difference, margin: margin, higherIsBetter: metric.higherIsBetter)
            }
        }
        return Comparison(against: against, reference: reference.name, accuracy: accuracy, metrics: metrics, nonInferiority: decisions)
    }
}
