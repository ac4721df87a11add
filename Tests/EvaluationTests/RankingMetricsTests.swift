import Evaluation
import Foundation
import XCTest

/// ROC-AUC, PR-AUC (average precision) and the best-F1 threshold against scikit-learn
/// (Tests/Fixtures/evaluation/imbalance.json, from scripts/fixtures/make_imbalance_fixture.py).
final class RankingMetricsTests: XCTestCase {
    struct Fixture: Decodable {
        struct Ranking: Decodable {
            let name: String
            let labels: [Int]
            let scores: [Double]
            let roc_auc: Double
            let average_precision: Double
            let best_f1_threshold: Double
            let best_f1: Double
        }
        let ranking: [Ranking]
    }

    static func fixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/evaluation/imbalance.json")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testEveryCaseMatchesScikitLearn() throws {
        let cases = try Self.fixture().ranking
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for c in cases {
            let positive = c.labels.map { $0 == 1 }
            XCTAssertEqual(RankingMetrics.rocAUC(isPositive: positive, scores: c.scores), c.roc_auc, accuracy: 1e-12, c.name)
            XCTAssertEqual(RankingMetrics.averagePrecision(isPositive: positive, scores: c.scores), c.average_precision,
                           accuracy: 1e-12, c.name)
            let best = try XCTUnwrap(RankingMetrics.bestF1Threshold(isPositive: positive, scores: c.scores), c.name)
            XCTAssertEqual(best.threshold, c.best_f1_threshold, c.name)
            XCTAssertEqual(best.f1, c.best_f1, accuracy: 1e-12, c.name)
        }
    }

    func testFixtureCoversTiesRarityAndTheExtremes() throws {
        let byName = Dictionary(uniqueKeysWithValues: try Self.fixture().ranking.map { ($0.name, $0) })
        XCTAssertEqual(byName["perfectly_separable"]?.roc_auc, 1)
        XCTAssertEqual(byName["all_reversed"]?.roc_auc, 0)
        XCTAssertEqual(byName["all_scores_tied"]?.roc_auc, 0.5)
        let rare = try XCTUnwrap(byName["rare_positives_5pct"])
        XCTAssertLessThan(Double(rare.labels.reduce(0, +)) / Double(rare.labels.count), 0.06)
        XCTAssertLessThan(Set(try XCTUnwrap(byName["ties_one_decimal"]).scores).count, 12, "scores tie")
    }

    /// A bootstrap resample of a rare class can hold one class only: the metrics stay defined.
    func testOneClassSamplesHaveDefinedValues() {
        XCTAssertEqual(RankingMetrics.rocAUC(isPositive: [true, true], scores: [0.2, 0.9]), 0.5)
        XCTAssertEqual(RankingMetrics.rocAUC(isPositive: [false, false], scores: [0.2, 0.9]), 0.5)
        XCTAssertEqual(RankingMetrics.averagePrecision(isPositive: [false, false], scores: [0.2, 0.9]), 0)
        XCTAssertNil(RankingMetrics.bestF1Threshold(isPositive: [false], scores: [0.3]))
    }

    /// The ranking metrics go through the same seed-level bootstrap as every other metric.
    func testPositiveClassMetricsAreSummarisedOverSeeds() throws {
        let c = try XCTUnwrap(try Self.fixture().ranking.first { $0.name == "imbalanced_20pct" })
        func run(_ seed: UInt64, threshold: Double?) -> SeedRun {
            var run = SeedRun(seed: seed, status: .ok)
            run.predictions = c.labels.indices.map { i in
                let p = c.scores[i]
                return Prediction(id: "e\(i)", label: c.labels[i], predicted: p >= 0.5 ? 1 : 0, probabilities: [1 - p, p])
            }
            run.threshold = threshold.map { ChosenThreshold(value: $0, validationF1: 0.5) }
            return run
        }
        let summary = SeedAggregation.summarize([run(1, threshold: 0.3), run(2, threshold: 0.5)], labels: ["other", "rare"],
                                                positiveClass: 1, resamples: 200, level: 0.95, seed: 7)
        let positive = try XCTUnwrap(summary.positiveClass)
        XCTAssertEqual(positive.label, "rare")
        XCTAssertEqual(positive.rocAUC.value, c.roc_auc, accuracy: 1e-12, "two identical seeds: the mean is the one value")
        XCTAssertEqual(positive.prAUC.value, c.average_precision, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(positive.rocAUC.low, positive.rocAUC.value)
        XCTAssertGreaterThanOrEqual(positive.rocAUC.high, positive.rocAUC.value)
        XCTAssertLessThan(positive.rocAUC.low, positive.rocAUC.high)
        XCTAssertEqual(positive.threshold?.value ?? 0, 0.4, accuracy: 1e-12)
        XCTAssertEqual(positive.threshold?.seeds?.count, 2)
        XCTAssertNil(SeedAggregation.summarize([run(1, threshold: nil)], labels: ["other", "rare"], resamples: 10, level: 0.95,
                                               seed: 7).positiveClass, "no positive label, no ranking metrics")
    }

    func testAChosenThresholdDecidesBetweenTheTwoClasses() {
        let chosen = ChosenThreshold(value: 0.3, validationF1: 0.7)
        XCTAssertEqual(chosen.predictedClass(probabilities: [0.69, 0.31], positiveClass: 1), 1)
        XCTAssertEqual(chosen.predictedClass(probabilities: [0.71, 0.29], positiveClass: 1), 0)
        XCTAssertEqual(chosen.predictedClass(probabilities: [0.3, 0.7], positiveClass: 0), 0, "at the threshold counts as positive")
        XCTAssertEqual(chosen.predictedClass(probabilities: [0.2, 0.8], positiveClass: 0), 1)
        let fromValidation = ChosenThreshold.optimizingF1(validationLabels: [0, 0, 1, 1, 0], scores: [0.1, 0.4, 0.35, 0.8, 0.2],
                                                          positiveClass: 1)
        // 0.35 predicts 0.4, 0.35, 0.8 positive: F1 0.8, above 0.8's 0.667 and 0.4's 0.5.
        XCTAssertEqual(fromValidation?.value, 0.35)
        XCTAssertEqual(fromValidation?.validationF1 ?? 0, 0.8, accuracy: 1e-12)
    }
}
