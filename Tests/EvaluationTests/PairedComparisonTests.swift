@testable import Evaluation
import XCTest

final class PairedComparisonTests: XCTestCase {
    func testMcNemarExactPValuesMatchStatsmodels() throws {
        let cases = try EvaluationFixtures.load().mcnemar
        XCTAssert(cases.contains { $0.b == 0 && $0.c == 0 } && cases.contains { $0.b == 1000 && $0.c == 1100 })
        for reference in cases {
            assertClose(McNemar.exactPValue(b: reference.b, c: reference.c), reference.p_value, "b \(reference.b) c \(reference.c)")
        }
    }

    func testMcNemarIsSymmetricAndHandlesLargeCounts() {
        XCTAssertEqual(McNemar.exactPValue(b: 41, c: 30), McNemar.exactPValue(b: 30, c: 41))
        XCTAssertEqual(McNemar.exactPValue(b: 2500, c: 2500), 1)
        let tiny = McNemar.exactPValue(b: 0, c: 5000)  // 2 · 2⁻⁵⁰⁰⁰ underflows
        XCTAssertEqual(tiny, 0)
        XCTAssertEqual(McNemar.exactPValue(b: 0, c: 1000), 2 * pow(0.5, 1000), accuracy: 1e-310)
    }

    func testMcNemarFromCorrectness() throws {
        // b = 3 (candidate only), c = 1 (baseline only), 10 examples.
        let candidate = [true, true, true, false, true, true, false, false, true, true]
        let baseline = [false, false, false, true, true, true, false, false, true, true]
        let result = McNemar.test(candidateCorrect: candidate, baselineCorrect: baseline)
        XCTAssertEqual(result.candidateOnlyCorrect, 3)
        XCTAssertEqual(result.baselineOnlyCorrect, 1)
        XCTAssertEqual(result.accuracyDifference, 0.2, accuracy: 1e-15)
        XCTAssertEqual(result.pValue, 0.625, accuracy: 1e-15)  // 2 · (1 + 4) / 16
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["example_count", "b", "c", "accuracy_difference", "p_value"])
    }

    private let baselineCorrect: [Bool] = (0..<400).map { ($0 * 13) % 10 < 7 }  // 70 %

    private func accuracy(_ correct: [Bool]) -> ([Int]) -> Double {
        { indices in Double(indices.count { correct[$0] }) / Double(indices.count) }
    }

    func testIdenticalCandidatesDifferByExactlyZero() {
        let comparison = PairedBootstrap.compare(
            count: baselineCorrect.count, seed: 3,
            candidate: accuracy(baselineCorrect), baseline: accuracy(baselineCorrect))
        XCTAssertEqual(comparison.difference, 0)
        XCTAssertEqual(comparison.low, 0)
        XCTAssertEqual(comparison.high, 0)
        XCTAssertEqual(comparison.pValue, 1)
    }

    func testClearlyBetterCandidateIsSignificant() {
        // The candidate also gets right 40 of the examples the baseline misses: +10 points.
        var candidateCorrect = baselineCorrect
        for index in candidateCorrect.indices.filter({ !candidateCorrect[$0] }).prefix(40) {
            candidateCorrect[index] = true
        }
        let comparison = PairedBootstrap.compare(
            count: baselineCorrect.count, seed: 3,
            candidate: accuracy(candidateCorrect), baseline: accuracy(baselineCorrect))
        XCTAssertEqual(comparison.difference, 0.1, accuracy: 1e-12)
        XCTAssertGreaterThan(comparison.low, 0)
        XCTAssertGreaterThan(comparison.high, comparison.difference)
        XCTAssertEqual(comparison.pValue, 0)
        XCTAssertEqual(comparison, PairedBootstrap.compare(
            count: baselineCorrect.count, seed: 3,
            candidate: accuracy(candidateCorrect), baseline: accuracy(baselineCorrect)))
        XCTAssertLessThan(McNemar.test(candidateCorrect: candidateCorrect, baselineCorrect: baselineCorrect).pValue, 1e-9)
    }

    func testSmallDifferenceHasALargePValue() {
        var candidateCorrect = baselineCorrect
        candidateCorrect[candidateCorrect.firstIndex(of: false)!] = true  // +1 example of 400
        let comparison = PairedBootstrap.compare(
            count: baselineCorrect.count, seed: 8,
            candidate: accuracy(candidateCorrect), baseline: accuracy(baselineCorrect))
        XCTAssertEqual(comparison.difference, 0.0025, accuracy: 1e-12)
        XCTAssertEqual(comparison.low, 0)  // most resamples miss nothing, or see the one example
        XCTAssertGreaterThan(comparison.pValue, 0.05)
    }

    private func difference(low: Double, high: Double) -> PairedDifference {
        PairedDifference(candidate: 0, baseline: 0, difference: (low + high) / 2, low: low, high: high,
                         pValue: 0.5, level: 0.95, resamples: 1000)
    }

    func testNonInferiorityComparesTheRightBoundWithTheMargin() {
        // Higher is better: lower bound of (candidate − baseline) > −margin.
        XCTAssertTrue(NonInferiority.decide(difference(low: -0.015, high: 0.01), margin: 0.02).nonInferior)
        XCTAssertFalse(NonInferiority.decide(difference(low: -0.025, high: 0.01), margin: 0.02).nonInferior)
        XCTAssertFalse(NonInferiority.decide(difference(low: -0.02, high: 0.01), margin: 0.02).nonInferior)  // strict
        XCTAssertTrue(NonInferiority.decide(difference(low: 0.01, high: 0.03), margin: 0).nonInferior)
        // Lower is better (a loss): upper bound < +margin.
        let loss = NonInferiority.decide(difference(low: -0.05, high: 0.015), margin: 0.02, higherIsBetter: false)
        XCTAssertTrue(loss.nonInferior)
        XCTAssertEqual(loss.bound, 0.015)
        XCTAssertFalse(NonInferiority.decide(difference(low: 0.0, high: 0.03), margin: 0.02, higherIsBetter: false).nonInferior)
    }

    func testNonInferiorityFromABootstrap() {
        let comparison = PairedBootstrap.compare(
            count: 50, resamples: 100, seed: 1, candidate: { _ in 0.79 }, baseline: { _ in 0.80 })
        XCTAssertEqual(comparison.low, -0.01, accuracy: 1e-12)
        XCTAssertEqual(comparison.pValue, 0)
        XCTAssertTrue(NonInferiority.decide(comparison, margin: 0.02).nonInferior)
        XCTAssertFalse(NonInferiority.decide(comparison, margin: 0.005).nonInferior)
    }
}
