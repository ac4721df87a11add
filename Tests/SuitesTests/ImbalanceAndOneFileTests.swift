import Evaluation
import Foundation
@testable import Suites
import XCTest

/// `positive_label`, `threshold`, `class_weights` and one-file data (`data:` + `split:`).
final class ImbalanceAndOneFileTests: XCTestCase {
    static let header = SuiteErrorTests.header

    func message(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        expectSuiteError({ () throws(SuiteError) in try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml") }, file: file, line: line)?
            .description
    }

    func parse(_ yaml: String) throws -> SuiteSpec { try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml") }

    func withTask(_ extra: String) -> String {
        Self.header.replacingOccurrences(of: "  labels: [neg, pos]", with: "  labels: [neg, pos]\n" + extra)
    }

    // MARK: positive label and threshold

    func testPositiveLabelEnablesRankingChecks() throws {
        let spec = try parse(withTask("  positive_label: pos\n  threshold: {optimize: f1}")
            + "\nchecks:\n  - {metric: pr_auc, min: 0.5, bound: ci_low}\n  - {metric: roc_auc, non_inferior_to: prompt, margin: 0.02}")
        XCTAssertEqual(spec.task.positiveLabel, "pos")
        XCTAssertEqual(spec.task.positiveClass, 1)
        XCTAssertEqual(spec.task.threshold, .optimizeF1)
        XCTAssertEqual(spec.checks.map(\.metric), ["pr_auc", "roc_auc"])
        XCTAssertEqual(try parse(Self.header).task.threshold, .mostProbable)
    }

    func testPositiveLabelErrors() {
        XCTAssertEqual(message(withTask("  positive_label: poss")),
                       "suites/x.yaml:8: task.positive_label: no class \"poss\" in the task's labels; did you mean \"pos\"? (labels: neg, pos)")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "[neg, pos]", with: "[a, b, c]\n  positive_label: a")),
                       "suites/x.yaml:8: task.positive_label: positive_label needs a binary task (2 labels); this task has 3")
        XCTAssertEqual(message(withTask("  threshold: {optimize: f1}")),
                       "suites/x.yaml:8: task.threshold: a decision threshold needs positive_label (the class whose probability it thresholds)")
        XCTAssertEqual(message(withTask("  positive_label: pos\n  threshold: {optimize: recall}"))?.contains("expected one of f1"), true)
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: roc_auc, min: 0.8}"),
                       "suites/x.yaml:12: checks[0].metric: roc_auc ranks the positive class: set task.positive_label to one of neg, pos")
        XCTAssertEqual(message(withTask("  positive_label: pos") + "\nchecks:\n  - {metric: roc_auc, min: 80}"),
                       "suites/x.yaml:13: checks[0].min: roc_auc is a fraction from 0 to 1, and min 80 is outside it; did you mean 0.8?")
    }

    // MARK: class weights

    func testClassWeightsParseAndEnterTheSettings() throws {
        let spec = try parse(Self.header.replacingOccurrences(of: "  - {name: prompt, method: prompt}",
                                                             with: "  - {name: prompt, method: prompt, class_weights: {pos: 4}}")
            + "\ntraining: {class_weights: balanced}")
        XCTAssertEqual(spec.candidates[0].training.classWeights, .balanced)
        XCTAssertEqual(spec.candidates[1].training.classWeights, .explicit([1, 4]))
        XCTAssertEqual(spec.candidates[0].settings["class_weights"], "balanced")
        XCTAssertEqual(spec.candidates[1].settings["class_weights"], "1,4")
        // Unset: absent from the settings, so config hashes written before class weights still match.
        let plain = try parse(Self.header)
        XCTAssertNil(plain.candidates[0].settings["class_weights"])
        XCTAssertNotEqual(plain.candidates[0].configHash, spec.candidates[0].configHash)
    }

    func testClassWeightErrors() {
        XCTAssertEqual(message(Self.header + "\ntraining: {class_weights: {poss: 2}}"),
                       "suites/x.yaml:11: training.class_weights.poss: no class \"poss\" in the task's labels; did you mean \"pos\"? (labels: neg, pos)")
        XCTAssertEqual(message(Self.header + "\ntraining: {class_weights: {pos: 0}}")?.contains("expected a positive number"), true)
        XCTAssertEqual(message(Self.header + "\ntraining: {class_weights: inverse}")?.contains("expected one of balanced"), true)
    }

    /// scikit-learn's compute_class_weight("balanced") from the fixture.
    func testBalancedWeightsMatchScikitLearn() throws {
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/evaluation/imbalance.json")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try XCTUnwrap(root["class_weights"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 5)
        for c in cases {
            let labels = c["labels"] as! [Int], K = c["class_count"] as! Int
            var counts = [Int](repeating: 0, count: K)
            for label in labels { counts[label] += 1 }
            let weights = try XCTUnwrap(ClassWeighting.balanced.weights(trainCounts: counts))
            let expected = c["balanced"] as! [Double]
            for k in 0..<K { XCTAssertEqual(weights[k], expected[k], accuracy: 1e-12, "\(c["name"]!) class \(k)") }
        }
        XCTAssertNil(ClassWeighting.none.weights(trainCounts: [3, 4]))
    }

    // MARK: the hash split

    func hashes(_ n: Int, salt: String = "") -> [[UInt8]] {
        (0..<n).map { HashSplit.contentHash(text: "text \($0)\(salt)", label: "x") }
    }

    func testStratifiedSplitKeepsEveryClassShare() {
        let classes = (0..<1000).map { $0 < 50 ? 1 : 0 }   // 5 % positives
        let roles = HashSplit.assign(hashes: hashes(1000), classes: classes, validation: 0.1, test: 0.2, stratify: true)
        func count(_ role: HashSplit.Role, _ c: Int) -> Int { roles.indices.count { roles[$0] == role && classes[$0] == c } }
        XCTAssertEqual([count(.test, 1), count(.validation, 1), count(.train, 1)], [10, 5, 35])
        XCTAssertEqual([count(.test, 0), count(.validation, 0), count(.train, 0)], [190, 95, 665])
    }

    func testSplitDoesNotDependOnRowOrder() {
        let h = hashes(300), classes = (0..<300).map { $0 % 3 }
        var generator = FixedGenerator()
        let order = Array((0..<300).reversed()).shuffled(using: &generator)
        for stratify in [true, false] {
            let roles = HashSplit.assign(hashes: h, classes: classes, validation: 0.15, test: 0.25, stratify: stratify)
            let shuffled = HashSplit.assign(hashes: order.map { h[$0] }, classes: order.map { classes[$0] },
                                            validation: 0.15, test: 0.25, stratify: stratify)
            for (position, original) in order.enumerated() { XCTAssertEqual(shuffled[position], roles[original]) }
        }
    }

    func testUnstratifiedSplitNeverMovesARecordWhenRowsAreAdded() {
        let old = hashes(400), added = old + hashes(200, salt: "new")
        let before = HashSplit.assign(hashes: old, classes: [Int](repeating: 0, count: 400), validation: 0.1, test: 0.2, stratify: false)
        let after = HashSplit.assign(hashes: added, classes: [Int](repeating: 0, count: 600), validation: 0.1, test: 0.2, stratify: false)
        XCTAssertEqual(Array(after.prefix(400)), before)
        let testShare = Double(after.count { $0 == .test }) / 600
        XCTAssertEqual(testShare, 0.2, accuracy: 0.05)
    }

    func testIdenticalRecordsShareASplitAndGetDistinctIDs() {
        let same = HashSplit.contentHash(text: "a variety of aster", label: "noun.plant")
        let h = [same] + hashes(40) + [same, same]
        let roles = HashSplit.assign(hashes: h, classes: [Int](repeating: 0, count: h.count), validation: 0.2, test: 0.3, stratify: true)
        XCTAssertEqual(Set([roles[0], roles[41], roles[42]]).count, 1)
        let ids = HashSplit.generatedIDs(hashes: h)
        XCTAssertEqual(ids[0].count, 16)
        XCTAssertEqual([ids[41], ids[42]], [ids[0] + "-2", ids[0] + "-3"])
        XCTAssertEqual(Set(ids).count, ids.count)
    }

    // MARK: one file in

    func oneFileSuite(_ directory: TemporaryDirectory, data: String, task extra: String = "") throws -> String {
        try directory.write("data.csv", data)
        return """
        name: one
        model: {path: m}
        task:
          data: \(directory.url.path)/data.csv
          split: {validation: 0.2, test: 0.2}
          label_field: is_food
          labels: {0: other, 1: food}
        \(extra)
        candidates:
          - {name: full, method: full}
        """
    }

    func testOneCSVFileWithoutIDsIsSplitPerClass() throws {
        let directory = try TemporaryDirectory()
        var rows = ["text,is_food"]
        for i in 0..<200 { rows.append("\"gloss number \(i), plain\",\(i % 10 == 0 ? 1 : 0)") }
        let spec = try parse(try oneFileSuite(directory, data: rows.joined(separator: "\n") + "\n"))
        XCTAssertEqual(spec.task.oneFile?.validation, 0.2)
        XCTAssertEqual(spec.task.oneFile?.stratify, true)
        XCTAssertEqual(spec.task.oneFile?.idsFromContent, true)
        let task = try TaskData.load(spec.task)
        XCTAssertEqual([task.train.count, task.validation.count, task.test.count], [120, 40, 40])
        XCTAssertEqual(task.splits.method, "content_hash")
        XCTAssertEqual(task.splits.train, [108, 12])
        XCTAssertEqual(task.splits.validation, [36, 4])
        XCTAssertEqual(task.splits.test, [36, 4])
        XCTAssertEqual(task.splits.generatedIDs, true)
        XCTAssertEqual(task.files.map(\.role), ["data"])
        let all = task.train + task.validation + task.test
        XCTAssertEqual(Set(all.map(\.id)).count, 200)
        XCTAssertTrue(all.allSatisfy { $0.id.count == 16 })
        // The same file reordered gives the same splits.
        try directory.write("data.csv", ([rows[0]] + rows.dropFirst().reversed()).joined(separator: "\n") + "\n")
        let reordered = try TaskData.load(spec.task)
        XCTAssertEqual(Set(reordered.test.map(\.id)), Set(task.test.map(\.id)))
        XCTAssertEqual(Set(reordered.validation.map(\.id)), Set(task.validation.map(\.id)))
    }

    func testOneFileErrors() throws {
        let directory = try TemporaryDirectory()
        let yaml = try oneFileSuite(directory, data: "text,is_food\nx,1\n")
        XCTAssertEqual(message(yaml.replacingOccurrences(of: "split: {validation: 0.2, test: 0.2}", with: "split: {validation: 0.5, test: 0.5}")),
                       "suites/x.yaml:5: task.split: validation 0.5 + test 0.5 leave nothing to train on; together they must be below 1")
        XCTAssertEqual(message(yaml.replacingOccurrences(of: "split: {validation: 0.2, test: 0.2}", with: "split: {validation: 0.2, test: 0}")),
                       "suites/x.yaml:5: task.split.test: test must be above 0: the candidates are measured on it")
        XCTAssertEqual(message(yaml.replacingOccurrences(of: "  label_field: is_food", with: "  label_field: is_food\n  train: a.jsonl")),
                       "suites/x.yaml:7: task.train: give either data (one file, split for you) or train, validation and test, not both")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "  labels:", with: "  split: {test: 0.2}\n  labels:")),
                       "suites/x.yaml:7: task.split: split divides one file: use it with data: FILE (this task names train, validation and test files)")
        // Two records cannot fill three splits.
        let spec = try parse(yaml)
        XCTAssertEqual(expectSuiteError({ () throws(SuiteError) in try TaskData.load(spec.task) })?.message.hasPrefix("the validation split is empty"), true)
    }

    func testAPositiveLabelMissingFromTestIsBadInput() throws {
        let directory = try TemporaryDirectory()
        // One positive: it lands in train, so validation and test have none.
        var rows = ["text,is_food"]
        for i in 0..<50 { rows.append("row \(i),\(i == 7 ? 1 : 0)") }
        let spec = try parse(try oneFileSuite(directory, data: rows.joined(separator: "\n") + "\n", task: "  positive_label: food"))
        let error = expectSuiteError({ () throws(SuiteError) in try TaskData.load(spec.task) })
        XCTAssertEqual(error?.message, "the validation split has no example of the positive label \"food\": its ROC-AUC, PR-AUC and threshold would be undefined")
    }
}

/// A fixed-seed generator for shuffles in tests.
struct FixedGenerator: RandomNumberGenerator {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
