@testable import Evaluation
import Foundation
import XCTest

/// A generation task's metrics: exact match and token F1 equal to SQuAD v1.1's official script on
/// a committed fixture (scripts/fixtures/make_answer_matching_fixture.py), the answer loss as a
/// ratio over tokens, its interval's coverage by simulation, and the gate on them (thresholds,
/// intervals, non-inferiority against a baseline run paired by example id).
final class GenerationMetricsTests: XCTestCase {
    func testNormalisationExactMatchAndF1EqualTheSQuADScript() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/generation/answer_matching.json")
        let fixture = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 300)
        for (index, entry) in cases.enumerated() {
            let answer = entry["answer"] as! String, references = entry["references"] as! [String]
            XCTAssertEqual(AnswerMatching.normalize(answer), entry["normalized"] as? String, "case \(index): \(answer.debugDescription)")
            XCTAssertEqual(AnswerMatching.exactMatch(answer, references: references), entry["exact_match"] as? Double, "case \(index)")
            XCTAssertEqual(AnswerMatching.tokenF1(answer, references: references), entry["token_f1"] as! Double, accuracy: 1e-12, "case \(index)")
        }
    }

    static func answer(_ id: String, _ output: String, _ references: [String], loss: Double, tokens: Int) -> GeneratedAnswer {
        GeneratedAnswer(id: id, output: output, references: references, referenceLoss: loss, referenceTokens: tokens)
    }

    func testMetricsOfAnswers() {
        let rows = [Self.answer("a", "River", ["river"], loss: 2, tokens: 2),
                    Self.answer("b", "the big dog", ["dog"], loss: 9, tokens: 3),
                    Self.answer("c", "cat", ["feline", "cat"], loss: 1, tokens: 1)]
        let all = [0, 1, 2]
        XCTAssertEqual(GenerationMetric.exactMatch.value(of: rows, at: all), 2.0 / 3, accuracy: 1e-15)
        // "big dog" vs "dog": precision 1/2, recall 1 → F1 2/3.
        XCTAssertEqual(GenerationMetric.tokenF1.value(of: rows, at: all), (1 + 2.0 / 3 + 1) / 3, accuracy: 1e-15)
        // A ratio over tokens, not a mean of per-example ratios: 12 nats over 6 tokens.
        XCTAssertEqual(GenerationMetric.answerLoss.value(of: rows, at: all), 2, accuracy: 1e-15)
        XCTAssertEqual(GenerationMetric.perplexity.value(of: rows, at: all), exp(2), accuracy: 1e-12)
        XCTAssertEqual(GenerationMetric.answerLoss.value(of: rows, at: [1, 1]), 3, accuracy: 1e-15, "repeated indices count twice")
        // With one seed the stored value is the metric on all answers, inside its interval.
        let metrics = try! XCTUnwrap(GenerationMetrics.summarize([rows], resamples: 200, level: 0.95, seed: 3))
        XCTAssertEqual(metrics.exactMatch.value, 2.0 / 3, accuracy: 1e-15)
        XCTAssertEqual(metrics.perplexity.value, exp(2), accuracy: 1e-12)
        for metric in GenerationMetric.allCases {
            let value = metrics.value(metric)
            XCTAssertLessThanOrEqual(value.low, value.value + 1e-12, metric.rawValue)
            XCTAssertGreaterThanOrEqual(value.high, value.value - 1e-12, metric.rawValue)
        }
        // The perplexity interval is the loss interval through exp (a percentile interval of a monotone map).
        XCTAssertEqual(metrics.perplexity.low, exp(metrics.answerLoss.low), accuracy: 1e-9)
        XCTAssertEqual(metrics.perplexity.high, exp(metrics.answerLoss.high), accuracy: 1e-9)
    }

    /// The answer loss is a ratio estimator (summed nats over summed tokens): its percentile
    /// interval must still cover the true per-token loss about 95 % of the time when examples are
    /// drawn from a population whose ratio is known.
    func testAnswerLossIntervalCoversTheTruePerTokenLoss() {
        var generator = SplitMix64(seed: 29)
        func uniform() -> Double { Double(generator.next() >> 11) / Double(1 << 53) }
        // Population: answers of 1–6 tokens, each token's loss exponential with mean 2 (longer
        // answers have lower per-token loss, so the ratio differs from the mean of ratios).
        let trueLoss: Double = {
            var loss = 0.0, tokens = 0.0
            for length in 1...6 { loss += Double(length) * 2 / (1 + 0.2 * Double(length)); tokens += Double(length) }
            return loss / tokens
        }()
        let trials = 300
        var covered = 0
        for trial in 0..<trials {
            let rows = (0..<80).map { i -> GeneratedAnswer in
                let length = 1 + Int(uniform() * 6)
                let mean = 2 / (1 + 0.2 * Double(length))
                let loss = (0..<length).reduce(0.0) { sum, _ in sum - mean * log(1 - uniform()) }
                return Self.answer("e\(i)", "", ["x"], loss: loss, tokens: length)
            }
            let metrics = GenerationMetrics.summarize([rows], resamples: 400, level: 0.95, seed: UInt64(trial))!
            if metrics.answerLoss.low <= trueLoss && trueLoss <= metrics.answerLoss.high { covered += 1 }
        }
        let coverage = Double(covered) / Double(trials)
        // 300 trials: a true 95 % coverage lands in 0.92–0.98 with probability > 0.99; percentile
        // intervals of a ratio at n = 80 run slightly narrow, hence the lower bound.
        XCTAssertGreaterThan(coverage, 0.90, "coverage \(coverage)")
        XCTAssertLessThan(coverage, 0.99, "coverage \(coverage)")
    }

    static func candidate(_ name: String, seeds: [[GeneratedAnswer]]) -> CandidateResult {
        let runs = seeds.enumerated().map { offset, answers -> SeedRun in
            var run = SeedRun(seed: UInt64(offset), status: .ok)
            run.generations = answers
            return run
        }
        let summary = SeedAggregation.summarize(runs, labels: [], resamples: 400, level: 0.95, seed: 11)
        var candidate = CandidateResult(name: name, method: "lora", status: .ok, settings: [:], configHash: name,
                                        trainableParameters: 1, baseWeightBytes: 1, seedRuns: runs)
        candidate.generationMetrics = summary.generationMetrics
        return candidate
    }

    static func run(_ candidates: [CandidateResult]) -> RunResult {
        var run = PerClassMetricTests.run(candidates)
        run.labels = []
        run.taskType = "generation"
        return run
    }

    /// 100 answers, the first `correct` exactly right, the rest sharing no token with the reference.
    static func answers(correct: Int, idOffset: Int = 0) -> [GeneratedAnswer] {
        (0..<100).map { i in
            let id = "q\(i + idOffset)"
            return answer(id, i < correct ? "word\(i + idOffset)" : "nothing", ["word\(i + idOffset)"], loss: i < correct ? 1 : 4, tokens: 2)
        }
    }

    func testGateReadsGenerationMetrics() throws {
        let run = Self.run([Self.candidate("lora", seeds: [Self.answers(correct: 60)])])
        let checks = [CheckSpec(metric: "exact_match", kind: .minimum(0.5)),
                      CheckSpec(metric: "exact_match", kind: .minimum(0.5), bound: .ciLow),
                      CheckSpec(metric: "perplexity", kind: .maximum(5)),
                      CheckSpec(metric: "accuracy", kind: .minimum(0.5))]
        let results = Gate.evaluate(checks, result: run, baseline: nil, resamples: 400, seed: 5)
        XCTAssertEqual(results.map(\.status), [.passed, .passed, .passed, .error])
        XCTAssertEqual(results[0].value, 0.6)
        XCTAssertNotNil(results[1].pValue, "a ci_low check is a one-sided test with a p-value")
        // 60 × 1 + 40 × 4 nats over 200 tokens.
        XCTAssertEqual(try XCTUnwrap(results[2].value), exp(220.0 / 200), accuracy: 1e-12)
        XCTAssertTrue(results[3].message?.contains("valid metrics: exact_match, token_f1, answer_loss, perplexity") ?? false,
                      results[3].message ?? "")
        XCTAssertFalse(Gate.isValidMetricName("accuracy", labels: [], generation: true))
        XCTAssertTrue(Gate.isValidMetricName("token_f1", labels: [], generation: true))
        XCTAssertFalse(Gate.isValidMetricName("token_f1", labels: ["a", "b"]))
        XCTAssertEqual(["exact_match", "token_f1", "answer_loss", "perplexity"].map(Gate.higherIsBetter), [true, true, false, false])
        XCTAssertEqual(Gate.measurements(of: run.candidates[0], in: run).prefix(4).map(\.name), ["exact_match", "token_f1", "answer_loss", "perplexity"],
                       "the run history records a generation task's metrics")
    }

    /// Non-inferiority against a stored baseline pairs answers by id (the baseline's are in another
    /// order and include an extra example): the same answers are non-inferior, 20 fewer correct
    /// are not, and a classification baseline is skipped, not compared.
    func testNonInferiorityToABaselinePairsAnswersByID() throws {
        let answers = Self.answers(correct: 60)
        let current = Self.run([Self.candidate("lora", seeds: [answers])])
        let same = Self.run([Self.candidate("lora", seeds: [Array(answers.reversed()) + [Self.answer("extra", "x", ["y"], loss: 9, tokens: 1)]])])
        let better = Self.run([Self.candidate("lora", seeds: [Self.answers(correct: 80)])])
        let check = CheckSpec(metric: "exact_match", kind: .nonInferior(reference: "baseline", margin: 0.05))
        let unchanged = Gate.evaluate([check], result: current, baseline: same, resamples: 400, seed: 5)[0]
        XCTAssertEqual(unchanged.status, .passed, unchanged.message ?? "")
        XCTAssertEqual(unchanged.value, 0)
        XCTAssertTrue(unchanged.message?.contains("on 100 paired examples") ?? false, unchanged.message ?? "")
        let regressed = Gate.evaluate([check], result: current, baseline: better, resamples: 400, seed: 5)[0]
        XCTAssertEqual(regressed.status, .failed, regressed.message ?? "")
        XCTAssertEqual(try XCTUnwrap(regressed.value), -0.2, accuracy: 1e-12)
        // Perplexity is better when lower: a higher one than the baseline's by more than the margin fails.
        let perplexity = CheckSpec(metric: "perplexity", kind: .nonInferior(reference: "baseline", margin: 0.05))
        let worse = Gate.evaluate([perplexity], result: current, baseline: better, resamples: 400, seed: 5)[0]
        XCTAssertEqual(worse.status, .failed, worse.message ?? "")
        XCTAssertEqual(try XCTUnwrap(worse.value), exp(1.1) - exp(0.8), accuracy: 1e-12)
        XCTAssertEqual(Gate.evaluate([perplexity], result: better, baseline: current, resamples: 400, seed: 5)[0].status, .passed)
        let classification = PerClassMetricTests.run([PerClassMetricTests.candidate("lora", seeds: [PerClassMetricTests.predictions(found: 10, falseAlarms: 0)])])
        let skipped = Gate.evaluate([check], result: current, baseline: classification, resamples: 400, seed: 5)[0]
        XCTAssertEqual(skipped.status, .skipped, skipped.message ?? "")
        // The run's comparisons carry the four metrics' paired differences.
        let comparison = try XCTUnwrap(CandidateComparison.compare(current.candidates[0], with: better.candidates[0], against: "baseline-run",
                                                                   classCount: 0, generation: true, resamples: 400, seed: 5))
        XCTAssertEqual(Set(comparison.metrics.keys), ["exact_match", "token_f1", "answer_loss", "perplexity"])
        XCTAssertNil(comparison.accuracy, "McNemar is for classifications")
        XCTAssertEqual(try XCTUnwrap(comparison.metrics["exact_match"]).difference, -0.2, accuracy: 1e-12)
    }

    /// `evalharness calibrate` on a generation suite: each seed's exact match, their spread, and the
    /// margins the seed count can decide, as for a classification metric.
    func testCalibrationReadsGenerationMetrics() throws {
        let run = Self.run([Self.candidate("lora", seeds: [Self.answers(correct: 30), Self.answers(correct: 40), Self.answers(correct: 35)])])
        let calibration = Calibration.compute(run: run, metrics: ["exact_match", "accuracy"], resamples: 200, seed: 3)
        let entry = try XCTUnwrap(calibration.candidates.first?.metrics.first)
        XCTAssertEqual(calibration.candidates.first?.metrics.count, 1, "accuracy is not a metric of a generation run")
        XCTAssertEqual(entry.metric, "exact_match")
        XCTAssertEqual(entry.seedValues, [0.30, 0.40, 0.35])
        XCTAssertEqual(entry.seedSD, 0.05, accuracy: 1e-12)
        XCTAssertGreaterThan(entry.testSD, 0)
    }

    /// results.json round trip: answers, metrics and the task type survive encoding.
    func testGenerationResultsRoundTrip() throws {
        let run = Self.run([Self.candidate("lora", seeds: [Self.answers(correct: 30), Self.answers(correct: 40)])])
        let data = try JSONEncoder().encode(run)
        let decoded = try JSONDecoder().decode(RunResult.self, from: data)
        XCTAssertEqual(decoded, run)
        XCTAssertTrue(decoded.isGeneration)
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("\"generation_metrics\"") && text.contains("\"exact_match\"") && text.contains("\"task_type\":\"generation\""))
        // Two seeds: the value is their mean, with their spread.
        let exact = try XCTUnwrap(decoded.candidates[0].generationMetrics?.exactMatch)
        XCTAssertEqual(exact.value, 0.35, accuracy: 1e-12)
        XCTAssertEqual(exact.seeds?.count, 2)
    }
}
