@testable import Evaluation
import XCTest

/// The gate on hand-built runs whose numbers are chosen, not measured.
final class GateTests: XCTestCase {
    // MARK: Fixture

    private static func metric(_ value: Double, _ low: Double, _ high: Double) -> MetricValue {
        MetricValue(value: value, low: low, high: high)
    }

    private static func headline(accuracy: MetricValue, ece: MetricValue = metric(0.031, 0.022, 0.045)) -> HeadlineMetrics {
        HeadlineMetrics(
            accuracy: accuracy, precisionMacro: metric(0.84, 0.82, 0.86), recallMacro: metric(0.83, 0.81, 0.85),
            f1Macro: metric(0.835, 0.815, 0.855), logLoss: metric(0.41, 0.37, 0.45), expectedCalibrationError: ece)
    }

    /// Predictions on `count` two-class examples "e0", "e1", …: example i is right when `correct(i)`,
    /// with probability 0.8 on the predicted class.
    private static func predictions(count: Int = 400, correct: (Int) -> Bool) -> [Prediction] {
        (0..<count).map { index in
            let label = index % 2
            let predicted = correct(index) ? label : 1 - label
            let probabilities = predicted == 0 ? [0.8, 0.2] : [0.2, 0.8]
            return Prediction(id: "e\(index)", label: label, predicted: predicted, probabilities: probabilities)
        }
    }

    private static func candidate(
        _ name: String, method: String, accuracy: MetricValue = metric(0.872, 0.851, 0.893),
        ece: MetricValue = metric(0.031, 0.022, 0.045), predictions: [Prediction] = [],
        forgetting: [ForgettingCheck] = []
    ) -> CandidateResult {
        let history = [
            EpochRecord(trainLoss: 0.6, validationLoss: 0.55, trainAccuracy: 0.7, validationAccuracy: 0.72),
            EpochRecord(trainLoss: 0.3, validationLoss: 0.42, trainAccuracy: 0.9, validationAccuracy: 0.85),
            EpochRecord(trainLoss: 0.2, validationLoss: 0.47, trainAccuracy: 0.95, validationAccuracy: 0.84),
        ]
        let run = SeedRun(
            seed: 7, status: .ok,
            training: TrainingSummary(history: history, bestEpoch: 1, earlyStopped: false, epochsRun: 3, steps: 300,
                                      seconds: 72.5, examplesPerSecond: 250, peakRSSBytes: 812_000_000),
            metrics: headline(accuracy: accuracy, ece: ece), forgetting: forgetting,
            overfitting: OverfittingAnalysis.analyze(history: history), predictions: predictions)
        return CandidateResult(
            name: name, method: method, status: .ok, settings: [:], configHash: "hash-\(name)",
            trainableParameters: 1000, baseWeightBytes: 90_000_000, training: run.training, metrics: run.metrics,
            forgetting: forgetting, overfitting: run.overfitting, seedRuns: [run])
    }

    private static func failedCandidate(_ name: String) -> CandidateResult {
        CandidateResult(name: name, method: "qlora", status: .failed, error: "loss became NaN at epoch 2, step 14",
                        settings: [:], configHash: "hash-\(name)", trainableParameters: 1000, baseWeightBytes: 22_000_000)
    }

    private static func run(_ candidates: [CandidateResult]) -> RunResult {
        RunResult(
            suite: SuiteIdentity(name: "sentiment", path: "suites/sentiment.yaml", contentSHA256: "abc"),
            model: ModelIdentity(path: "models/minilm", sha256: "def", parameters: 22_700_000), data: [],
            environment: EnvironmentInfo(cpu: "test", threads: 2, blasCore: "Haswell", operatingSystem: "Linux",
                                         evalharnessVersion: "0.1.0"),
            startedAt: "2025-01-01T00:00:00Z", durationSeconds: 300, seed: 7, labels: ["negative", "positive"],
            candidates: candidates, checks: [])
    }

    /// prompt: 70 % right; lora: the same plus 40 more right (80 %); full: 60 % right.
    private let promptPredictions = predictions { ($0 * 13) % 10 < 7 }
    private var loraPredictions: [Prediction] {
        var rows = promptPredictions
        for index in rows.indices.filter({ rows[$0].predicted != rows[$0].label }).prefix(40) {
            rows[index].predicted = rows[index].label
            rows[index].probabilities.reverse()
        }
        return rows
    }
    private var fullPredictions: [Prediction] {
        var rows = promptPredictions
        for index in rows.indices.filter({ rows[$0].predicted == rows[$0].label }).prefix(40) {
            rows[index].predicted = 1 - rows[index].label
            rows[index].probabilities.reverse()
        }
        return rows
    }

    private func standardRun() -> RunResult {
        Self.run([
            Self.candidate("soft-prompt", method: "prompt", accuracy: Self.metric(0.700, 0.655, 0.745),
                           predictions: promptPredictions),
            Self.candidate("lora", method: "lora", accuracy: Self.metric(0.842, 0.821, 0.861),
                           ece: Self.metric(0.071, 0.052, 0.090), predictions: loraPredictions,
                           forgetting: [ForgettingCheck(name: "similarity:lee", measure: "spearman",
                                                        result: ForgettingReport(base: 0.8, candidate: 0.769))]),
            Self.candidate("full", method: "full", accuracy: Self.metric(0.872, 0.851, 0.893),
                           predictions: fullPredictions),
        ])
    }

    private func evaluate(_ checks: [CheckSpec], run: RunResult? = nil, baseline: RunResult? = nil) -> [CheckResult] {
        Gate.evaluate(checks, result: run ?? standardRun(), baseline: baseline, resamples: 300, seed: 5)
    }

    // MARK: Seeds

    /// A candidate trained on two seeds is compared by its seed-mean: one seed as good as lora (80 %),
    /// one as the prompt (70 %) → mean 75 % against the prompt's 70 %; the message names the seeds.
    /// Per-run quantities (training, overfitting) are the means over the seed runs.
    func testSeveralSeedsAreComparedByTheirMean() throws {
        var run = standardRun()
        var second = run.candidates[1].seedRuns[0]
        second.seed = 99
        second.predictions = promptPredictions
        second.training?.seconds = 27.5
        run.candidates[1].seedRuns.append(second)
        let results = Gate.evaluate(
            [CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.01), candidates: ["lora"]),
             CheckSpec(metric: "training.seconds", kind: .maximum(60), candidates: ["lora"])],
            result: run, baseline: nil, resamples: 300, seed: 5)
        XCTAssertEqual(try XCTUnwrap(results[0].value), 0.05, accuracy: 1e-12)
        XCTAssertTrue(results[0].message!.contains("(means of 2 vs 1 seeds on 400 paired examples"), results[0].message!)
        XCTAssertNotNil(results[0].pValue)
        XCTAssertEqual(results[1].value, 50)  // (72.5 + 27.5) / 2
        XCTAssertEqual(results[1].status, .passed)
        XCTAssertTrue(results[1].message!.contains("seed sd 31.820, 27.500–72.500 over 2 seeds"), results[1].message!)

        // The seed draws of the two arms differ: the interval is wider than with the lora seed alone,
        // because the seeds disagree by 10 points.
        let single = evaluate([CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.01), candidates: ["lora"])])
        XCTAssertGreaterThan(results[0].ciHigh! - results[0].ciLow!, single[0].ciHigh! - single[0].ciLow!)
    }

    // MARK: Threshold checks

    func testThresholdPassAndFailWithExactMessages() {
        let results = evaluate([CheckSpec(metric: "accuracy", kind: .minimum(0.85))])
        XCTAssertEqual(results.map(\.candidate), ["soft-prompt", "lora", "full"])
        XCTAssertEqual(results.map(\.name), Array(repeating: "accuracy >= 0.85", count: 3))

        let lora = results[1]
        XCTAssertEqual(lora.status, .failed)
        XCTAssertFalse(lora.passed)
        XCTAssertEqual(lora.message, "accuracy 0.842 < 0.85 (95% CI 0.821–0.861)")
        XCTAssertEqual(lora.value, 0.842)
        XCTAssertEqual(lora.ciLow, 0.821)
        XCTAssertEqual(lora.ciHigh, 0.861)
        XCTAssertEqual(lora.threshold, 0.85)

        let full = results[2]
        XCTAssertEqual(full.status, .passed)
        XCTAssertTrue(full.passed)
        XCTAssertEqual(full.message, "accuracy 0.872 >= 0.85 (95% CI 0.851–0.893)")
    }

    func testMaximumThreshold() {
        let results = evaluate([CheckSpec(metric: "ece", kind: .maximum(0.05), candidates: ["lora", "full"])])
        XCTAssertEqual(results.map(\.status), [.failed, .passed])
        XCTAssertEqual(results[0].message, "ece 0.071 > 0.05 (95% CI 0.052–0.090)")
        XCTAssertEqual(results[1].message, "ece 0.031 <= 0.05 (95% CI 0.022–0.045)")
    }

    func testConfidenceBoundIsComparedInsteadOfTheValue() {
        // 0.842 would pass 0.83; its lower bound 0.821 does not.
        let low = evaluate([CheckSpec(metric: "accuracy", kind: .minimum(0.83), bound: .ciLow, candidates: ["lora"])])
        XCTAssertEqual(low.count, 1)
        XCTAssertEqual(low[0].name, "ci_low(accuracy) >= 0.83")
        XCTAssertEqual(low[0].status, .failed)
        XCTAssertEqual(low[0].value, 0.842)
        XCTAssertEqual(low[0].message, "ci_low(accuracy) 0.821 < 0.83 (accuracy 0.842, 95% CI 0.821–0.861)")

        let high = evaluate([CheckSpec(metric: "ece", kind: .maximum(0.085), bound: .ciHigh, candidates: ["lora"])])
        XCTAssertEqual(high[0].status, .failed)
        XCTAssertEqual(high[0].message, "ci_high(ece) 0.090 > 0.085 (ece 0.071, 95% CI 0.052–0.090)")
    }

    func testMessageQuotesTheConfidenceLevelInUse() {
        let results = Gate.evaluate([CheckSpec(metric: "accuracy", kind: .minimum(0.85), candidates: ["lora"])],
                                    result: standardRun(), baseline: nil, confidence: 0.9, seed: 1)
        XCTAssertEqual(results[0].message, "accuracy 0.842 < 0.85 (90% CI 0.821–0.861)")
    }

    func testForgettingOverfittingAndTrainingMetrics() {
        let results = evaluate([
            CheckSpec(metric: "forgetting.similarity:lee.absolute_drop", kind: .maximum(0.02), candidates: ["lora"]),
            CheckSpec(metric: "forgetting.similarity:lee.relative_drop", kind: .maximum(0.05), candidates: ["lora"]),
            CheckSpec(metric: "forgetting.similarity:lee.candidate", kind: .minimum(0.75), candidates: ["lora"]),
            CheckSpec(metric: "overfitting.loss_gap", kind: .maximum(0.1), candidates: ["lora"]),
            CheckSpec(metric: "overfitting.accuracy_gap", kind: .maximum(0.1), candidates: ["lora"]),
            CheckSpec(metric: "training.seconds", kind: .maximum(60), candidates: ["lora"]),
            CheckSpec(metric: "training.peak_rss_bytes", kind: .maximum(1e9), candidates: ["lora"]),
            CheckSpec(metric: "training.examples_per_s", kind: .minimum(100), candidates: ["lora"]),
        ])
        XCTAssertEqual(results.map(\.status), [.failed, .passed, .passed, .failed, .passed, .failed, .passed, .passed])
        // No interval: no CI part.
        XCTAssertEqual(results[0].message, "forgetting.similarity:lee.absolute_drop 0.031 > 0.02")
        XCTAssertNil(results[0].ciLow)
        XCTAssertEqual(results[1].value!, 0.03875, accuracy: 1e-12)
        // The gap at the kept epoch (1): 0.42 − 0.3, not at the last epoch.
        XCTAssertEqual(results[3].value!, 0.12, accuracy: 1e-12)
        XCTAssertEqual(results[3].message, "overfitting.loss_gap 0.120 > 0.1")
        XCTAssertEqual(results[5].message, "training.seconds 72.500 > 60")
        XCTAssertEqual(results[6].message, "training.peak_rss_bytes 812000000 <= 1000000000")
    }

    func testMissingDataIsAnError() {
        let results = evaluate([
            CheckSpec(metric: "forgetting.probe:wordnet.absolute_drop", kind: .maximum(0.02), candidates: ["lora"]),
            CheckSpec(metric: "forgetting.similarity:lee.absolute_drop", kind: .maximum(0.02), bound: .ciHigh,
                      candidates: ["lora"]),
        ])
        XCTAssertEqual(results.map(\.status), [.error, .error])
        XCTAssertEqual(results[0].message,
                       "candidate lora has no forgetting check \"probe:wordnet\" (it has: similarity:lee)")
        XCTAssertEqual(results[1].message,
                       "forgetting.similarity:lee.absolute_drop has no confidence interval, so ci_high cannot be checked")
        XCTAssertTrue(results.allSatisfy { !$0.passed && $0.value == nil })
    }

    func testUnknownMetricIsAnErrorListingTheValidNames() {
        let results = evaluate([CheckSpec(metric: "acuracy", kind: .minimum(0.8))])
        XCTAssertEqual(results.count, 3)
        for result in results {
            XCTAssertEqual(result.status, .error)
            XCTAssertFalse(result.passed)
            let message = try! XCTUnwrap(result.message)
            XCTAssertTrue(message.hasPrefix("unknown metric \"acuracy\"; valid metrics: accuracy, precision_macro"), message)
            XCTAssertTrue(message.contains("forgetting.<check name>.(absolute_drop|relative_drop|candidate)"), message)
            XCTAssertTrue(message.contains("training.peak_rss_bytes"), message)
        }
        XCTAssertTrue(Gate.isValidMetricName("forgetting.probe:a.b.relative_drop", labels: []))
        XCTAssertFalse(Gate.isValidMetricName("forgetting.similarity:lee.drop", labels: []))
        XCTAssertFalse(Gate.isValidMetricName("forgetting..absolute_drop", labels: []))
    }

    func testFailedCandidateIsAnErrorWithItsMessage() {
        var run = standardRun()
        run.candidates.append(Self.failedCandidate("qlora-nf4"))
        let results = evaluate([
            CheckSpec(metric: "accuracy", kind: .minimum(0.85), candidates: ["qlora-nf4"]),
            CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.01), candidates: ["qlora-nf4"]),
        ], run: run)
        XCTAssertEqual(results.map(\.status), [.error, .error])
        XCTAssertEqual(results.map(\.message), Array(repeating: "loss became NaN at epoch 2, step 14", count: 2))
        XCTAssertEqual(results.map(\.candidate), ["qlora-nf4", "qlora-nf4"])
    }

    func testCandidateFilterKeepsRunOrderAndReportsUnknownNames() {
        let results = evaluate([
            CheckSpec(metric: "accuracy", kind: .minimum(0.8), candidates: ["full", "lora"]),
            CheckSpec(metric: "accuracy", kind: .minimum(0.8), candidates: ["lora", "nonexistent"]),
        ])
        XCTAssertEqual(results.map(\.candidate), ["lora", "full", "lora", "nonexistent"])
        XCTAssertEqual(results.map(\.status), [.passed, .passed, .passed, .error])
        XCTAssertEqual(results[3].message,
                       "the run has no candidate named \"nonexistent\" (candidates: soft-prompt, lora, full)")
    }

    // MARK: Non-inferiority

    private func expectedDifference(_ candidate: [Prediction], _ reference: [Prediction], seed: UInt64 = 5,
                                    metric: ([Prediction]) -> Double) -> PairedDifference {
        PairedBootstrap.compare(
            count: candidate.count, resamples: 300, seed: seed,
            candidate: { indices in metric(indices.map { candidate[$0] }) },
            baseline: { indices in metric(indices.map { reference[$0] }) })
    }

    private static func accuracy(_ rows: [Prediction]) -> Double {
        Double(rows.count { $0.predicted == $0.label }) / Double(rows.count)
    }

    func testNonInferiorityAgainstThePromptCandidate() throws {
        let results = evaluate([CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.01))])
        // Every candidate but the reference itself, in run order.
        XCTAssertEqual(results.map(\.candidate), ["lora", "full"])
        XCTAssertEqual(results.map(\.name), Array(repeating: "accuracy non-inferior to prompt (margin 0.01)", count: 2))

        let lora = results[0]
        let expected = expectedDifference(loraPredictions, promptPredictions, metric: Self.accuracy)
        XCTAssertEqual(lora.status, .passed)
        XCTAssertTrue(lora.passed)
        XCTAssertEqual(lora.value!, 0.1, accuracy: 1e-12)
        XCTAssertEqual(lora.ciLow, expected.low)
        XCTAssertEqual(lora.ciHigh, expected.high)
        XCTAssertEqual(lora.threshold, 0.01)
        XCTAssertEqual(lora.message, String(format:
            "accuracy +0.100 vs prompt candidate soft-prompt (single runs on 400 paired examples, 95%% CI +%.3f to +%.3f; margin 0.01): non-inferior",
            expected.low, expected.high))

        let full = results[1]
        let worse = expectedDifference(fullPredictions, promptPredictions, metric: Self.accuracy)
        XCTAssertEqual(full.status, .failed)
        XCTAssertEqual(full.value!, -0.1, accuracy: 1e-12)
        XCTAssertEqual(full.ciLow, worse.low)
        XCTAssertEqual(full.message, String(format:
            "accuracy -0.100 vs prompt candidate soft-prompt (single runs on 400 paired examples, 95%% CI %.3f to %.3f; margin 0.01): "
                + "lower bound %.3f <= -0.010: worse by more than the margin",
            worse.low, worse.high, worse.low))
    }

    func testNonInferiorityOfALowerIsBetterMetric() {
        // full puts 0.8 on the wrong class 40 more times: its log loss is higher (worse).
        let results = evaluate([CheckSpec(metric: "log_loss", kind: .nonInferior(reference: "prompt", margin: 0.05))])
        XCTAssertEqual(results.map(\.status), [.passed, .failed])
        let full = results[1]
        XCTAssertEqual(full.value!, 0.1 * (log(0.8) - log(0.2)), accuracy: 1e-12)
        XCTAssertTrue(full.message!.contains("upper bound"), full.message!)
        XCTAssertTrue(full.message!.hasSuffix(">= +0.050: higher by more than the margin"), full.message!)
    }

    func testNonInferiorityMacroMetricsUseClassificationMetricsOnEachResample() {
        let results = evaluate([CheckSpec(metric: "f1_macro", kind: .nonInferior(reference: "prompt", margin: 0.01),
                                          candidates: ["lora"])])
        let expected = expectedDifference(loraPredictions, promptPredictions) { rows in
            ClassificationMetrics.compute(labels: rows.map(\.label), predicted: rows.map(\.predicted),
                                          probabilities: rows.map(\.probabilities), classCount: 2).macro.f1
        }
        XCTAssertEqual(results[0].value, expected.difference)
        XCTAssertEqual(results[0].ciLow, expected.low)
        XCTAssertEqual(results[0].ciHigh, expected.high)
    }

    func testBaselineComparisonIsSkippedWithoutABaselineRun() {
        let check = CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "baseline", margin: 0.01))
        let none = evaluate([check])
        XCTAssertEqual(none.map(\.candidate), ["soft-prompt", "lora", "full"])
        XCTAssertEqual(none.map(\.status), [.skipped, .skipped, .skipped])
        XCTAssertEqual(none.map(\.message), Array(repeating: "no baseline run yet", count: 3))
        XCTAssertTrue(none.allSatisfy { !$0.passed && $0.value == nil })

        let partial = evaluate([check], baseline: Self.run([Self.candidate("lora", method: "lora", predictions: loraPredictions)]))
        XCTAssertEqual(partial.map(\.status), [.skipped, .passed, .skipped])
        XCTAssertEqual(partial[0].message, "the baseline run has no candidate named soft-prompt")
    }

    func testNonInferiorityAgainstTheBaselineRunPairsExamplesById() throws {
        // The stored run predicted in another order and on a slightly different set: 10 ids it
        // lacks, 5 it has that this run lacks. Only the 390 common ids count.
        var stored = Array(loraPredictions.dropFirst(10).reversed())
        stored += (0..<5).map { Prediction(id: "old\($0)", label: 0, predicted: 1, probabilities: [0.3, 0.7]) }
        let baseline = Self.run([Self.candidate("full", method: "full", predictions: stored)])
        let results = evaluate([CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "baseline", margin: 0.02),
                                          candidates: ["full"])], baseline: baseline)
        XCTAssertEqual(results.count, 1)
        let result = results[0]

        let common = Array(fullPredictions.dropFirst(10))
        let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0) })
        let expected = expectedDifference(common, common.map { byID[$0.id]! }, metric: Self.accuracy)
        XCTAssertEqual(result.value, expected.difference)
        XCTAssertEqual(result.ciLow, expected.low)
        XCTAssertEqual(result.ciHigh, expected.high)
        XCTAssertEqual(result.status, .failed)
        XCTAssertTrue(result.message!.hasPrefix("accuracy -0.1"), result.message!)
        XCTAssertTrue(result.message!.contains("vs baseline run's full (single runs on 390 paired examples"), result.message!)

        // Against itself: no difference, non-inferior.
        let same = Self.run([Self.candidate("full", method: "full", predictions: fullPredictions.reversed())])
        let identical = evaluate([CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "baseline", margin: 0.0),
                                            candidates: ["full"])], baseline: same)
        XCTAssertEqual(identical[0].value, 0)
        XCTAssertEqual(identical[0].status, .failed)  // margin 0 is strict: the bound 0 is not above 0
        let tolerant = evaluate([CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "baseline", margin: 0.001),
                                           candidates: ["full"])], baseline: same)
        XCTAssertEqual(tolerant[0].status, .passed)
    }

    func testNonInferiorityOnAMetricWithoutExamplesUsesPointValues() {
        var run = standardRun()
        run.candidates[0].forgetting = [ForgettingCheck(name: "similarity:lee", measure: "spearman",
                                                        result: ForgettingReport(base: 0.8, candidate: 0.79))]
        let results = evaluate([CheckSpec(metric: "forgetting.similarity:lee.absolute_drop",
                                          kind: .nonInferior(reference: "prompt", margin: 0.01), candidates: ["lora"])],
                               run: run)
        // lora dropped 0.031, the prompt candidate 0.01: 0.021 more, beyond the margin 0.01.
        XCTAssertEqual(results[0].status, .failed)
        XCTAssertEqual(results[0].value!, 0.021, accuracy: 1e-12)
        XCTAssertEqual(results[0].message,
                       "forgetting.similarity:lee.absolute_drop +0.021 vs prompt candidate soft-prompt "
                       + "(point values, no per-example data; margin 0.01): upper bound +0.021 >= +0.010: "
                       + "higher by more than the margin")
    }

    func testNonInferiorityProblemsAreErrors() {
        var noPrompt = standardRun()
        noPrompt.candidates.removeFirst()
        let missing = evaluate([CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.01))],
                               run: noPrompt)
        XCTAssertEqual(missing.map(\.status), [.error, .error])
        XCTAssertEqual(missing[0].message, "the run has no prompt-tuned candidate (method prompt) to compare with")

        var disjoint = standardRun()
        disjoint.candidates[1].seedRuns[0].predictions = disjoint.candidates[1].seedRuns[0].predictions.map {
            Prediction(id: "other-" + $0.id, label: $0.label, predicted: $0.predicted, probabilities: $0.probabilities)
        }
        let noOverlap = evaluate([CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.01),
                                            candidates: ["lora"])], run: disjoint)
        XCTAssertEqual(noOverlap[0].status, .error)
        XCTAssertEqual(noOverlap[0].message, "lora and the reference soft-prompt have no test example ids in common")

        var promptFailed = standardRun()
        promptFailed.candidates[0] = Self.failedCandidate("soft-prompt")
        promptFailed.candidates[0].method = "prompt"
        let referenceFailed = evaluate([CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.01),
                                                  candidates: ["lora"])], run: promptFailed)
        XCTAssertEqual(referenceFailed[0].status, .error)
        XCTAssertEqual(referenceFailed[0].message,
                       "the prompt-tuned reference soft-prompt failed: loss became NaN at epoch 2, step 14")
    }

    // MARK: Order and verdict

    func testResultsFollowSuiteOrderThenCandidateOrder() {
        let results = evaluate([
            CheckSpec(metric: "f1_macro", kind: .minimum(0.8)),
            CheckSpec(metric: "accuracy", kind: .minimum(0.8)),
        ])
        XCTAssertEqual(results.map { "\($0.metric)/\($0.candidate)" }, [
            "f1_macro/soft-prompt", "f1_macro/lora", "f1_macro/full",
            "accuracy/soft-prompt", "accuracy/lora", "accuracy/full",
        ])
    }

    private func check(_ status: CheckResult.Status) -> CheckResult {
        CheckResult(candidate: "c", name: "n", metric: "accuracy", value: nil, threshold: 0, passed: status == .passed,
                    status: status)
    }

    func testVerdictRunErrorTakesPrecedenceOverFailure() {
        XCTAssertEqual(Gate.verdict([]), .passed)
        XCTAssertEqual(Gate.verdict([check(.passed), check(.skipped)]), .passed)
        XCTAssertEqual(Gate.verdict([check(.passed), check(.failed), check(.skipped)]), .failed)
        XCTAssertEqual(Gate.verdict([check(.failed), check(.error)]), .error)
        XCTAssertEqual(Gate.verdict([check(.error), check(.passed)]), .error)
        XCTAssertEqual([Verdict.passed, .failed, .error].map(\.exitCode), [0, 1, 3])

        // A failed candidate no check covers still makes the run an error.
        var run = standardRun()
        run.checks = [check(.passed)]
        XCTAssertEqual(Gate.verdict(for: run), .passed)
        run.candidates.append(Self.failedCandidate("qlora"))
        XCTAssertEqual(Gate.verdict(for: run), .error)
    }

    /// `--candidates lora`: checks on the candidates left out are skipped with the reason, not errors,
    /// so a partial run can pass; a candidate the suite never had is still an error.
    func testChecksOnCandidatesLeftOutBySelectionAreSkipped() {
        var run = Self.run([Self.candidate("lora", method: "lora", predictions: loraPredictions)])
        run.unselectedCandidates = ["full", "prompt"]
        let checks = [
            CheckSpec(metric: "accuracy", kind: .minimum(0.5), candidates: ["full", "lora", "typo"]),
            CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.05)),
        ]
        let results = Gate.evaluate(checks, result: run, baseline: nil, seed: 7)
        XCTAssertEqual(results.map(\.candidate), ["lora", "full", "typo", "lora"])
        XCTAssertEqual(results.map(\.status), [.passed, .skipped, .error, .skipped])
        XCTAssertEqual(results[1].message, "not run: --candidates left out full")
        XCTAssertEqual(results[3].message, "the prompt-tuned reference was not run (--candidates left out full, prompt)")
        XCTAssertEqual(Gate.verdict(results.filter { $0.candidate != "typo" }), .passed)
    }
}
