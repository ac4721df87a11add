import Foundation
import XCTest

/// The documented CI flow with `compare` itself: main's first run has no baseline file yet, so the
/// baseline checks are skipped (exit 0, JUnit `<skipped>` with the reason); a pull request run
/// against main's stored results applies them. `--baseline` alone is enough (the suite has no
/// `baseline:` key).
final class BaselineFlowTests: XCTestCase {
    func testFirstRunOnMainThenPullRequest() throws {
        let directory = try CommandLineTool.temporaryDirectory()
        let suite = directory.appendingPathComponent("tiny.yaml")
        try CommandLineTool.tinySuite(epochs: 1, seeds: 1, checks: "  - {metric: accuracy, non_inferior_to: baseline, margin: 0.05}")
            .write(to: suite, atomically: true, encoding: .utf8)
        let main = directory.appendingPathComponent("main"), pullRequest = directory.appendingPathComponent("pr")
        let stored = main.appendingPathComponent("results.json").path

        let first = try CommandLineTool.run(["compare", suite.path, "--out", main.path, "--baseline", stored, "--quiet", "--threads", "2"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("note: baseline \(stored) does not exist yet; baseline checks are skipped"), first.stderr)
        let junit = try String(contentsOf: main.appendingPathComponent("junit.xml"), encoding: .utf8)
        XCTAssertTrue(junit.contains("<skipped message=\"no baseline run yet\""), junit)

        let second = try CommandLineTool.run(["compare", suite.path, "--out", pullRequest.path, "--baseline", stored, "--quiet", "--threads", "2"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let pullRequestJUnit = try String(contentsOf: pullRequest.appendingPathComponent("junit.xml"), encoding: .utf8)
        XCTAssertTrue(pullRequestJUnit.contains("name=\"accuracy non-inferior to baseline (margin 0.05)\""), pullRequestJUnit)
        XCTAssertFalse(pullRequestJUnit.contains("<skipped"), "the baseline check ran: \(pullRequestJUnit)")
        let results = try String(contentsOf: pullRequest.appendingPathComponent("results.json"), encoding: .utf8)
        XCTAssertTrue(results.contains("\"against\" : \"baseline-run\""), "the pull request's run is paired with main's")
    }

    /// `max_length` is bounded by the model's positions, not by a fixed 512.
    func testMaxLengthBeyondTheModelsPositionsIsBadInput() throws {
        let directory = try CommandLineTool.temporaryDirectory()
        let suite = directory.appendingPathComponent("long.yaml")
        try CommandLineTool.tinySuite(epochs: 1, seeds: 1).replacingOccurrences(of: "max_length: 32", with: "max_length: 600")
            .write(to: suite, atomically: true, encoding: .utf8)
        let run = try CommandLineTool.run(["compare", suite.path, "--out", directory.appendingPathComponent("out").path, "--quiet"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("\(suite.path):3: model.max_length: 600 exceeds the model's 512 positions (config.json max_position_embeddings)"), run.stderr)
    }
}
