import Evaluation
import Foundation
@testable import Runner
import XCTest

/// Units, the cache, shards and merge, through the command-line tool as CI uses them: N shard
/// processes then `merge` equal one unsharded `compare`; a missing shard is an incomplete run
/// (exit 3), a shard of another run is bad input (exit 2); a warm cache retrains nothing and a
/// changed candidate retrains only its own units.
final class ShardAndCacheTests: XCTestCase {
    static let suite = """
    name: shards
    seed: 7
    model: {path: models/all-MiniLM-L6-v2, max_length: 32}
    task:
      train: data/vader/movie/train.jsonl
      validation: data/vader/movie/validation.jsonl
      test: data/vader/movie/test.jsonl
      labels: [negative, positive]
      limit: {train: 48, validation: 16, test: 24}
    retention:
      similarity:
        - {name: lee, path: data/similarity/lee.jsonl, limit: 20}
    training: {epochs: 1, batch_size: 16, patience: 0, seeds: 2}
    candidates:
      - {name: lora, method: lora, rank: 4, alpha: 8, learning_rate: 1e-3}
      - {name: prompt, method: prompt, num_virtual_tokens: 4, learning_rate: 3e-2}
    checks:
      - {metric: accuracy, min: 0.0}
      - {metric: accuracy, non_inferior_to: prompt, margin: 0.5}
    """

    /// results.json without what differs between two runs of the same units: times, throughput,
    /// memory and the cache marks.
    static func comparable(_ url: URL) throws -> [String: Any] {
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        json["started_at"] = nil; json["duration_s"] = nil
        func stripTraining(_ value: Any?) -> Any? {
            guard var training = value as? [String: Any] else { return value }
            for key in ["seconds", "examples_per_s", "peak_rss_bytes"] { training[key] = nil }
            return training
        }
        json["candidates"] = (json["candidates"] as? [[String: Any]])?.map { candidate in
            var candidate = candidate
            candidate["cached_seeds"] = nil
            candidate["training"] = stripTraining(candidate["training"])
            candidate["seed_runs"] = (candidate["seed_runs"] as? [[String: Any]])?.map { run in
                var run = run
                run["training"] = stripTraining(run["training"])
                return run
            }
            return candidate
        }
        json["checks"] = (json["checks"] as? [[String: Any]])?.filter { !(($0["metric"] as? String) ?? "").hasPrefix("training.") }
        return json
    }

    func writeSuite(_ text: String = suite) throws -> (directory: URL, suite: URL) {
        let directory = try CommandLineTool.temporaryDirectory()
        let suite = directory.appendingPathComponent("shards.yaml")
        try text.write(to: suite, atomically: true, encoding: .utf8)
        return (directory, suite)
    }

    func testShardsMergedEqualOneUnshardedRun() throws {
        let (directory, suite) = try writeSuite()
        let whole = try CommandLineTool.run(["compare", suite.path, "--out", directory.appendingPathComponent("whole").path,
                                             "--no-cache", "--threads", "2", "--quiet"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        var shards: [String] = []
        for index in 1...3 {
            let out = directory.appendingPathComponent("shard\(index)").path
            let run = try CommandLineTool.run(["compare", suite.path, "--shard", "\(index)/3", "--out", out, "--no-cache", "--threads", "2", "--quiet"])
            XCTAssertEqual(run.status, 0, run.stderr)
            shards.append(out)
        }
        let merged = directory.appendingPathComponent("merged")
        let merge = try CommandLineTool.run(["merge"] + shards + ["--suite", suite.path, "--out", merged.path, "--quiet"])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let expected = try Self.comparable(directory.appendingPathComponent("whole/results.json"))
        let actual = try Self.comparable(merged.appendingPathComponent("results.json"))
        XCTAssertTrue(NSDictionary(dictionary: expected).isEqual(to: actual), "merged results differ from the unsharded run")
        for file in ["junit.xml", "report.html", "summary.md", "adapters/lora/adapter_config.json", "adapters/prompt/adapter_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: merged.appendingPathComponent(file).path), file)
        }

        // A suite edited since the shards ran: refused rather than gated with other checks.
        let edited = directory.appendingPathComponent("edited.yaml")
        try Self.suite.replacingOccurrences(of: "min: 0.0", with: "min: 0.1").write(to: edited, atomically: true, encoding: .utf8)
        let wrongSuite = try CommandLineTool.run(["merge"] + shards + ["--suite", edited.path, "--out", directory.appendingPathComponent("edited").path])
        XCTAssertEqual(wrongSuite.status, 2, wrongSuite.stderr)
        XCTAssertTrue(wrongSuite.stderr.contains("is not the suite the shards ran"), wrongSuite.stderr)

        // A shard missing: the run is incomplete, never a pass.
        let missing = try CommandLineTool.run(["merge", shards[0], shards[1], "--suite", suite.path,
                                               "--out", directory.appendingPathComponent("incomplete").path])
        XCTAssertEqual(missing.status, 3, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("incomplete run: no shard ran"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("incomplete/results.json").path))

        // A shard of another model: refused, naming the field.
        let shardFile = URL(fileURLWithPath: shards[2]).appendingPathComponent("shard.json")
        let text = try String(contentsOf: shardFile, encoding: .utf8)
        let other = directory.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let sha = try XCTUnwrap(text.range(of: #""model_sha256":"[0-9a-f]{64}""#, options: .regularExpression))
        try text.replacingCharacters(in: sha, with: "\"model_sha256\":\"\(String(repeating: "0", count: 64))\"")
            .write(to: other.appendingPathComponent("shard.json"), atomically: true, encoding: .utf8)
        let mixed = try CommandLineTool.run(["merge", shards[0], shards[1], other.path, "--suite", suite.path,
                                             "--out", directory.appendingPathComponent("mixed").path])
        XCTAssertEqual(mixed.status, 2, mixed.stderr)
        XCTAssertTrue(mixed.stderr.contains("is from another run than") && mixed.stderr.contains("model (model.safetensors SHA-256)"), mixed.stderr)
    }

    func testWarmCacheRetrainsNothingAndAChangedCandidateOnlyItself() throws {
        let (directory, suite) = try writeSuite()
        let cache = directory.appendingPathComponent("cache").path
        func compare(_ suite: URL, _ out: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try CommandLineTool.run(["compare", suite.path, "--out", directory.appendingPathComponent(out).path, "--cache", cache, "--threads", "2"])
        }
        let cold = try compare(suite, "cold")
        XCTAssertEqual(cold.status, 0, cold.stderr)
        let warm = try compare(suite, "warm")
        XCTAssertEqual(warm.status, 0, warm.stderr)
        XCTAssertTrue(warm.stderr.contains("lora seed 2/2: cached") && warm.stderr.contains("retention of the base model: cached"), warm.stderr)
        XCTAssertFalse(warm.stderr.contains("measuring the base model"), "a warm run loads no retention work")
        XCTAssertTrue(NSDictionary(dictionary: try Self.comparable(directory.appendingPathComponent("cold/results.json")))
            .isEqual(to: try Self.comparable(directory.appendingPathComponent("warm/results.json"))))
        let warmResult = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: directory.appendingPathComponent("warm/results.json")))
        XCTAssertEqual(warmResult.candidates.map(\.cachedSeeds), [2, 2])
        let summary = try String(contentsOf: directory.appendingPathComponent("warm/summary.md"), encoding: .utf8)
        XCTAssertTrue(summary.contains("(cached) |"), summary)
        let report = try String(contentsOf: directory.appendingPathComponent("warm/report.html"), encoding: .utf8)
        XCTAssertTrue(report.contains("title=\"reused from the cache of trained units\">cached</span>"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("warm/adapters/lora/adapter_config.json").path),
                      "the cached first seed's adapter is exported")

        // One candidate's learning rate changes: only its two units train.
        let (_, changed) = try writeSuite(Self.suite.replacingOccurrences(of: "learning_rate: 3e-2", with: "learning_rate: 2e-2"))
        let third = try compare(changed, "changed")
        XCTAssertEqual(third.status, 0, third.stderr)
        let result = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: directory.appendingPathComponent("changed/results.json")))
        XCTAssertEqual(result.candidates.map(\.cachedSeeds), [2, nil])
    }

    /// `calibrate` trains the same units `compare --seeds K` would: run after it, compare trains nothing.
    func testCalibrationSeedsAreReusedByCompare() throws {
        let (directory, suite) = try writeSuite()
        let cache = directory.appendingPathComponent("cache").path
        let calibrate = try CommandLineTool.run(["calibrate", suite.path, "--seeds", "2", "--out", directory.appendingPathComponent("calibration").path,
                                                 "--cache", cache, "--threads", "2", "--quiet"])
        XCTAssertEqual(calibrate.status, 0, calibrate.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("calibration/calibration.json").path))
        let compare = try CommandLineTool.run(["compare", suite.path, "--seeds", "2", "--out", directory.appendingPathComponent("run").path,
                                               "--cache", cache, "--threads", "2", "--quiet"])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        let result = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: directory.appendingPathComponent("run/results.json")))
        XCTAssertEqual(result.candidates.map(\.cachedSeeds), [2, 2])
    }

    func testThePlanIsStableAndBalanced() {
        let units = (0..<7).map { index in
            WorkUnit.train("c\(index % 3)", seedIndex: index / 3, seedCount: 3, trainingSeed: UInt64(index), key: "k\(index)",
                           cost: [5, 3, 3, 2, 2, 2, 1][index])
        }
        let plan = RunPlan(units: units)
        let assignment = plan.assignment(count: 3)
        // Longest first, each to the lightest shard (lowest index on ties): 5 | 3 | 3, then 2 → shard 2,
        // 2 → shard 3, 2 → shard 1, 1 → shard 2. Within 4/3 of the best division (6 | 6 | 6), as LPT guarantees.
        XCTAssertEqual(assignment, [0, 1, 2, 1, 2, 0, 1])
        let loads = (0..<3).map { shard in units.indices.filter { assignment[$0] == shard }.reduce(0.0) { $0 + units[$1].estimatedCost } }
        XCTAssertEqual(loads, [7, 6, 5])
        XCTAssertEqual(Set((0..<3).flatMap { plan.shard($0, of: 3).map(\.key) }), Set(units.map(\.key)), "every unit in exactly one shard")
        XCTAssertEqual((0..<3).map { plan.shard($0, of: 3).count }.reduce(0, +), 7)
        XCTAssertEqual(plan.shard(0, of: 1), units)
    }

    func testShardSelectionReadsEachSchedulersConvention() throws {
        func parse(_ text: String, _ environment: [String: String] = [:]) throws -> [Int] {
            let (index, count) = try ShardSelection.parse(text, environment: environment)
            return [index, count]
        }
        XCTAssertEqual(try parse("2/4"), [1, 4])
        XCTAssertEqual(try parse("auto", ["CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "3"]), [0, 3], "GitLab is 1-based")
        XCTAssertEqual(try parse("auto/5", ["JOB_COMPLETION_INDEX": "4"]), [4, 5], "Kubernetes is 0-based")
        XCTAssertEqual(try parse("auto", ["JOB_COMPLETION_INDEX": "0", "EVALHARNESS_SHARD_COUNT": "2"]), [0, 2])
        XCTAssertEqual(try parse("auto", ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"]), [2, 4])
        XCTAssertEqual(try parse("auto", ["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"]), [0, 2])
        for (text, environment, message) in [
            ("0/4", [String: String](), "--shard: 0/4 gives shard 0 of 4; expected 1 to 4"),
            ("5/4", [:], "--shard: 5/4 gives shard 5 of 4; expected 1 to 4"),
            ("2-4", [:], "--shard: expected I/N (1-based, e.g. 2/4), auto or auto/N, got \"2-4\""),
            ("auto", ["CI_NODE_INDEX": "x"], "--shard auto: CI_NODE_INDEX=\"x\" is not a whole number"),
            ("auto", ["JOB_COMPLETION_INDEX": "1"], "--shard auto: JOB_COMPLETION_INDEX=1 is set but not the number of shards; use --shard auto/N (N = the Job's completions) or set EVALHARNESS_SHARD_COUNT"),
        ] {
            XCTAssertThrowsError(try ShardSelection.parse(text, environment: environment)) { error in
                XCTAssertEqual("\(error)", message)
            }
        }
        XCTAssertThrowsError(try ShardSelection.parse("auto", environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("none of CI_NODE_INDEX"))
        }
    }

    /// Two writers publishing the same key: one entry, whole, and no staging debris.
    func testConcurrentWritersPublishOneWholeEntry() throws {
        let directory = try CommandLineTool.temporaryDirectory()
        let cache = UnitCache(directory: directory)
        let unit = WorkUnit.retention(key: String(repeating: "a", count: 64), cost: 1)
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            cache.store(UnitResult(unit: unit, baseScores: ["similarity:lee": 0.5]))
        }
        XCTAssertEqual(cache.entryCount, 1)
        XCTAssertTrue(cache.contains(unit))
        XCTAssertFalse(cache.contains(WorkUnit.retention(key: String(repeating: "c", count: 64), cost: 1)))
        XCTAssertEqual(cache.lookup(unit)?.baseScores, ["similarity:lee": 0.5])
        XCTAssertEqual(cache.lookup(unit)?.cached, true)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("tmp").path), [])
        // A corrupt entry is a miss (and removed), never an error.
        let other = WorkUnit.retention(key: String(repeating: "b", count: 64), cost: 1)
        let folder = directory.appendingPathComponent("units/\(other.key)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("{".utf8).write(to: folder.appendingPathComponent("unit.json"))
        XCTAssertNil(cache.lookup(other))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.path))
        // Pruning keeps the most recently used entries within the limit.
        XCTAssertEqual(cache.prune(limit: 0).removed, 1)
        XCTAssertEqual(cache.entryCount, 0)
    }
}
