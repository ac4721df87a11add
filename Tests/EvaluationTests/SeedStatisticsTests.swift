@testable import Evaluation
import Foundation
import XCTest

/// The seed-aware statistics: the two-level bootstrap's coverage where the truth is known, its
/// agreement with the one-level bootstrap for one seed, Holm's procedure on a hand-computed case,
/// the calibration's arithmetic, and reading version-1 results.
final class SeedStatisticsTests: XCTestCase {
    /// A crossed seed × example simulation: score(s, i) = a_s + b_i + e_si with a_s ~ N(0, σa²) the
    /// training-seed effect, b_i ~ N(0, σb²) the example's difficulty and e_si ~ N(0, σe²) their
    /// interaction. The true mean over seeds and examples is 0. Returns the fraction of intervals
    /// (level 0.95) that contain it.
    func coverage(seeds: Int, examples: Int, seedSD: Double, exampleSD: Double, interactionSD: Double,
                  runs: Int, resamples: Int) -> Double {
        var normal = SplitMix64(seed: 20_261_129)
        var covered = 0
        for run in 0..<runs {
            let a = (0..<seeds).map { _ in seedSD * normal.nextGaussian() }
            let b = (0..<examples).map { _ in exampleSD * normal.nextGaussian() }
            let scores = a.map { a in b.map { a + $0 + interactionSD * normal.nextGaussian() } }
            let distribution = TwoLevelBootstrap.distributions(
                seedCount: seeds, exampleCount: examples, resamples: resamples, seed: UInt64(run)
            ) { s, indices in [indices.reduce(0) { $0 + scores[s][$1] } / Double(indices.count)] }[0]
            let (low, high) = distribution.interval(level: 0.95)
            if low <= 0 && 0 <= high { covered += 1 }
        }
        return Double(covered) / Double(runs)
    }

    /// The default suite's LoRA candidate measured a seed sd of 0.015 and a test-sampling sd of about
    /// 0.0125; here with 5 seeds on 200 examples (σb = 0.177 gives the same test-sampling sd).
    func testTwoLevelIntervalCoversTheMeanOverSeedsAndExamples() {
        let rate = coverage(seeds: 5, examples: 200, seedSD: 0.015, exampleSD: 0.177, interactionSD: 0.1,
                            runs: 1000, resamples: 400)
        print("two-level bootstrap coverage, 5 seeds, 1000 simulated runs: \(rate)")
        XCTAssertEqual(rate, 0.95, accuracy: 0.02)
    }

    /// Why one seed is not enough: the interval covers test sampling only, and misses the truth far
    /// more often than 5 % when training variance is as large as the test-sampling variance.
    func testOneSeedIntervalIgnoresTrainingVariance() {
        let rate = coverage(seeds: 1, examples: 200, seedSD: 0.015, exampleSD: 0.177, interactionSD: 0.1,
                            runs: 1000, resamples: 400)
        print("one-seed bootstrap coverage, 1000 simulated runs: \(rate)")
        XCTAssertLessThan(rate, 0.88)
    }

    func testOneSeedIsTheOneLevelBootstrap() {
        let values = (0..<150).map { Double(($0 * 37) % 11) / 10 }
        let one = TwoLevelBootstrap.distributions(seedCount: 1, exampleCount: 150, resamples: 300, seed: 9) { _, indices in
            [indices.reduce(0) { $0 + values[$1] } / Double(indices.count)]
        }[0].metricValue(level: 0.95)
        let reference = Bootstrap.confidenceInterval(count: 150, resamples: 300, level: 0.95, seed: 9) { indices in
            indices.reduce(0) { $0 + values[$1] } / Double(indices.count)
        }
        XCTAssertEqual(one, reference)

        let other = values.map { 1 - $0 }
        let paired = TwoLevelBootstrap.difference(
            candidateSeeds: 1, referenceSeeds: 1, exampleCount: 150, resamples: 300, seed: 9,
            candidate: { _, indices in indices.reduce(0) { $0 + values[$1] } / Double(indices.count) },
            reference: { _, indices in indices.reduce(0) { $0 + other[$1] } / Double(indices.count) })
        let onePaired = PairedBootstrap.compare(
            count: 150, resamples: 300, level: 0.95, seed: 9,
            candidate: { indices in indices.reduce(0) { $0 + values[$1] } / Double(indices.count) },
            baseline: { indices in indices.reduce(0) { $0 + other[$1] } / Double(indices.count) })
        XCTAssertEqual(paired.point, onePaired.difference, accuracy: 1e-12)
        XCTAssertEqual(paired.interval(level: 0.95).low, onePaired.low)
        XCTAssertEqual(paired.interval(level: 0.95).high, onePaired.high)
    }

    /// Seeds that differ by a constant: the interval of the seed-mean moves with the seed spread,
    /// and the spread is reported.
    func testSeedMeanAndSpread() {
        let offsets = [0.0, 0.02, 0.04]
        let values = (0..<100).map { Double($0 % 2) * 0.5 + 0.25 }
        let distribution = TwoLevelBootstrap.distributions(seedCount: 3, exampleCount: 100, resamples: 500, seed: 3) { s, indices in
            [indices.reduce(0) { $0 + values[$1] } / Double(indices.count) + offsets[s]]
        }[0]
        XCTAssertEqual(distribution.point, 0.5 + 0.02, accuracy: 1e-12)
        let spread = SeedSpread([0.5, 0.52, 0.54])
        XCTAssertEqual(spread.sd, 0.02, accuracy: 1e-12)
        XCTAssertEqual(spread.min, 0.5)
        XCTAssertEqual(spread.max, 0.54)
        XCTAssertEqual(SeedSpread([0.7]).sd, 0)
    }

    /// Holm (1979) at one-sided level 0.025 over four checks with p = 0.01, 0.004, 0.03, 0.006:
    /// sorted 0.004 ≤ 0.025/4 = 0.00625 passes, 0.006 ≤ 0.025/3 = 0.00833 passes, 0.01 > 0.025/2 =
    /// 0.0125? no — 0.01 ≤ 0.0125 passes, 0.03 > 0.025 fails. A check without a p-value and a skipped
    /// one are left alone.
    func testHolmStepDownOnAHandComputedCase() {
        func check(_ name: String, p: Double?, status: CheckResult.Status = .passed) -> CheckResult {
            var result = CheckResult(candidate: name, name: "accuracy non-inferior to baseline (margin 0.01)", metric: "accuracy",
                                     value: 0, threshold: 0.01, passed: status == .passed, status: status, message: "m")
            result.pValue = p
            return result
        }
        var results = [check("a", p: 0.01), check("b", p: 0.004), check("c", p: 0.03), check("d", p: 0.006),
                       check("plain", p: nil), check("skipped", p: 0.001, status: .skipped)]
        MultipleTesting.applyHolm(to: &results, level: 0.025)
        XCTAssertEqual(results.map(\.status), [.passed, .passed, .failed, .passed, .passed, .skipped])
        XCTAssertEqual(results[1].adjustedLevel!, 0.025 / 4, accuracy: 1e-15)
        XCTAssertEqual(results[3].adjustedLevel!, 0.025 / 3, accuracy: 1e-15)
        XCTAssertEqual(results[0].adjustedLevel!, 0.025 / 2, accuracy: 1e-15)
        XCTAssertEqual(results[2].adjustedLevel!, 0.025, accuracy: 1e-15)
        XCTAssertNil(results[4].adjustedLevel)
        XCTAssertNil(results[5].adjustedLevel)
        XCTAssertEqual(results[2].message, "m; Holm-adjusted one-sided level 0.025 (rank 4 of 4, p 0.03): passes unadjusted, fails after the correction")

        // Step-down stops at the first failure: a later, smaller-looking threshold cannot pass.
        var stop = [check("a", p: 0.007), check("b", p: 0.0071)]
        MultipleTesting.applyHolm(to: &stop, level: 0.025 / 2)  // thresholds 0.00625, 0.0125
        XCTAssertEqual(stop.map(\.status), [.failed, .failed])
    }

    func testCalibrationArithmetic() {
        XCTAssertEqual(Calibration.normalQuantile(0.975), 1.959963984540054, accuracy: 1e-9)
        XCTAssertEqual(Calibration.normalQuantile(0.95), 1.6448536269514722, accuracy: 1e-9)
        XCTAssertEqual(Calibration.normalQuantile(0.8), 0.8416212335729143, accuracy: 1e-9)
        let metric = CalibrationResult.Metric(
            metric: "accuracy", seedValues: [0.8, 0.82], seedSD: 0.014, testSD: 0.012, exampleVariance: 0,
            rows: (1...4).map { CalibrationResult.Row(seeds: $0, margin: 0.04 / Double($0).squareRoot(), detectableRegression: 0) })
        XCTAssertEqual(metric.seedsNeeded(forMargin: 0.03), 2)
        XCTAssertEqual(metric.seedsNeeded(forMargin: 0.02), 4)
        XCTAssertEqual(metric.seedsNeeded(forMargin: 0.01), 16)  // past the table: (0.04 / 0.01)²
    }

    /// A version-1 results.json (one run per candidate, predictions on the candidate) reads as
    /// version 2 with one seed run carrying the run's seed; an unknown version is refused.
    func testVersionOneResultsReadAsOneSeed() throws {
        let v1 = """
        {"schema_version": 1, "suite": {"name": "s", "path": "s.yaml", "content_sha256": "x"},
         "model": {"path": "m", "sha256": "y", "parameters": 1}, "data": [],
         "environment": {"cpu": "c", "threads": 2, "blas_core": "Haswell", "os": "Linux", "evalharness_version": "0.1.0"},
         "started_at": "2026-01-01T00:00:00Z", "duration_s": 1, "seed": 42, "labels": ["a", "b"],
         "candidates": [{"name": "lora", "method": "lora", "status": "ok", "settings": {}, "config_hash": "h",
           "trainable_parameters": 1, "base_weight_bytes": 1, "forgetting": [], "comparisons": [],
           "predictions": [{"id": "e1", "label": 0, "predicted": 0, "probabilities": [0.9, 0.1]}]}],
         "checks": []}
        """
        let run = try JSONDecoder().decode(RunResult.self, from: Data(v1.utf8))
        XCTAssertEqual(run.schemaVersion, 2)
        XCTAssertEqual(run.candidates[0].seedRuns.count, 1)
        XCTAssertEqual(run.candidates[0].seedRuns[0].seed, 42)
        XCTAssertEqual(run.candidates[0].seedRuns[0].predictions.map(\.id), ["e1"])

        // Written back, it is version 2 and reads the same.
        let again = try JSONDecoder().decode(RunResult.self, from: try JSONEncoder().encode(run))
        XCTAssertEqual(again, run)

        let v3 = v1.replacingOccurrences(of: "\"schema_version\": 1", with: "\"schema_version\": 3")
        XCTAssertThrowsError(try JSONDecoder().decode(RunResult.self, from: Data(v3.utf8))) { error in
            XCTAssertTrue("\(error)".contains("schema_version 3 is not supported"), "\(error)")
        }
    }
}
