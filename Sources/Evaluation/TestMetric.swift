/// A metric of a candidate's test examples that can be recomputed on any list of example indices
/// of one seed run: a classification metric of its predictions, or a generation metric of its
/// answers. The gate's intervals, p-values and paired differences work through it, whatever the
/// task.
public enum TestMetric: Sendable {
    case prediction(PredictionMetric, classCount: Int)
    case generation(GenerationMetric)

    /// The metric a check names in a run with these labels, positive class and task type.
    public static func named(_ name: String, labels: [String], positiveClass: Int?, generation: Bool) -> TestMetric? {
        if generation { return GenerationMetric(rawValue: name).map(TestMetric.generation) }
        return (try? PredictionMetric.named(name, labels: labels, positiveClass: positiveClass).get())
            .map { .prediction($0, classCount: labels.count) }
    }

    public var higherIsBetter: Bool {
        switch self {
        case .prediction(let metric, _): metric.higherIsBetter
        case .generation(let metric): metric.higherIsBetter
        }
    }

    /// The run's test example ids, in the order `value(of:at:)` indexes them.
    func ids(of run: SeedRun) -> [String] {
        switch self {
        case .prediction: run.predictions.map(\.id)
        case .generation: (run.generations ?? []).map(\.id)
        }
    }

    /// What makes the run's records unusable for this metric, in words naming `candidate`; nil when they are fine.
    func problem(in run: SeedRun, of candidate: String) -> String? {
        switch self {
        case .prediction(let metric, let classCount):
            guard classCount >= 2 else { return "cannot compare \(metric.kind.rawValue): the runs need the same two or more labels" }
            return Gate.invalidPrediction(in: run.predictions, of: candidate, classCount: classCount)
        case .generation:
            return run.generations == nil ? "candidate \(candidate) has no generated answers" : nil
        }
    }

    /// The metric of the run's examples at `indices` (with repetitions).
    func value(of run: SeedRun, at indices: [Int]) -> Double {
        switch self {
        case .prediction(let metric, let classCount): metric.value(of: run.predictions, at: indices, classCount: classCount)
        case .generation(let metric): metric.value(of: run.generations ?? [], at: indices)
        }
    }

    /// The candidate's stored value (the seeds' mean with its interval and spread), or why there is none.
    func stored(in candidate: CandidateResult, labels: [String]) -> Result<MetricValue, Gate.Problem> {
        switch self {
        case .generation(let metric):
            guard let metrics = candidate.generationMetrics else {
                return .failure(Gate.Problem(message: "candidate \(candidate.name) has no generation metrics"))
            }
            return .success(metrics.value(metric))
        case .prediction(let metric, _):
            if metric.kind.isRanking {
                guard let ranking = candidate.positiveClass?.value(metric.kind) else {
                    return .failure(Gate.Problem(message: "candidate \(candidate.name) has no \(metric.kind.rawValue) (results written without positive_label: rerun compare)"))
                }
                return .success(ranking)
            }
            if let classIndex = metric.classIndex {
                guard let perClass = candidate.perClassMetrics else {
                    return .failure(Gate.Problem(message: "candidate \(candidate.name) has no per-class metrics (results written before they existed: rerun compare)"))
                }
                guard let scores = perClass.first(where: { $0.classIndex == classIndex }) else {
                    return .failure(Gate.Problem(message: "candidate \(candidate.name) has no metrics for class \(labels[classIndex])"))
                }
                return .success(scores.value(metric.kind)!)
            }
            guard let metrics = candidate.metrics else {
                return .failure(Gate.Problem(message: "candidate \(candidate.name) has no test metrics"))
            }
            return .success(metrics.value(named: metric.kind.rawValue)!)
        }
    }
}
