import Evaluation
import Foundation
import Reports
import Runner
import Suites
import XCTest

/// A rare positive class end to end with the real model: one file split by content hash, coded
/// labels, generated ids, class-weighted LoRA, a threshold chosen on validation, ROC-AUC/PR-AUC,
/// and every output carrying them. Uses data/wordnet/food.jsonl (scripts/fetch_data.sh).
final class ImbalanceRunTests: XCTestCase {
    nonisolated(unsafe) static var cached: RunResult?

    static let suite = """
    name: rare-food-ci
    seed: 3
    model: {path: models/all-MiniLM-L6-v2, max_length: 32}
    task:
      data: data/wordnet/food.jsonl
      split: {validation: 0.2, test: 0.3}
      label_field: is_food
      labels: {0: other, 1: food}
      positive_label: food
      threshold: {optimize: f1}
      limit: {train: 400, validation: 300, test: 400}
    training: {epochs: 1, batch_size: 16, patience: 0}
    candidates:
      - {name: weighted, method: lora, rank: 4, alpha: 8, learning_rate: 2e-3, class_weights: balanced, seeds: 2}
      - {name: prompt, method: prompt, num_virtual_tokens: 4, learning_rate: 3e-2}
    checks:
      - {metric: pr_auc, min: 0.0, bound: ci_low}
      - {metric: roc_auc, non_inferior_to: prompt, margin: 0.99}
      - {metric: "recall[food]", min: 0.0}
    comparison: {bootstrap_resamples: 100}
    """

    func foodRun() throws -> RunResult {
        if let cached = Self.cached { return cached }
        FileManager.default.changeCurrentDirectoryPath(CommandLineTool.root.path)
        for required in ["models/all-MiniLM-L6-v2/model.safetensors", "data/wordnet/food.jsonl"]
        where !FileManager.default.fileExists(atPath: required) {
            XCTFail("\(required) is missing: run scripts/fetch_model.sh and scripts/fetch_data.sh")
            throw XCTSkip("inputs missing")
        }
        let spec = try SuiteSpec.parse(yaml: Self.suite, path: "rare-food-ci.yaml")
        let result = try SuiteRunner(spec: spec, options: RunOptions(threads: 2)).run()
        Self.cached = result
        return result
    }

    func testOneFileIsSplitPerClassWithGeneratedIDs() throws {
        let result = try foodRun()
        let splits = try XCTUnwrap(result.splits)
        XCTAssertEqual(splits.method, "content_hash")
        XCTAssertEqual(splits.stratified, true)
        XCTAssertEqual(splits.generatedIDs, true)
        XCTAssertEqual(result.data.map(\.role), ["data"])
        XCTAssertEqual(result.data[0].examples, 8042)
        XCTAssertEqual(splits.train.reduce(0, +), 400)
        XCTAssertEqual(splits.validation.reduce(0, +), 300)
        XCTAssertEqual(splits.test.reduce(0, +), 400)
        XCTAssertGreaterThan(splits.test[1], 5, "the rare class reaches test")
        let ids = try XCTUnwrap(result.candidates.first?.seedRuns.first?.predictions.map(\.id))
        XCTAssertTrue(ids.allSatisfy { $0.count >= 16 && $0.prefix(16).allSatisfy(\.isHexDigit) }, "\(ids.prefix(3))")
        XCTAssertEqual(result.labels, ["other", "food"])
        XCTAssertEqual(result.positiveLabel, "food")
    }

    func testEachSeedPredictsWithTheThresholdItChoseOnValidation() throws {
        let result = try foodRun()
        for candidate in result.candidates {
            XCTAssertEqual(candidate.status, .ok, candidate.error ?? "")
            let positive = try XCTUnwrap(candidate.positiveClass)
            XCTAssertEqual(positive.label, "food")
            for metric in [positive.rocAUC, positive.prAUC] {
                XCTAssertTrue(metric.low <= metric.value && metric.value <= metric.high && (0...1).contains(metric.value))
            }
            let threshold = try XCTUnwrap(positive.threshold)
            XCTAssertEqual(threshold.optimize, "f1")
            for run in candidate.seedRuns {
                let chosen = try XCTUnwrap(run.threshold)
                for prediction in run.predictions {
                    XCTAssertEqual(prediction.predicted, prediction.probabilities[1] >= chosen.value ? 1 : 0)
                }
                // The ranking metric of this seed is scikit-learn's formula on its own predictions.
                let auc = RankingMetrics.rocAUC(isPositive: run.predictions.map { $0.label == 1 },
                                                scores: run.predictions.map { $0.probabilities[1] })
                if candidate.seedRuns.count == 1 { XCTAssertEqual(positive.rocAUC.value, auc, accuracy: 1e-12) }
            }
            XCTAssertEqual(threshold.seeds?.count, candidate.seedRuns.count > 1 ? candidate.seedRuns.count : nil)
        }
        XCTAssertEqual(result.candidate(named: "weighted")?.settings["class_weights"], "balanced")
        XCTAssertNil(result.candidate(named: "prompt")?.settings["class_weights"])
    }

    func testChecksAndOutputsCarryTheRankingMetrics() throws {
        let result = try foodRun()
        XCTAssertEqual(result.checks.map(\.status), [.passed, .passed, .passed, .passed, .passed], result.checks.map { $0.message ?? "" }.joined(separator: "\n"))
        XCTAssertEqual(result.checks.map(\.metric), ["pr_auc", "pr_auc", "roc_auc", "recall[food]", "recall[food]"])
        let summary = MarkdownSummary.render(result: result)
        XCTAssertTrue(summary.contains("| candidate | ROC-AUC (food) | PR-AUC (food) | decision threshold |"), summary)
        XCTAssertTrue(summary.contains("split by content hash within each class: 400 train / 300 validation / 400 test examples"), summary)
        let html = HTMLReport.render(result: result, baseline: nil)
        XCTAssertTrue(html.contains("<h3>Positive class: food</h3>"))
        XCTAssertTrue(html.contains("<section id=\"data\""))
        let junit = String(decoding: try JUnitWriter.render(result: result), as: UTF8.self)
        XCTAssertTrue(junit.contains("name=\"roc_auc\""))
        XCTAssertTrue(junit.contains("name=\"decision_threshold\""))
        // results.json round-trips the new fields.
        let decoded = try JSONDecoder().decode(RunResult.self, from: JSONEncoder().encode(result))
        XCTAssertEqual(decoded.splits, result.splits)
        XCTAssertEqual(decoded.candidates.map(\.positiveClass), result.candidates.map(\.positiveClass))
        XCTAssertEqual(decoded.candidates[0].seedRuns.map(\.threshold), result.candidates[0].seedRuns.map(\.threshold))
    }
}
