@testable import Evaluation
import XCTest

/// Per-class precision, recall and F1: named in checks as `recall[grain]`, bootstrapped on the same
/// resamples as the headline metrics, gated with intervals and paired differences.
final class PerClassMetricTests: XCTestCase {
    static let labels = ["other", "grain"]

    /// 200 examples, 20 of them "grain" (rare): the first `found` of those are predicted grain, and
    /// `falseAlarms` of the "other" examples are predicted grain too.
    static func predictions(found: Int, falseAlarms: Int) -> [Prediction] {
        (0..<200).map { i in
            let label = i < 20 ? 1 : 0
            let predicted = label == 1 ? (i < found ? 1 : 0) : (i - 20 < falseAlarms ? 1 : 0)
            let p = predicted == 1 ? 0.8 : 0.2
            return Prediction(id: "e\(i)", label: label, predicted: predicted, probabilities: [1 - p, p])
        }
    }

    static func candidate(_ name: String, seeds: [[Prediction]]) -> CandidateResult {
        let runs = seeds.enumerated().map { SeedRun(seed: UInt64($0.offset), status: .ok, predictions: $0.element) }
        let summary = SeedAggregation.summarize(runs, labels: labels, resamples: 400, level: 0.95, seed: 11)
        var candidate = CandidateResult(name: name, method: "lora", status: .ok, settings: [:], configHash: name,
                                        trainableParameters: 1, baseWeightBytes: 1, metrics: summary.metrics,
                                        report: summary.report, seedRuns: runs)
        candidate.perClassMetrics = summary.perClassMetrics
        return candidate
    }

    static func run(_ candidates: [CandidateResult]) -> RunResult {
        RunResult(
            suite: SuiteIdentity(name: "rare", path: "rare.yaml", contentSHA256: "x"),
            model: ModelIdentity(path: "m", sha256: "y", parameters: 1), data: [],
            environment: EnvironmentInfo(cpu: "test", threads: 2, blasCore: "Haswell", operatingSystem: "Linux", evalharnessVersion: "0"),
            startedAt: "2026-01-01T00:00:00Z", durationSeconds: 1, seed: 11, labels: labels, candidates: candidates, checks: [])
    }

    func testNamesParseAgainstTheLabels() {
        XCTAssertEqual(try PredictionMetric.named("recall[grain]", labels: Self.labels).get(), PredictionMetric(.recall, classIndex: 1))
        XCTAssertEqual(try PredictionMetric.named("accuracy", labels: Self.labels).get(), PredictionMetric(.accuracy))
        XCTAssertEqual(PredictionMetric.named("recall[gran]", labels: Self.labels), .failure(.unknownLabel("gran")))
        XCTAssertEqual(PredictionMetric.named("accuracy[grain]", labels: Self.labels), .failure(.notPerClass("accuracy")))
        XCTAssertEqual(PredictionMetric.named("recall", labels: Self.labels), .failure(.notAPredictionMetric), "recall needs a class")
        XCTAssertEqual(PredictionMetric.named("forgetting.x.absolute_drop", labels: Self.labels), .failure(.notAPredictionMetric))
        XCTAssertEqual(PredictionMetric(.f1, classIndex: 1).name(labels: Self.labels), "f1[grain]")
        // A label with brackets or spaces is taken verbatim between the outer brackets.
        XCTAssertEqual(try PredictionMetric.named("precision[a [b] c]", labels: ["x", "a [b] c"]).get(), PredictionMetric(.precision, classIndex: 1))
    }

    /// With one seed the per-class values are that seed's report's, each inside its interval; adding
    /// the per-class metrics to the bootstrap leaves the headline intervals exactly as they were.
    func testPerClassValuesAreTheReportsWithIntervalsOnTheHeadlineResamples() throws {
        let rows = Self.predictions(found: 12, falseAlarms: 6)
        let candidate = Self.candidate("lora", seeds: [rows])
        let report = ClassificationMetrics.compute(labels: rows.map(\.label), predicted: rows.map(\.predicted),
                                                   probabilities: rows.map(\.probabilities), classCount: 2)
        let grain = try XCTUnwrap(candidate.perClassMetrics?[1])
        XCTAssertEqual(grain.label, "grain")
        XCTAssertEqual(grain.support, 20)
        XCTAssertEqual(grain.predicted, 18)
        XCTAssertEqual(grain.recall.value, report.perClass[1].recall)       // 12 / 20
        XCTAssertEqual(grain.precision.value, report.perClass[1].precision) // 12 / 18
        XCTAssertEqual(grain.f1.value, report.perClass[1].f1)
        for value in [grain.precision, grain.recall, grain.f1] {
            XCTAssertLessThan(value.low, value.value)
            XCTAssertGreaterThan(value.high, value.value)
        }
        let headlineOnly = SeedAggregation.headlineMetrics([rows], classCount: 2, resamples: 400, level: 0.95, seed: 11)
        XCTAssertEqual(candidate.metrics, headlineOnly)
    }

    func testChecksOnARareClassUseItsInterval() throws {
        let run = Self.run([Self.candidate("lora", seeds: [Self.predictions(found: 12, falseAlarms: 6)])])
        let checks = [
            CheckSpec(metric: "recall[grain]", kind: .minimum(0.5)),
            CheckSpec(metric: "recall[grain]", kind: .minimum(0.5), bound: .ciLow),
            CheckSpec(metric: "precision[other]", kind: .minimum(0.9)),
            CheckSpec(metric: "recall[wheat]", kind: .minimum(0.5)),
        ]
        let results = Gate.evaluate(checks, result: run, baseline: nil, resamples: 400, seed: 11)
        XCTAssertEqual(results.map(\.status), [.passed, .failed, .passed, .error])
        XCTAssertTrue(results[1].message!.hasPrefix("ci_low(recall[grain]) "), results[1].message!)
        XCTAssertTrue(results[1].message!.contains("recall[grain] 0.600"), results[1].message!)
        XCTAssertNotNil(results[1].pValue, "a ci_low check has a bootstrap p-value")
        XCTAssertTrue(results[3].message!.contains("unknown metric \"recall[wheat]\""), results[3].message!)
    }

    /// A pull request that misses more of the rare class fails non-inferiority on its recall while
    /// accuracy alone would pass the same margin.
    func testNonInferiorityOnAClassCatchesWhatAccuracyHides() {
        let baseline = Self.run([Self.candidate("lora", seeds: [Self.predictions(found: 16, falseAlarms: 4)])])
        let pullRequest = Self.run([Self.candidate("lora", seeds: [Self.predictions(found: 10, falseAlarms: 0)])])
        let checks = [CheckSpec(metric: "recall[grain]", kind: .nonInferior(reference: "baseline", margin: 0.1)),
                      CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "baseline", margin: 0.05))]
        let results = Gate.evaluate(checks, result: pullRequest, baseline: baseline, resamples: 400, seed: 11)
        XCTAssertEqual(results.map(\.status), [.failed, .passed])
        XCTAssertEqual(results[0].value!, -0.3, accuracy: 1e-12)
        XCTAssertTrue(results[0].message!.hasPrefix("recall[grain] -0.300 vs baseline run's lora"), results[0].message!)
    }

    func testResultsWithoutPerClassMetricsSayWhy() {
        var candidate = Self.candidate("lora", seeds: [Self.predictions(found: 12, falseAlarms: 6)])
        candidate.perClassMetrics = nil
        let results = Gate.evaluate([CheckSpec(metric: "f1[grain]", kind: .minimum(0.5))], result: Self.run([candidate]),
                                    baseline: nil, seed: 11)
        XCTAssertEqual(results[0].status, .error)
        XCTAssertTrue(results[0].message!.contains("has no per-class metrics"), results[0].message!)
    }

    /// Comparisons record the non-inferiority decision for every metric a check gives a margin to
    /// (results.json `comparisons[].non_inferiority`; it was always empty).
    func testComparisonsCarryNonInferiorityDecisions() throws {
        let reference = Self.candidate("prompt", seeds: [Self.predictions(found: 10, falseAlarms: 10)])
        let lora = Self.candidate("lora", seeds: [Self.predictions(found: 16, falseAlarms: 2)])
        let comparison = try XCTUnwrap(CandidateComparison.compare(
            lora, with: reference, against: "prompt-baseline", classCount: 2, margins: ["accuracy": 0.02, "log_loss": 0.1],
            resamples: 400, seed: 11))
        XCTAssertEqual(Set(comparison.nonInferiority.keys), ["accuracy", "log_loss"])
        XCTAssertEqual(comparison.nonInferiority["accuracy"]?.nonInferior, true)
        XCTAssertEqual(comparison.nonInferiority["accuracy"]?.margin, 0.02)
        XCTAssertEqual(comparison.nonInferiority["log_loss"]?.higherIsBetter, false)
        XCTAssertEqual(comparison.metrics.count, 6, "every headline metric is still compared")

        // A margin on a class's metric or on a ranking metric is compared and decided too.
        let perClass = try XCTUnwrap(CandidateComparison.compare(
            lora, with: reference, against: "prompt-baseline", classCount: 2, margins: ["recall[grain]": 0.05, "pr_auc": 0.1],
            labels: ["other", "grain"], positiveClass: 1, resamples: 400, seed: 11))
        XCTAssertEqual(perClass.metrics.count, 8)
        XCTAssertEqual(Set(perClass.nonInferiority.keys), ["recall[grain]", "pr_auc"])
        XCTAssertEqual(perClass.metrics["recall[grain]"]?.difference ?? 0, 16.0 / 20 - 10.0 / 20, accuracy: 1e-12)
        XCTAssertEqual(perClass.nonInferiority["recall[grain]"]?.nonInferior, true, "16 of the grain examples found against 10")
    }
}
