import Evaluation
import Foundation
import Suites

/// What a run records besides its units' results: identities of the suite, model and data, the
/// environment, the class names and how the data was split. Computed once by the process that
/// loads the data (every shard computes the same), carried in shard files, and copied into
/// results.json by `RunAssembly`.
public struct RunFacts: Codable, Equatable, Sendable {
    /// The command-line overrides the run was made with (they decide the candidates' settings).
    public struct Options: Codable, Equatable, Sendable {
        public var candidates: [String]?
        public var seed: UInt64?
        public var seeds: Int?
    }

    public var suite: SuiteIdentity
    public var model: ModelIdentity
    public var data: [DataFileIdentity]
    public var environment: EnvironmentInfo
    public var startedAt: String
    public var seed: UInt64
    public var labels: [String]
    public var positiveLabel: String?
    /// results.json `task_type`: "generation", or nil for classification.
    public var taskType: String?
    public var splits: DataSplits
    public var contamination: [ContaminatedExample]
    public var unselectedCandidates: [String]?
    public var options: Options

    enum CodingKeys: String, CodingKey {
        case suite, model, data, environment, startedAt = "started_at", seed, labels, positiveLabel = "positive_label", splits
        case contamination, unselectedCandidates = "unselected_candidates", options, taskType = "task_type"
    }
}

/// Turns unit results into the run's result: each candidate's seed runs in seed order, aggregated
/// over seeds (`SeedAggregation`), compared with the prompt-tuned candidate and with the baseline
/// run, then gated. The same code serves an unsharded run and `merge`, so the two agree.
public struct RunAssembly {
    public let spec: SuiteSpec
    public let candidates: [CandidateSpec]
    public let facts: RunFacts
    public let baseline: RunResult?
    public let calibration: CalibrationResult?

    public init(spec: SuiteSpec, candidates: [CandidateSpec], facts: RunFacts, baseline: RunResult?, calibration: CalibrationResult?) {
        self.spec = spec; self.candidates = candidates; self.facts = facts; self.baseline = baseline; self.calibration = calibration
    }

    /// - Precondition: `results` holds every training unit of `candidates` (see `merge`'s check).
    public func assemble(_ results: [UnitResult]) -> RunResult {
        var candidateResults = candidates.map { candidate(_: $0, results: results) }
        let comparison = spec.comparison
        let promptName = candidates.first { $0.method == .prompt }?.name
        for index in candidateResults.indices {
            var comparisons: [Comparison] = []
            let name = candidateResults[index].name
            if let promptName, name != promptName, let reference = candidateResults.first(where: { $0.name == promptName }),
               let paired = compare(candidateResults[index], with: reference, against: "prompt-baseline", reference: "prompt") {
                comparisons.append(paired)
            }
            if let baseline, let reference = baseline.candidate(named: name),
               let paired = compare(candidateResults[index], with: reference, against: "baseline-run", reference: "baseline") {
                comparisons.append(paired)
            }
            candidateResults[index].comparisons = comparisons
        }
        var run = RunResult(suite: facts.suite, model: facts.model, data: facts.data, environment: facts.environment,
                            startedAt: facts.startedAt, durationSeconds: 0, seed: facts.seed, labels: facts.labels,
                            candidates: candidateResults, checks: [])
        run.positiveLabel = facts.positiveLabel
        run.taskType = facts.taskType
        run.splits = facts.splits
        run.contamination = facts.contamination
        run.unselectedCandidates = facts.unselectedCandidates
        run.checks = Gate.evaluate(spec.checks, result: run, baseline: baseline, resamples: comparison.bootstrapResamples,
                                   confidence: comparison.confidence, seed: facts.seed,
                                   multipleTesting: comparison.multipleTesting, calibration: calibration)
        return run
    }

    /// A candidate from its units' seed runs: failed when any seed failed (the error names the seed),
    /// its headline fields the summary of the seeds that finished.
    private func candidate(_ candidate: CandidateSpec, results: [UnitResult]) -> CandidateResult {
        let units = results.filter { $0.unit.kind == .train && $0.unit.candidate == candidate.name }
            .sorted { $0.unit.seedIndex! < $1.unit.seedIndex! }
        var result = CandidateResult(name: candidate.name, method: candidate.method.rawValue, status: .ok,
                                     settings: candidate.settings, configHash: candidate.configHash,
                                     trainableParameters: 0, baseWeightBytes: units.first?.baseWeightBytes ?? 0)
        for unit in units {
            guard let run = unit.seedRun else { continue }
            if run.status == .ok {
                result.trainableParameters = unit.trainableParameters
                result.baseWeightBytes = unit.baseWeightBytes
            } else {
                result.status = .failed
                let which = unit.unit.seedCount == 1 ? "" : "seed \(unit.unit.seedIndex! + 1) of \(unit.unit.seedCount!) (training seed \(run.seed)): "
                result.error = result.error ?? which + (run.error ?? "failed")
            }
            result.seedRuns.append(run)
        }
        result.cachedSeeds = units.contains { $0.cached } ? units.count { $0.cached } : nil
        let completed = result.completedSeedRuns
        if !completed.isEmpty {
            let summary = SeedAggregation.summarize(completed, labels: spec.task.labels, positiveClass: spec.task.positiveClass,
                                                    resamples: spec.comparison.bootstrapResamples,
                                                    level: spec.comparison.confidence, seed: candidate.training.seed)
            result.metrics = summary.metrics
            result.perClassMetrics = summary.perClassMetrics
            result.positiveClass = summary.positiveClass
            result.generationMetrics = summary.generationMetrics
            result.report = summary.report
            result.forgetting = summary.forgetting
            result.training = summary.training
            result.overfitting = summary.overfitting
        }
        return result
    }

    private func compare(_ candidate: CandidateResult, with reference: CandidateResult, against: String, reference name: String) -> Comparison? {
        CandidateComparison.compare(candidate, with: reference, against: against, classCount: facts.labels.count,
                                    margins: nonInferiorityMargins(of: candidate.name, against: name),
                                    labels: facts.labels, positiveClass: spec.task.positiveClass, generation: spec.task.generation != nil,
                                    resamples: spec.comparison.bootstrapResamples, confidence: spec.comparison.confidence, seed: facts.seed)
    }

    /// The margins of the suite's `non_inferior_to: reference` checks on test metrics that apply
    /// to `candidate`, by metric (the smallest where several checks name one metric): the
    /// comparisons record their decisions beside the paired differences.
    private func nonInferiorityMargins(of candidate: String, against reference: String) -> [String: Double] {
        var margins: [String: Double] = [:]
        for check in spec.checks
        where TestMetric.named(check.metric, labels: spec.task.labels, positiveClass: spec.task.positiveClass,
                               generation: spec.task.generation != nil) != nil
            && (check.candidates?.contains(candidate) ?? true) {
            if case .nonInferior(reference, let margin) = check.kind {
                margins[check.metric] = min(margins[check.metric] ?? margin, margin)
            }
        }
        return margins
    }
}
