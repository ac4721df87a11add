/// Every metric a check could name, measured for one candidate of a run: what the run history
/// stores, so that any metric a suite gates on today or later has a trend.
public struct NamedMeasurement: Equatable, Sendable {
    /// The name checks use: "accuracy", "recall[grain]", "forgetting.similarity:lee.absolute_drop".
    public let name: String
    public let value: Double
    /// The confidence interval, for metrics that have one (prediction metrics).
    public let low: Double?
    public let high: Double?
    /// The training seeds the value averages, when there were several.
    public let seeds: SeedSpread?

    public init(name: String, value: Double, low: Double? = nil, high: Double? = nil, seeds: SeedSpread? = nil) {
        self.name = name; self.value = value; self.low = low; self.high = high; self.seeds = seeds
    }
}

extension Gate {
    /// Whether a larger value of `metric` is better: false for losses, calibration error, drops,
    /// gaps, time and memory.
    public static func higherIsBetter(_ metric: String) -> Bool {
        if let generation = GenerationMetric(rawValue: metric) { return generation.higherIsBetter }
        return !(metric == "log_loss" || metric == "ece" || metric.hasSuffix("_drop") || metric.hasSuffix("_gap")
                 || metric == "training.seconds" || metric == "training.peak_rss_bytes")
    }

    /// Every metric name the gate resolves for `candidate` in `run`, with its value, in a stable
    /// order: headline (a generation task's four), per class, ranking, forgetting, overfitting, training. Metrics the candidate
    /// has no value for (a failed run, a base score of 0) are left out.
    public static func measurements(of candidate: CandidateResult, in run: RunResult) -> [NamedMeasurement] {
        var names = run.isGeneration ? generationMetricNames : PredictionMetric.headline.map { $0.name(labels: run.labels) }
        names += PredictionMetric.perClass(classCount: run.labels.count).map { $0.name(labels: run.labels) }
        if let positive = run.positiveClass {
            names += PredictionMetric.ranking(positiveClass: positive).map { $0.name(labels: run.labels) }
        }
        for check in candidate.forgetting {
            names += forgettingFields.map { "forgetting.\(check.name).\($0)" }
        }
        names += overfittingMetricNames + trainingMetricNames
        return names.compactMap { measurement($0, of: candidate, in: run) }
    }

    /// The metric `name` of `candidate` in `run`, as a check would measure it; nil when the
    /// candidate has no value for it.
    public static func measurement(_ name: String, of candidate: CandidateResult, in run: RunResult) -> NamedMeasurement? {
        // `measure` reads only the labels and the positive class.
        let settings = Settings(resamples: 0, confidence: 0.95, seed: run.seed, labels: run.labels,
                                positiveClass: run.positiveClass, generation: run.isGeneration)
        guard case .found(let measurement) = measure(name, of: candidate, settings: settings) else { return nil }
        return NamedMeasurement(name: name, value: measurement.value, low: measurement.interval?.low,
                                high: measurement.interval?.high, seeds: measurement.seeds)
    }
}
