import Foundation
import XCTest

/// The run history through the command-line tool: compare --history appends each run (with its
/// revision from CI's variables) and draws the trend; `history` prints it; `history import`
/// rebuilds the same database from the results.json files; a bad database is exit 2 before any
/// training.
final class HistoryRunTests: XCTestCase {
    func testRunsAreAppendedShownAndRebuiltFromResults() throws {
        let directory = try CommandLineTool.temporaryDirectory()
        let suite = directory.appendingPathComponent("tiny.yaml")
        try CommandLineTool.tinySuite(epochs: 1, seeds: 1, checks: "  - {metric: accuracy, min: 0.0}\n  - {metric: f1_macro, min: 0.0}")
            .write(to: suite, atomically: true, encoding: .utf8)
        let database = directory.appendingPathComponent("history/runs.sqlite").path
        let cache = directory.appendingPathComponent("cache").path
        var outputs: [URL] = []
        for (index, seed) in [7, 8, 9].enumerated() {
            let out = directory.appendingPathComponent("run-\(index)")
            outputs.append(out)
            let run = try CommandLineTool.run(
                ["compare", suite.path, "--out", out.path, "--seed", String(seed), "--history", database, "--quiet"],
                environment: ["EVALHARNESS_CACHE": cache, "GITHUB_SHA": String(repeating: "\(index + 1)", count: 40),
                              "GITHUB_REF_NAME": "main", "GITHUB_HEAD_REF": ""])
            XCTAssertEqual(run.status, 0, run.stderr)
            let results = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("results.json"))) as? [String: Any]
            XCTAssertEqual((results?["revision"] as? [String: String])?["commit"], String(repeating: "\(index + 1)", count: 40))
            Thread.sleep(forTimeInterval: 1.1)  // distinct start times, as real runs have
        }
        // The third report draws both gated metrics over the three runs, itself last.
        let html = try String(contentsOf: outputs[2].appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<section id=\"trend\">"))
        XCTAssertTrue(html.contains("accuracy of each candidate over the last 3 runs"))
        XCTAssertTrue(html.contains("f1_macro of each candidate over the last 3 runs"))
        XCTAssertTrue(html.contains(">this run<"))
        XCTAssertTrue(html.contains(">1111111<"), "run labels are short commits")
        let summary = try String(contentsOf: outputs[2].appendingPathComponent("summary.md"), encoding: .utf8)
        XCTAssertTrue(summary.contains("**Trend** over the last 3 runs"), summary)

        let shown = try CommandLineTool.run(["history", "--history", database, "--metric", "accuracy", "--json"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let trend = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let runs = try XCTUnwrap(trend["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.map { $0["commit"] as? String }, ["1", "2", "3"].map { String(repeating: $0, count: 40) })
        for (index, run) in runs.enumerated() {
            let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: outputs[index].appendingPathComponent("results.json"))) as? [String: Any])
            let candidate = try XCTUnwrap((results["candidates"] as? [[String: Any]])?.first)
            let accuracy = try XCTUnwrap((candidate["metrics"] as? [String: Any])?["accuracy"] as? [String: Any])
            let stored = try XCTUnwrap((run["values"] as? [String: Any])?["lora"] as? [String: Any])
            XCTAssertEqual(stored["value"] as? Double, accuracy["value"] as? Double)
            XCTAssertEqual(stored["ci_low"] as? Double, accuracy["ci_low"] as? Double)
        }
        let table = try CommandLineTool.run(["history", "show", "--metric", "f1_macro", "--candidate", "lora"],
                                            environment: ["EVALHARNESS_HISTORY": database])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("f1_macro (higher is better) · last 3 of 3 runs"), table.stdout)
        XCTAssertTrue(table.stdout.contains("33333333"), table.stdout)

        // Rebuilt from the results files alone: the same trend; importing again adds nothing.
        let rebuilt = directory.appendingPathComponent("rebuilt.sqlite").path
        let imported = try CommandLineTool.run(["history", "import", directory.path, "--history", rebuilt])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(imported.stdout.contains("3 run(s) added, 0 already present"), imported.stdout)
        let again = try CommandLineTool.run(["history", "import", directory.path, "--history", rebuilt])
        XCTAssertTrue(again.stdout.contains("0 run(s) added, 3 already present"), again.stdout)
        let fromImport = try CommandLineTool.run(["history", "--history", rebuilt, "--metric", "accuracy", "--json"])
        XCTAssertEqual(fromImport.stdout, shown.stdout)

        // Errors name the file or the metric, exit 2.
        let unknown = try CommandLineTool.run(["history", "--history", database, "--metric", "accuracyy"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("no metric \"accuracyy\""), unknown.stderr)
        let junk = directory.appendingPathComponent("junk.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: junk)
        let refused = try CommandLineTool.run(["compare", suite.path, "--out", directory.appendingPathComponent("x").path,
                                               "--history", junk.path, "--quiet"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(junk.path): not a history database"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("x/results.json").path))
        let missing = try CommandLineTool.run(["history", "--history", directory.appendingPathComponent("none.sqlite").path])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("no history database here"), missing.stderr)
    }
}
