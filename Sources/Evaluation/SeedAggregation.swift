/// A candidate's headline fields from its seed runs: what results.json shows first and the gate
/// reads. Every number is the mean over seeds; the intervals come from `TwoLevelBootstrap`.
///
/// - `metrics`: the six headline metrics, each the mean of the seeds' values on the full test set,
///   with a two-level bootstrap interval and the seeds' spread;
/// - `perClassMetrics`: precision, recall and F1 of every class, the same way (the same resamples);
/// - `positiveClass`: with a positive label, ROC-AUC and PR-AUC of that class, the same way, and the
///   decision thresholds the seeds chose on validation;
/// - `report`: the classification report of all seeds' predictions pooled (the confusion matrix
///   counts every seed's predictions; with one seed it is that seed's report);
/// - `forgetting`: per retention check, the base score and the mean candidate score, with the spread;
/// - `training`: the first seed's history, best epoch and early stop (what the charts draw),
///   seconds and steps summed over seeds, examples/s averaged, peak memory the largest;
/// - `overfitting`: the first seed's analysis (the gate's `overfitting.*` read every seed's).
public enum SeedAggregation {
    public struct Summary {
        public var metrics: HeadlineMetrics?
        public var perClassMetrics: [ClassMetricValues]?
        public var positiveClass: PositiveClassMetrics?
        /// A generation task's metrics (its runs have answers, not predictions).
        public var generationMetrics: GenerationMetrics?
        public var report: ClassificationReport?
        public var forgetting: [ForgettingCheck]
        public var training: TrainingSummary?
        public var overfitting: OverfittingReport?
    }

    /// - Precondition: `runs` is non-empty, every run finished (status ok) with predictions on the same
    ///   examples in the same order.
    public static func summarize(_ runs: [SeedRun], labels: [String], positiveClass: Int? = nil, resamples: Int, level: Double,
                                 seed: UInt64) -> Summary {
        precondition(!runs.isEmpty, "no seed runs to summarise")
        let classCount = labels.count
        let seeds = runs.map(\.predictions)
        let perClass = PredictionMetric.perClass(classCount: classCount)
        let ranking = positiveClass.map { PredictionMetric.ranking(positiveClass: $0) } ?? []
        let values = predictionMetrics(seeds, PredictionMetric.headline + perClass + ranking, classCount: classCount,
                                       resamples: resamples, level: level, seed: seed)
        let headlineCount = PredictionMetric.headline.count
        let metrics = values.map { HeadlineMetrics(Array($0.prefix(headlineCount))) }
        let pooled = runs.flatMap(\.predictions)
        let report = pooled.isEmpty ? nil : ClassificationMetrics.compute(
            labels: pooled.map(\.label), predicted: pooled.map(\.predicted), probabilities: pooled.map(\.probabilities),
            classCount: classCount)
        // `perClass` is precision, recall, F1 class by class; the pooled report's counts divided by
        // the seed count are one seed's support and the seeds' mean predicted count.
        let classMetrics = values.flatMap { values in report.map { report in
            (0..<classCount).map { c in
                let scores = values[(headlineCount + 3 * c)...]
                let counts = report.perClass[c]
                return ClassMetricValues(
                    classIndex: c, label: labels[c], support: counts.support / seeds.count,
                    predicted: Double(counts.predictedCount) / Double(seeds.count),
                    precision: scores[scores.startIndex], recall: scores[scores.startIndex + 1], f1: scores[scores.startIndex + 2])
            }
        } }
        let positive = values.flatMap { values in positiveClass.map { positive in
            let scores = values.suffix(2)
            return PositiveClassMetrics(classIndex: positive, label: labels[positive], rocAUC: scores[scores.startIndex],
                                        prAUC: scores[scores.startIndex + 1], threshold: DecisionThreshold.summarize(runs))
        } }
        let answers = runs.compactMap(\.generations)
        let generation = answers.count == runs.count
            ? GenerationMetrics.summarize(answers, resamples: resamples, level: level, seed: seed) : nil
        return Summary(metrics: metrics, perClassMetrics: classMetrics, positiveClass: positive, generationMetrics: generation,
                       report: report, forgetting: forgetting(runs), training: training(runs), overfitting: runs[0].overfitting)
    }

    /// The six headline metrics over seeds: mean, two-level bootstrap interval, spread. With one seed,
    /// identical to `HeadlineMetrics.compute` on that seed (plus a spread of one value).
    public static func headlineMetrics(_ seeds: [[Prediction]], classCount: Int, resamples: Int, level: Double,
                                       seed: UInt64) -> HeadlineMetrics? {
        predictionMetrics(seeds, PredictionMetric.headline, classCount: classCount, resamples: resamples, level: level, seed: seed)
            .map(HeadlineMetrics.init)
    }

    /// `metrics` over seeds, in order: each the mean of the seeds' values on the full test set, a
    /// two-level bootstrap interval (one classification report per seed and resample serves them
    /// all) and the seeds' spread. Nil without predictions.
    public static func predictionMetrics(_ seeds: [[Prediction]], _ metrics: [PredictionMetric], classCount: Int,
                                         resamples: Int, level: Double, seed: UInt64) -> [MetricValue]? {
        guard let first = seeds.first, !first.isEmpty else { return nil }
        func values(_ s: Int, _ indices: [Int]) -> [Double] {
            PredictionMetric.values(metrics, of: seeds[s], at: indices, classCount: classCount)
        }
        let distributions = TwoLevelBootstrap.distributions(
            seedCount: seeds.count, exampleCount: first.count, resamples: resamples, seed: seed, statistics: values)
        let perSeed = seeds.indices.map { values($0, Array(seeds[$0].indices)) }
        return distributions.indices.map { k in
            var value = distributions[k].metricValue(level: level)
            value.seeds = SeedSpread(perSeed.map { $0[k] })
            return value
        }
    }

    static func forgetting(_ runs: [SeedRun]) -> [ForgettingCheck] {
        runs[0].forgetting.map { first in
            let scores = runs.compactMap { run in run.forgetting.first { $0.name == first.name }?.result.candidate }
            let mean = scores.reduce(0, +) / Double(scores.count)
            return ForgettingCheck(name: first.name, measure: first.measure,
                                   result: ForgettingReport(base: first.result.base, candidate: mean),
                                   seeds: SeedSpread(scores))
        }
    }

    static func training(_ runs: [SeedRun]) -> TrainingSummary? {
        let summaries = runs.compactMap(\.training)
        guard let first = summaries.first else { return nil }
        return TrainingSummary(
            history: first.history, bestEpoch: first.bestEpoch, earlyStopped: first.earlyStopped, epochsRun: first.epochsRun,
            steps: summaries.reduce(0) { $0 + $1.steps }, seconds: summaries.reduce(0) { $0 + $1.seconds },
            examplesPerSecond: summaries.reduce(0) { $0 + $1.examplesPerSecond } / Double(summaries.count),
            peakRSSBytes: summaries.map(\.peakRSSBytes).max() ?? 0)
    }
}
