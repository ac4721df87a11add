import Foundation

/// The outcome of a whole run's gate, and the exit code `evalharness` returns for it.
///
/// A run error takes precedence over a failed check: when a candidate could not be trained or
/// measured, the run did not answer the question the gate asks, so "a run failed" (3) is the
/// honest summary even if some other check also failed (1). Skipped checks (no baseline run yet)
/// neither pass nor fail the gate.
public enum Verdict: String, Codable, Sendable {
    case passed, failed, error

    /// 0 every gated check passed (or was skipped) · 1 a gated check failed · 3 a run failed.
    public var exitCode: Int32 {
        switch self {
        case .passed: 0
        case .failed: 1
        case .error: 3
        }
    }
}

/// Applies a suite's checks to a run: each check × candidate it applies to becomes one
/// `CheckResult` (one JUnit testcase).
///
/// - Threshold checks compare the candidate's metric (its value, or with `bound` an end of its
///   confidence interval) with the suite's `min` or `max`.
/// - Non-inferiority checks pair the candidate's test predictions with the reference's by example
///   `id` (only ids both have), bootstrap the difference (candidate − reference) of the metric with
///   `PairedBootstrap`, recomputing it on every resample as `ClassificationMetrics` does, and
///   decide with `NonInferiority.decide`. The reference is the run's prompt-tuned candidate (the
///   first with method "prompt") for `prompt`, or the candidate of the same name in the stored
///   baseline run for `baseline`. Metrics that have no per-example form in results.json
///   (forgetting, overfitting, training) are compared on their point values: the interval
///   collapses to the difference itself, and the message says so.
///
/// Every result carries a message describing what was measured; for failed, skipped and errored
/// checks it says why, e.g. "accuracy 0.842 < 0.85 (95% CI 0.821–0.861)".
public enum Gate {
    /// The per-candidate results of `checks`, in suite order, then in the run's candidate order.
    ///
    /// - Parameters:
    ///   - checks: the suite's checks.
    ///   - result: the run being gated; its candidates' metrics, predictions and so on must be filled.
    ///   - baseline: the stored baseline run (e.g. main's results.json), if there is one.
    ///   - resamples: bootstrap resamples for non-inferiority comparisons.
    ///   - confidence: the level of those intervals; also the level quoted for the run's own
    ///     metric intervals in messages ("95% CI"), which the runner computes at the same level.
    ///   - seed: seed of every paired bootstrap (the same seed for each comparison, so results do
    ///     not depend on the order of the checks).
    ///   - multipleTesting: `.holm` controls the family-wise error of the checks decided on an
    ///     interval (see `MultipleTesting`).
    ///   - calibration: a stored calibration; checks whose margin is below what the run's seed count
    ///     can decide get a warning.
    public static func evaluate(
        _ checks: [CheckSpec], result: RunResult, baseline: RunResult?,
        resamples: Int = 1000, confidence: Double = 0.95, seed: UInt64,
        multipleTesting: MultipleTesting = .none, calibration: CalibrationResult? = nil
    ) -> [CheckResult] {
        let settings = Settings(resamples: resamples, confidence: confidence, seed: seed, labels: result.labels,
                                positiveClass: result.positiveClass, generation: result.isGeneration)
        var results: [CheckResult] = []
        for check in checks {
            for target in targets(of: check, in: result) {
                var outcome = evaluate(check, target: target, result: result, baseline: baseline, settings: settings)
                if let calibration, let warning = calibrationWarning(check, outcome: outcome, run: result,
                                                                      baseline: baseline, calibration: calibration) {
                    outcome.warnings = (outcome.warnings ?? []) + [warning]
                }
                results.append(outcome)
            }
        }
        if multipleTesting == .holm {
            MultipleTesting.applyHolm(to: &results, level: (1 - confidence) / 2)
        }
        return results
    }

    /// The gate's outcome for a list of check results: `.error` if any errored, else `.failed` if
    /// any failed, else `.passed` (skipped checks count as neither).
    public static func verdict(_ results: [CheckResult]) -> Verdict {
        if results.contains(where: { $0.status == .error }) { return .error }
        if results.contains(where: { $0.status == .failed }) { return .failed }
        return .passed
    }

    /// The outcome of a whole run: `verdict(run.checks)`, except that a candidate whose run failed
    /// makes it `.error` even when no check applies to that candidate (a failure is never hidden).
    public static func verdict(for run: RunResult) -> Verdict {
        if run.candidates.contains(where: { $0.status == .failed }) { return .error }
        return verdict(run.checks)
    }

    // MARK: Metric names

    /// Headline metrics: measured on the test split, each with a confidence interval.
    public static let headlineMetricNames = PredictionMetric.headline.map(\.kind.rawValue)
    /// Fields of `forgetting.<check name>.<field>`.
    public static let forgettingFields = ["absolute_drop", "relative_drop", "candidate"]
    public static let overfittingMetricNames = ["overfitting.loss_gap", "overfitting.accuracy_gap"]
    public static let trainingMetricNames = ["training.examples_per_s", "training.seconds", "training.peak_rss_bytes"]

    /// Generation tasks' test metrics: measured on the test split, each with a confidence interval.
    public static let generationMetricNames = GenerationMetric.allCases.map(\.rawValue)

    /// Whether `name` is a metric a check may name, for a task with these `labels` (a generation
    /// task: `generation`; the forgetting check's name itself is not verified here: it depends on
    /// the suite).
    public static func isValidMetricName(_ name: String, labels: [String], positiveClass: Int? = nil, generation: Bool = false) -> Bool {
        if TestMetric.named(name, labels: labels, positiveClass: positiveClass, generation: generation) != nil
            || overfittingMetricNames.contains(name) || trainingMetricNames.contains(name) {
            return true
        }
        return forgettingReference(name) != nil
    }

    /// The prediction metric `name` denotes for a task with these labels and positive class
    /// (headline, per-class or ranking).
    public static func predictionMetric(_ name: String, labels: [String], positiveClass: Int? = nil) -> PredictionMetric? {
        try? PredictionMetric.named(name, labels: labels, positiveClass: positiveClass).get()
    }

    /// The valid metric names in words, for error messages.
    public static func validMetricNamesDescription(generation: Bool) -> String {
        let test = generation ? generationMetricNames
            : headlineMetricNames + ["precision[<label>]", "recall[<label>]", "f1[<label>]", "roc_auc and pr_auc (with positive_label)"]
        return (test + ["forgetting.<check name>.(\(forgettingFields.joined(separator: "|")))"]
            + overfittingMetricNames + trainingMetricNames).joined(separator: ", ")
    }

    // MARK: Internals

    struct Settings {
        let resamples: Int
        let confidence: Double
        let seed: UInt64
        /// The run's labels: per-class metric names (`recall[grain]`) resolve against them.
        var labels: [String] = []
        /// The run's positive class: `roc_auc` and `pr_auc` are its.
        var positiveClass: Int? = nil
        /// Whether the run's task generates answers (its test metrics are `GenerationMetric`s).
        var generation = false

        /// The test metric `name` denotes in this run, if it is one.
        func testMetric(_ name: String) -> TestMetric? {
            TestMetric.named(name, labels: labels, positiveClass: positiveClass, generation: generation)
        }

        var unknownMetricMessage: String { Gate.unknownMetricMessage(generation: generation) }
    }

    static func unknownMetricMessage(generation: Bool) -> String {
        "valid metrics: \(validMetricNamesDescription(generation: generation))"
    }

    /// A candidate a check applies to; `candidate` is nil when the suite names one the run lacks.
    struct Target {
        let name: String
        let candidate: CandidateResult?
    }

    /// A metric's value and, for headline metrics, its confidence interval.
    struct Measurement {
        let value: Double
        let interval: (low: Double, high: Double)?
        /// Training seeds the value averages (1 for a single run).
        var seeds: SeedSpread? = nil
    }

    enum Lookup {
        case found(Measurement)
        /// A valid metric name the candidate has no value for; the text says why.
        case missing(String)
        case unknownName
    }

    /// The prompt-tuned candidate non-inferiority checks against "prompt" compare with.
    static func promptReference(in run: RunResult) -> CandidateResult? {
        run.candidates.first { $0.method == "prompt" }
    }

    static func targets(of check: CheckSpec, in run: RunResult) -> [Target] {
        if let names = check.candidates {
            let present = run.candidates.filter { names.contains($0.name) }.map { Target(name: $0.name, candidate: $0) }
            var seen = Set(present.map(\.name))
            var absent: [Target] = []
            for name in names where !seen.contains(name) {
                seen.insert(name)
                absent.append(Target(name: name, candidate: nil))
            }
            return present + absent
        }
        var candidates = run.candidates
        if case .nonInferior(let reference, _) = check.kind, reference == "prompt",
            let prompt = promptReference(in: run)
        {
            candidates.removeAll { $0.name == prompt.name }
        }
        return candidates.map { Target(name: $0.name, candidate: $0) }
    }

    static func evaluate(
        _ check: CheckSpec, target: Target, result run: RunResult, baseline: RunResult?, settings: Settings
    ) -> CheckResult {
        let threshold: Double
        switch check.kind {
        case .minimum(let value), .maximum(let value): threshold = value
        case .nonInferior(_, let margin): threshold = margin
        }
        func outcome(_ status: CheckResult.Status, _ message: String) -> CheckResult {
            CheckResult(candidate: target.name, name: check.displayName, metric: check.metric, value: nil,
                        threshold: threshold, passed: false, status: status, message: message)
        }

        guard isValidMetricName(check.metric, labels: run.labels, positiveClass: run.positiveClass, generation: run.isGeneration) else {
            return outcome(.error, "unknown metric \"\(check.metric)\"; \(settings.unknownMetricMessage)")
        }
        guard let candidate = target.candidate else {
            if run.unselectedCandidates?.contains(target.name) == true {
                return outcome(.skipped, "not run: --candidates left out \(target.name)")
            }
            let names = run.candidates.map(\.name).joined(separator: ", ")
            return outcome(.error, "the run has no candidate named \"\(target.name)\" (candidates: \(names))")
        }
        guard candidate.status == .ok else {
            return outcome(.error, candidate.error ?? "the candidate's run failed")
        }

        switch check.kind {
        case .minimum, .maximum:
            return thresholdCheck(check, candidate: candidate, threshold: threshold, settings: settings, outcome: outcome)
        case .nonInferior(let reference, let margin):
            return nonInferiorityCheck(
                check, candidate: candidate, referenceName: reference, margin: margin, run: run, baseline: baseline,
                settings: settings, outcome: outcome)
        }
    }

    // MARK: Threshold checks

    static func thresholdCheck(
        _ check: CheckSpec, candidate: CandidateResult, threshold: Double, settings: Settings,
        outcome: (CheckResult.Status, String) -> CheckResult
    ) -> CheckResult {
        let measurement: Measurement
        switch measure(check.metric, of: candidate, settings: settings) {
        case .found(let found): measurement = found
        case .missing(let why): return outcome(.error, why)
        case .unknownName:
            return outcome(.error, "unknown metric \"\(check.metric)\"; \(settings.unknownMetricMessage)")
        }

        let compared: Double
        switch check.bound {
        case .value:
            compared = measurement.value
        case .ciLow, .ciHigh:
            guard let interval = measurement.interval else {
                return outcome(.error, "\(check.metric) has no confidence interval, so \(check.bound.rawValue) cannot be checked")
            }
            compared = check.bound == .ciLow ? interval.low : interval.high
        }

        let isMinimum: Bool
        if case .minimum = check.kind { isMinimum = true } else { isMinimum = false }
        let passed = isMinimum ? compared >= threshold : compared <= threshold
        // A bound that makes passing harder (ci_low of a minimum, ci_high of a maximum) is a one-sided
        // test; its p-value (the bootstrap mass on the failing side) feeds the multiple-testing correction.
        var pValue: Double?
        if (isMinimum && check.bound == .ciLow) || (!isMinimum && check.bound == .ciHigh),
           let metric = settings.testMetric(check.metric),
           let distribution = testDistribution(metric, of: candidate, settings: settings) {
            pValue = isMinimum ? distribution.fraction(atMost: threshold) : distribution.fraction(atLeast: threshold)
        }
        let relation = isMinimum ? (passed ? ">=" : "<") : (passed ? "<=" : ">")

        let subject = check.bound == .value ? check.metric : "\(check.bound.rawValue)(\(check.metric))"
        var details: [String] = []
        if check.bound != .value {
            details.append("\(check.metric) \(formatMeasured(measurement.value))")
        }
        if let interval = measurement.interval {
            details.append("\(levelText(settings.confidence)) CI \(formatMeasured(interval.low))–\(formatMeasured(interval.high))")
        }
        if let spread = measurement.seeds { details.append(spreadText(spread)) }
        var message = "\(subject) \(formatMeasured(compared)) \(relation) \(formatThreshold(threshold))"
        if !details.isEmpty {
            message += " (\(details.joined(separator: ", ")))"
        }
        var result = CheckResult(
            candidate: candidate.name, name: check.displayName, metric: check.metric, value: measurement.value,
            threshold: threshold, ciLow: measurement.interval?.low, ciHigh: measurement.interval?.high,
            passed: passed, status: passed ? .passed : .failed, message: message)
        result.pValue = pValue
        return result
    }

    /// Looks `metric` up in a candidate's results.
    static func measure(_ metric: String, of candidate: CandidateResult, settings: Settings) -> Lookup {
        if let testMetric = settings.testMetric(metric) {
            switch testMetric.stored(in: candidate, labels: settings.labels) {
            case .success(let found):
                return .found(Measurement(value: found.value, interval: (found.low, found.high), seeds: found.seeds?.ifSeveral))
            case .failure(let problem):
                return .missing(problem.message)
            }
        }
        if let (checkName, field) = forgettingReference(metric) {
            guard let check = candidate.forgetting.first(where: { $0.name == checkName }) else {
                let names = candidate.forgetting.map(\.name)
                let known = names.isEmpty ? "it has none" : "it has: " + names.joined(separator: ", ")
                return .missing("candidate \(candidate.name) has no forgetting check \"\(checkName)\" (\(known))")
            }
            // With several seeds the candidate score is already their mean; the spread of the drop is
            // the spread of the score (the base score is one number).
            let spread = check.seeds?.ifSeveral
            switch field {
            case "absolute_drop": return .found(Measurement(value: check.result.absoluteDrop, interval: nil, seeds: spread))
            case "candidate": return .found(Measurement(value: check.result.candidate, interval: nil, seeds: spread))
            default:
                guard let relative = check.result.relativeDrop else {
                    return .missing("\(metric) is undefined: the base score of \(checkName) is 0")
                }
                return .found(Measurement(value: relative, interval: nil))
            }
        }
        // Per-run quantities: the mean over the candidate's seed runs (peak memory: the largest).
        if overfittingMetricNames.contains(metric) {
            let gaps = candidate.completedSeedRuns.compactMap(\.overfitting?.gapAtBestEpoch)
            guard !gaps.isEmpty else {
                return .missing("candidate \(candidate.name) has no overfitting analysis")
            }
            return .found(overSeeds(gaps.map { metric == "overfitting.loss_gap" ? $0.lossGap : $0.accuracyGap }))
        }
        if trainingMetricNames.contains(metric) {
            let runs = candidate.completedSeedRuns.compactMap(\.training)
            guard !runs.isEmpty else {
                return .missing("candidate \(candidate.name) has no training summary")
            }
            switch metric {
            case "training.examples_per_s": return .found(overSeeds(runs.map(\.examplesPerSecond)))
            case "training.seconds": return .found(overSeeds(runs.map(\.seconds)))
            default:
                let peaks = runs.map { Double($0.peakRSSBytes) }
                return .found(Measurement(value: peaks.max()!, interval: nil, seeds: SeedSpread.ofSeveral(peaks)))
            }
        }
        return .unknownName
    }

    /// (check name, field) of "forgetting.<check name>.<field>"; the check name may contain dots.
    static func forgettingReference(_ metric: String) -> (String, String)? {
        let prefix = "forgetting."
        guard metric.hasPrefix(prefix), let lastDot = metric.lastIndex(of: ".") else { return nil }
        let nameStart = metric.index(metric.startIndex, offsetBy: prefix.count)
        guard lastDot > nameStart else { return nil }
        let field = String(metric[metric.index(after: lastDot)...])
        guard forgettingFields.contains(field) else { return nil }
        return (String(metric[nameStart..<lastDot]), field)
    }

    // MARK: Non-inferiority checks

    static func nonInferiorityCheck(
        _ check: CheckSpec, candidate: CandidateResult, referenceName: String, margin: Double,
        run: RunResult, baseline: RunResult?, settings: Settings,
        outcome: (CheckResult.Status, String) -> CheckResult
    ) -> CheckResult {
        guard margin >= 0, margin.isFinite else {
            return outcome(.error, "the non-inferiority margin must be a non-negative number, not \(margin)")
        }
        // The reference candidate, the run it belongs to, and how the message names it.
        let reference: CandidateResult
        let referenceRun: RunResult
        let referenceText: String
        switch referenceName {
        case "prompt":
            guard let prompt = promptReference(in: run) else {
                // The suite had one (the parser requires it), so --candidates left it out.
                if let unselected = run.unselectedCandidates, !unselected.isEmpty {
                    return outcome(.skipped, "the prompt-tuned reference was not run (--candidates left out \(unselected.joined(separator: ", ")))")
                }
                return outcome(.error, "the run has no prompt-tuned candidate (method prompt) to compare with")
            }
            guard prompt.status == .ok else {
                return outcome(.error, "the prompt-tuned reference \(prompt.name) failed: \(prompt.error ?? "no reason given")")
            }
            reference = prompt
            referenceRun = run
            referenceText = "prompt candidate \(prompt.name)"
        case "baseline":
            guard let baseline else {
                return outcome(.skipped, "no baseline run yet")
            }
            guard let stored = baseline.candidate(named: candidate.name) else {
                return outcome(.skipped, "the baseline run has no candidate named \(candidate.name)")
            }
            guard stored.status == .ok else {
                return outcome(.skipped, "candidate \(candidate.name) failed in the baseline run: \(stored.error ?? "no reason given")")
            }
            guard baseline.labels == run.labels else {
                return outcome(.skipped, "the baseline run has different labels (\(baseline.labels.joined(separator: ", ")))")
            }
            reference = stored
            referenceRun = baseline
            referenceText = "baseline run's \(stored.name)"
        default:
            return outcome(.error, "unknown non-inferiority reference \"\(referenceName)\" (use prompt or baseline)")
        }

        let higherIsBetter = check.higherIsBetter
        let difference: PairedDifference
        var basis: String
        var pValue: Double?
        if let metric = settings.testMetric(check.metric) {
            guard referenceRun.isGeneration == run.isGeneration else {
                return outcome(.skipped, "the baseline run's task is of another type (\(referenceRun.taskType ?? "classification"))")
            }
            switch pairedDifference(metric: metric, candidate: candidate, reference: reference, settings: settings) {
            case .success(let (paired, count, distribution)):
                difference = paired
                pValue = higherIsBetter ? distribution.fraction(atMost: -margin) : distribution.fraction(atLeast: margin)
                basis = "\(seedText(paired)) on \(count) paired examples, \(levelText(settings.confidence)) CI "
                    + "\(formatSigned(paired.low)) to \(formatSigned(paired.high))"
            case .failure(let problem):
                return outcome(.error, problem.message)
            }
        } else {
            // No per-example data: compare the point values.
            let candidateValue: Double
            let referenceValue: Double
            switch (measure(check.metric, of: candidate, settings: settings),
                    measure(check.metric, of: reference, settings: settings)) {
            case (.found(let a), .found(let b)):
                candidateValue = a.value
                referenceValue = b.value
            case (.missing(let why), _):
                return outcome(.error, why)
            case (_, .missing(let why)):
                return outcome(referenceName == "baseline" ? .skipped : .error, "reference: " + why)
            default:
                return outcome(.error, "unknown metric \"\(check.metric)\"; \(settings.unknownMetricMessage)")
            }
            let point = candidateValue - referenceValue
            difference = PairedDifference(
                candidate: candidateValue, baseline: referenceValue, difference: point, low: point, high: point,
                pValue: point == 0 ? 1 : 0, level: settings.confidence, resamples: 0)
            basis = "point values, no per-example data"
        }

        let decision = NonInferiority.decide(difference, margin: margin, higherIsBetter: higherIsBetter)
        let conclusion: String
        if decision.nonInferior {
            conclusion = "non-inferior"
        } else {
            let side = higherIsBetter ? "lower bound" : "upper bound"
            let relation = higherIsBetter ? "<=" : ">="
            let limit = higherIsBetter ? -margin : margin
            conclusion = "\(side) \(formatSigned(decision.bound)) \(relation) \(formatSigned(limit)): "
                + (higherIsBetter ? "worse by more than the margin" : "higher by more than the margin")
        }
        let message = "\(check.metric) \(formatSigned(difference.difference)) vs \(referenceText) "
            + "(\(basis); margin \(formatThreshold(margin))): \(conclusion)"
        var result = CheckResult(
            candidate: candidate.name, name: check.displayName, metric: check.metric, value: difference.difference,
            threshold: margin, ciLow: difference.low, ciHigh: difference.high, passed: decision.nonInferior,
            status: decision.nonInferior ? .passed : .failed, message: message)
        result.pValue = pValue
        return result
    }

    /// "means of 3 vs 3 seeds", "single runs".
    static func seedText(_ paired: PairedDifference) -> String {
        let a = paired.candidateSeeds ?? 1, b = paired.baselineSeeds ?? 1
        return a == 1 && b == 1 ? "single runs" : "means of \(a) vs \(b) seeds"
    }

    /// "seed sd 0.006, min–max 0.835–0.855 over 5 seeds".
    static func spreadText(_ spread: SeedSpread) -> String {
        "seed sd \(formatMeasured(spread.sd)), \(formatMeasured(spread.min))–\(formatMeasured(spread.max)) over \(spread.count) seeds"
    }

    /// The mean of per-seed values, with their spread when there are several.
    static func overSeeds(_ values: [Double]) -> Measurement {
        Measurement(value: values.reduce(0, +) / Double(values.count), interval: nil, seeds: SeedSpread.ofSeveral(values))
    }

    /// The two-level bootstrap distribution of a test metric's seed-mean, on the same resamples as
    /// the candidate's stored interval (same seed; the draws do not depend on which metric).
    static func testDistribution(_ metric: TestMetric, of candidate: CandidateResult, settings: Settings)
        -> TwoLevelBootstrap.Distribution?
    {
        let runs = candidate.completedSeedRuns
        guard let first = runs.first, case let count = metric.ids(of: first).count, count > 0,
              runs.allSatisfy({ metric.ids(of: $0).count == count && metric.problem(in: $0, of: candidate.name) == nil })
        else { return nil }
        return TwoLevelBootstrap.distributions(
            seedCount: runs.count, exampleCount: count, resamples: settings.resamples, seed: settings.seed
        ) { s, indices in [metric.value(of: runs[s], at: indices)] }[0]
    }

    struct Problem: Error {
        let message: String
    }

    /// The two-level paired bootstrap of (candidate − reference) seed-means for a test metric over
    /// the test examples every seed run of both arms has (matched by id, in the candidate's order),
    /// the number of such examples, and the bootstrap distribution.
    static func pairedDifference(
        metric: TestMetric, candidate: CandidateResult, reference: CandidateResult, settings: Settings
    ) -> Result<(PairedDifference, Int, TwoLevelBootstrap.Distribution), Problem> {
        let candidateRuns = candidate.completedSeedRuns, referenceRuns = reference.completedSeedRuns
        guard !candidateRuns.isEmpty, !referenceRuns.isEmpty else {
            return .failure(Problem(message: "\(candidate.name) or the reference \(reference.name) has no completed seed run"))
        }
        for (name, runs) in [(candidate.name, candidateRuns), (reference.name, referenceRuns)] {
            for run in runs {
                if let problem = metric.problem(in: run, of: name) { return .failure(Problem(message: problem)) }
            }
        }
        // Per run: id → position of its record (the first of repeated ids). Paired ids: the candidate's
        // first run's ids, in its order, that every run of both arms has.
        func positions(_ run: SeedRun) -> [String: Int] {
            var out: [String: Int] = [:]
            for (position, id) in metric.ids(of: run).enumerated() where out[id] == nil { out[id] = position }
            return out
        }
        let candidateMaps = candidateRuns.map(positions), referenceMaps = referenceRuns.map(positions)
        var seen = Set<String>()
        var ids: [String] = []
        for id in metric.ids(of: candidateRuns[0]) where seen.insert(id).inserted {
            if candidateMaps.allSatisfy({ $0[id] != nil }) && referenceMaps.allSatisfy({ $0[id] != nil }) { ids.append(id) }
        }
        guard !ids.isEmpty else {
            return .failure(Problem(message:
                "\(candidate.name) and the reference \(reference.name) have no test example ids in common"))
        }
        // Each run's record positions of the paired examples: an index list over the pairs maps through them.
        let candidatePositions = candidateMaps.map { map in ids.map { map[$0]! } }
        let referencePositions = referenceMaps.map { map in ids.map { map[$0]! } }
        func value(_ runs: [SeedRun], _ positions: [[Int]], _ s: Int, _ indices: [Int]) -> Double {
            metric.value(of: runs[s], at: indices.map { positions[s][$0] })
        }
        let distribution = TwoLevelBootstrap.difference(
            candidateSeeds: candidateRuns.count, referenceSeeds: referenceRuns.count, exampleCount: ids.count,
            resamples: settings.resamples, seed: settings.seed,
            candidate: { value(candidateRuns, candidatePositions, $0, $1) },
            reference: { value(referenceRuns, referencePositions, $0, $1) })
        let all = Array(ids.indices)
        func mean(_ runs: [SeedRun], _ positions: [[Int]]) -> Double {
            runs.indices.reduce(0) { $0 + value(runs, positions, $1, all) } / Double(runs.count)
        }
        let paired = PairedDifference(distribution, candidate: mean(candidateRuns, candidatePositions),
                                      baseline: mean(referenceRuns, referencePositions), level: settings.confidence,
                                      candidateSeeds: candidateRuns.count, baselineSeeds: referenceRuns.count)
        return .success((paired, ids.count, distribution))
    }

    /// A description of the first prediction `ClassificationMetrics` could not accept, if any.
    static func invalidPrediction(in predictions: [Prediction], of name: String, classCount: Int) -> String? {
        for prediction in predictions {
            let classes = 0..<classCount
            if !classes.contains(prediction.label) || !classes.contains(prediction.predicted)
                || prediction.probabilities.count != classCount
            {
                return "candidate \(name): prediction \(prediction.id) does not fit \(classCount) classes"
            }
        }
        return nil
    }

    // MARK: Formatting

    /// Three decimals ("0.842"); whole numbers for large magnitudes (bytes, examples per second
    /// above 10 000), where decimals say nothing.
    static func formatMeasured(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        if abs(value) >= 10_000 { return String(format: "%.0f", value) }
        let text = String(format: "%.3f", value)
        return text == "-0.000" ? "0.000" : text
    }

    /// Four significant decimals for small levels and p-values: "0.0083", "0.025".
    static func formatMeasured4(_ value: Double) -> String {
        var text = String(format: "%.4f", value)
        while text.hasSuffix("0") && !text.hasSuffix(".0") { text.removeLast() }
        return text
    }

    /// A difference with its sign: "+0.012", "-0.024", "+0.000".
    static func formatSigned(_ value: Double) -> String {
        let text = formatMeasured(value)
        return text.hasPrefix("-") || text.hasPrefix("n") ? text : "+" + text
    }

    /// "95%" for 0.95, "97.5%" for 0.975.
    static func levelText(_ level: Double) -> String {
        formatThreshold((level * 100 * 1000).rounded() / 1000) + "%"
    }
}
