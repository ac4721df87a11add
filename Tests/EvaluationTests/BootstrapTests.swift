@testable import Evaluation
import XCTest

final class BootstrapTests: XCTestCase {
    /// 500 examples, 400 of them correct (in a scattered order).
    private let correct: [Bool] = (0..<500).map { ($0 * 7) % 5 != 0 }

    private func accuracy(_ indices: [Int]) -> Double {
        Double(indices.count { correct[$0] }) / Double(indices.count)
    }

    func testSameSeedGivesTheSameIntervalAndADifferentSeedAnother() {
        let first = Bootstrap.confidenceInterval(count: correct.count, seed: 11, statistic: accuracy)
        let again = Bootstrap.confidenceInterval(count: correct.count, seed: 11, statistic: accuracy)
        let other = Bootstrap.confidenceInterval(count: correct.count, seed: 12, statistic: accuracy)
        XCTAssertEqual(first, again)
        XCTAssertEqual(other.value, first.value)
        XCTAssertNotEqual([other.low, other.high], [first.low, first.high])
    }

    func testIntervalContainsTheEstimateWithAPlausibleWidth() {
        let interval = Bootstrap.confidenceInterval(count: correct.count, seed: 2024, statistic: accuracy)
        XCTAssertEqual(interval.value, 0.8)
        XCTAssertLessThan(interval.low, interval.value)
        XCTAssertGreaterThan(interval.high, interval.value)
        // Normal approximation: ±1.96·√(0.8·0.2/500) ≈ ±0.035.
        XCTAssertEqual(interval.high - interval.low, 0.07, accuracy: 0.015)
    }

    func testResamplesAreTheSeededBoundedDraws() {
        var seen: [[Int]] = []
        _ = Bootstrap.confidenceInterval(count: 10, resamples: 2, seed: 42) { indices in
            seen.append(indices)
            return 0
        }
        var generator = SplitMix64(seed: 42)
        let expected = (0..<2).map { _ in (0..<10).map { _ in Int(generator.next(below: 10)) } }
        XCTAssertEqual(seen, [Array(0..<10)] + expected)
    }

    func testQuantileInterpolatesLikeNumpy() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 25, 97.5]) = [1.075, 1.75, 3.925]
        XCTAssertEqual(Bootstrap.quantile(sorted: [1, 2, 3, 4], 0.025), 1.075, accuracy: 1e-12)
        XCTAssertEqual(Bootstrap.quantile(sorted: [1, 2, 3, 4], 0.25), 1.75, accuracy: 1e-12)
        XCTAssertEqual(Bootstrap.quantile(sorted: [1, 2, 3, 4], 0.975), 3.925, accuracy: 1e-12)
        XCTAssertEqual(Bootstrap.quantile(sorted: [5], 0.975), 5)
    }

    func testHeadlineMetricsUseTheReportAndSharedResamples() throws {
        let reference = try XCTUnwrap(EvaluationFixtures.load().classification.first { $0.name == "three_class" })
        let headline = HeadlineMetrics.compute(
            labels: reference.labels, predicted: reference.predicted, probabilities: reference.probabilities,
            classCount: reference.class_count, resamples: 200, seed: 5)
        let report = ClassificationMetrics.compute(
            labels: reference.labels, predicted: reference.predicted, probabilities: reference.probabilities,
            classCount: reference.class_count)
        XCTAssertEqual(headline.accuracy.value, report.accuracy)
        XCTAssertEqual(headline.precisionMacro.value, report.macro.precision)
        XCTAssertEqual(headline.recallMacro.value, report.macro.recall)
        XCTAssertEqual(headline.f1Macro.value, report.macro.f1)
        XCTAssertEqual(headline.logLoss.value, report.logLoss)
        XCTAssertEqual(headline.expectedCalibrationError.value, report.expectedCalibrationError)
        for metric in [headline.accuracy, headline.precisionMacro, headline.recallMacro, headline.f1Macro, headline.logLoss] {
            XCTAssertLessThan(metric.low, metric.value)
            XCTAssertGreaterThan(metric.high, metric.value)
        }
        // The same seed alone gives the same interval for one statistic.
        let accuracyAlone = Bootstrap.confidenceInterval(count: reference.labels.count, resamples: 200, seed: 5) { indices in
            Double(indices.count { reference.labels[$0] == reference.predicted[$0] }) / Double(indices.count)
        }
        XCTAssertEqual(accuracyAlone, headline.accuracy)

        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(headline)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["accuracy", "precision_macro", "recall_macro", "f1_macro", "log_loss", "ece"])
        XCTAssertEqual(Set(try XCTUnwrap(object["ece"] as? [String: Any]).keys), ["value", "ci_low", "ci_high"])
    }
}
