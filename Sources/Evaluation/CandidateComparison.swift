/// A candidate against a reference on the same test examples (paired by example id): McNemar's
/// exact test for accuracy (single runs only) and a two-level paired bootstrap of (candidate − reference) for every headline
/// metric and every other prediction metric a margin is given for (`recall[grain]`, `pr_auc`) — or,
/// for a generation task, for its four metrics —
/// the `comparisons` entries of results.json and the report's comparison tables.
public enum CandidateComparison {
    /// - Parameters:
    ///   - margins: non-inferiority margins by metric name as checks write it; each is decided.
    ///   - labels, positiveClass: resolve per-class and ranking metric names among `margins`.
    public static func compare(
        _ candidate: CandidateResult, with reference: CandidateResult, against: String, classCount: Int,
        margins: [String: Double] = [:], labels: [String] = [], positiveClass: Int? = nil, generation: Bool = false,
        resamples: Int = 1000, confidence: Double = 0.95, seed: UInt64
    ) -> Comparison? {
        guard candidate.status == .ok, reference.status == .ok else { return nil }
        // McNemar pairs two single runs; with several seeds the bootstrap below is the test.
        var accuracy: McNemarResult?
        let candidateRuns = candidate.completedSeedRuns, referenceRuns = reference.completedSeedRuns
        if candidateRuns.count == 1, referenceRuns.count == 1, !generation {
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
        for (name, metric) in compared(generation: generation, margins: margins, labels: labels, positiveClass: positiveClass,
                                       classCount: classCount) {
            guard case .success(let (difference, _, _)) = Gate.pairedDifference(
                metric: metric, candidate: candidate, reference: reference, settings: settings) else { continue }
            metrics[name] = difference
            if let margin = margins[name] {
                decisions[name] = NonInferiority.decide(difference, margin: margin, higherIsBetter: metric.higherIsBetter)
            }
        }
        return Comparison(against: against, reference: reference.name, accuracy: accuracy, metrics: metrics, nonInferiority: decisions)
    }

    /// The metrics compared, by name: a generation task's four, or the headline metrics and the
    /// other prediction metrics a margin names.
    static func compared(generation: Bool, margins: [String: Double], labels: [String], positiveClass: Int?,
                         classCount: Int) -> [(name: String, metric: TestMetric)] {
        if generation { return GenerationMetric.allCases.map { ($0.rawValue, .generation($0)) } }
        let named = margins.keys.sorted().compactMap { Gate.predictionMetric($0, labels: labels, positiveClass: positiveClass) }
        return (PredictionMetric.headline + named.filter { !PredictionMetric.headline.contains($0) }).map {
            ($0.name(labels: labels), .prediction($0, classCount: classCount))
        }
    }
}
