import Evaluation
import Foundation
import Reports
import Runner
import Suites
import XCTest

/// The whole pipeline on suites/ci.yaml with the real model and data, then the command-line tool's
/// exit codes on its outputs. Needs scripts/fetch_model.sh and scripts/fetch_data.sh (CI runs both).
final class EndToEndTests: XCTestCase {
    static let root = CommandLineTool.root
    nonisolated(unsafe) static var cached: RunResult?

    override func setUp() {
        FileManager.default.changeCurrentDirectoryPath(Self.root.path)
    }

    func ciRun() throws -> RunResult {
        if let cached = Self.cached { return cached }
        for required in ["models/all-MiniLM-L6-v2/model.safetensors", "data/vader/movie/train.jsonl", "data/wordnet/probe_train.jsonl"]
        where !FileManager.default.fileExists(atPath: required) {
            XCTFail("\(required) is missing: run scripts/fetch_model.sh and scripts/fetch_data.sh")
            throw XCTSkip("inputs missing")
        }
        let spec = try SuiteSpec.load(path: "suites/ci.yaml")
        let result = try SuiteRunner(spec: spec, options: RunOptions(threads: 2)).run()
        Self.cached = result
        return result
    }

    func testCISuiteMeasuresEveryCandidate() throws {
        let result = try ciRun()
        XCTAssertEqual(result.candidates.map(\.name), ["full", "lora", "qlora", "prompt"])
        for candidate in result.candidates {
            XCTAssertEqual(candidate.status, .ok, "\(candidate.name): \(candidate.error ?? "")")
            XCTAssertEqual(candidate.seedRuns.count, 1)
            XCTAssertEqual(candidate.seedRuns[0].predictions.count, 128)
            XCTAssertEqual(Set(candidate.seedRuns[0].predictions.map(\.id)).count, 128)
            let metrics = try XCTUnwrap(candidate.metrics)
            XCTAssertTrue(metrics.accuracy.low <= metrics.accuracy.value && metrics.accuracy.value <= metrics.accuracy.high)
            XCTAssertEqual(candidate.forgetting.map(\.name), ["similarity:lee", "similarity:wordsim353", "probe:wordnet"])
            XCTAssertEqual(candidate.training?.epochsRun, 2)
            XCTAssertGreaterThan(candidate.trainableParameters, 0)
            XCTAssertNotNil(candidate.overfitting)
            // The base model's scores are the same for every candidate.
            XCTAssertEqual(candidate.forgetting.map(\.result.base), result.candidates[0].forgetting.map(\.result.base))
        }
        // Every candidate but the prompt-tuned one is compared with it.
        XCTAssertEqual(result.candidates.map { $0.comparisons.map(\.against) },
                       [["prompt-baseline"], ["prompt-baseline"], ["prompt-baseline"], []])
        // The suite's `non_inferior_to: prompt` check on accuracy (margin 0.5) is decided in the comparison too.
        XCTAssertEqual(result.candidates[0].comparisons[0].nonInferiority["accuracy"]?.margin, 0.5)
        let qlora = try XCTUnwrap(result.candidate(named: "qlora"))
        XCTAssertLessThan(qlora.baseWeightBytes, result.candidate(named: "lora")!.baseWeightBytes, "QLoRA stores its base in 4 bits")
        // The base's similarity scores are real correlations.
        let lee = result.candidates[0].forgetting[0].result.base
        XCTAssertGreaterThan(lee, 0.3, "all-MiniLM-L6-v2 correlates with the Lee judgements")
        XCTAssertEqual(result.checks.count, 21)
    }

    // MARK: the command-line tool

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try CommandLineTool.run(arguments)
    }

    func temporaryDirectory() throws -> URL { try CommandLineTool.temporaryDirectory() }

    func testGateExitCodesFollowTheChecks() throws {
        let result = try ciRun()
        let directory = try temporaryDirectory()
        let encoder = JSONEncoder()
        try encoder.encode(result).write(to: directory.appendingPathComponent("results.json"))
        let resultsPath = directory.appendingPathComponent("results.json").path

        let passing = try run(["gate", resultsPath, "--suite", "suites/ci.yaml"])
        XCTAssertEqual(passing.status, Gate.verdict(for: result).exitCode, passing.stdout + passing.stderr)

        // Raise a threshold past what any model reaches: exit 1 and the failure message.
        let strict = try String(contentsOfFile: "suites/ci.yaml", encoding: .utf8)
            .replacingOccurrences(of: "{metric: log_loss, max: 2.0}", with: "{metric: accuracy, min: 0.999}")
        let strictPath = directory.appendingPathComponent("strict.yaml").path
        try strict.write(toFile: strictPath, atomically: true, encoding: .utf8)
        let failing = try run(["gate", resultsPath, "--suite", strictPath, "--out", directory.path])
        XCTAssertEqual(failing.status, 1, failing.stdout + failing.stderr)
        XCTAssertTrue(failing.stdout.contains("FAILED  full: accuracy >= 0.999 — accuracy "), failing.stdout)
        for name in ["junit.xml", "report.html", "summary.md", "results.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), name)
        }
    }

    /// Seeds are independent training runs derived from the suite seed and the candidate's name: the
    /// first seed of a two-seed run of lora alone is exactly the lora of the one-seed run of the whole
    /// suite (other candidates and the seed count change nothing), the second differs, and the
    /// headline numbers are the seeds' mean with their spread.
    func testSeedsAreIndependentRunsAndTheFirstIsTheOneSeedRun() throws {
        let single = try XCTUnwrap(try ciRun().candidate(named: "lora"))
        let spec = try SuiteSpec.load(path: "suites/ci.yaml")
        let twoSeeds = try SuiteRunner(spec: spec, options: RunOptions(candidates: ["lora"], seeds: 2, threads: 2)).run()
        let lora = try XCTUnwrap(twoSeeds.candidate(named: "lora"))
        XCTAssertEqual(lora.seedRuns.map(\.seed), ReplicateSeeds.trainingSeeds(suiteSeed: 7, count: 2))
        XCTAssertEqual(lora.seedRuns[0].predictions, single.seedRuns[0].predictions)
        XCTAssertEqual(lora.seedRuns[0].training?.history, single.seedRuns[0].training?.history)
        XCTAssertNotEqual(lora.seedRuns[1].predictions.map(\.probabilities), lora.seedRuns[0].predictions.map(\.probabilities))
        let accuracies = lora.seedRuns.map { $0.metrics!.accuracy.value }
        let accuracy = try XCTUnwrap(lora.metrics?.accuracy)
        XCTAssertEqual(accuracy.value, (accuracies[0] + accuracies[1]) / 2, accuracy: 1e-12)
        XCTAssertEqual(accuracy.seeds?.count, 2)
        XCTAssertEqual(accuracy.seeds?.min, accuracies.min())
        XCTAssertEqual(lora.forgetting.first?.seeds?.count, 2)
        XCTAssertEqual(lora.report?.exampleCount, 256, "the pooled report counts both seeds' predictions")
    }

    /// The documented baseline flow: on main's first run there is no baseline file yet, so the
    /// baseline checks are skipped (exit 0); a pull request gated against a stored run of the same
    /// configuration passes them; --baseline alone (no suite key) is enough.
    func testBaselineFlowFirstRunThenPullRequest() throws {
        let result = try ciRun()
        let directory = try temporaryDirectory()
        let resultsPath = directory.appendingPathComponent("results.json").path
        try JSONEncoder().encode(result).write(to: URL(fileURLWithPath: resultsPath))
        let suite = try String(contentsOfFile: "suites/ci.yaml", encoding: .utf8)
            .replacingOccurrences(of: "checks:\n", with: "checks:\n  - {metric: accuracy, non_inferior_to: baseline, margin: 0.05}\n")
        let suitePath = directory.appendingPathComponent("with-baseline.yaml").path
        try suite.write(toFile: suitePath, atomically: true, encoding: .utf8)

        let missing = directory.appendingPathComponent("main-results.json").path
        let first = try run(["gate", resultsPath, "--suite", suitePath, "--baseline", missing])
        XCTAssertEqual(first.status, Gate.verdict(for: result).exitCode, first.stdout + first.stderr)
        XCTAssertTrue(first.stdout.contains("SKIPPED  lora: accuracy non-inferior to baseline (margin 0.05) — no baseline run yet"), first.stdout)
        XCTAssertTrue(first.stderr.contains("does not exist yet; baseline checks are skipped"), first.stderr)

        let pullRequest = try run(["gate", resultsPath, "--suite", suitePath, "--baseline", resultsPath])
        XCTAssertTrue(pullRequest.stdout.contains("PASS  lora: accuracy non-inferior to baseline (margin 0.05) — accuracy +0.000"),
                      pullRequest.stdout)
    }

    /// An output folder that cannot be written is a failed run (exit 3) naming the path and the
    /// cause, never a failed gate (1); an empty candidate selection is bad usage (exit 2).
    func testOutputAndSelectionFailuresHaveTheirExitCodes() throws {
        let result = try ciRun()
        let directory = try temporaryDirectory()
        let resultsPath = directory.appendingPathComponent("results.json").path
        try JSONEncoder().encode(result).write(to: URL(fileURLWithPath: resultsPath))
        let file = directory.appendingPathComponent("a-file").path
        try "x".write(toFile: file, atomically: true, encoding: .utf8)

        let intoFile = try run(["report", resultsPath, "--out", file])
        XCTAssertEqual(intoFile.status, 3, intoFile.stderr)
        XCTAssertEqual(intoFile.stderr, "error: cannot write \(file): it is a file, not a folder\n")
        let below = try run(["gate", resultsPath, "--suite", "suites/ci.yaml", "--out", file + "/reports"])
        XCTAssertEqual(below.status, 3, below.stderr)
        XCTAssertTrue(below.stderr.contains("\(file) is a file, not a folder"), below.stderr)

        let none = try run(["compare", "suites/ci.yaml", "--candidates", "", "--out", directory.path, "--quiet"])
        XCTAssertEqual(none.status, 2, none.stderr)
        XCTAssertTrue(none.stderr.contains("--candidates selects no candidate"), none.stderr)
    }

    /// `gate` refuses results written by another suite (name or labels differ): their checks would
    /// silently judge something else.
    func testGateRefusesResultsOfAnotherSuite() throws {
        let result = try ciRun()
        let directory = try temporaryDirectory()
        let resultsPath = directory.appendingPathComponent("results.json").path
        try JSONEncoder().encode(result).write(to: URL(fileURLWithPath: resultsPath))
        let original = try String(contentsOfFile: "suites/ci.yaml", encoding: .utf8)
        let renamed = directory.appendingPathComponent("renamed.yaml").path
        try original.replacingOccurrences(of: "name: ci\n", with: "name: other\n").write(toFile: renamed, atomically: true, encoding: .utf8)
        let relabelled = directory.appendingPathComponent("relabelled.yaml").path
        try original.replacingOccurrences(of: "labels: [negative, positive]", with: "labels: [positive, negative]")
            .write(toFile: relabelled, atomically: true, encoding: .utf8)

        let byName = try run(["gate", resultsPath, "--suite", renamed])
        XCTAssertEqual(byName.status, 2, byName.stderr)
        XCTAssertTrue(byName.stderr.contains("written by suite \"ci\", not by \(renamed) (name \"other\")"), byName.stderr)
        let byLabels = try run(["gate", resultsPath, "--suite", relabelled])
        XCTAssertEqual(byLabels.status, 2, byLabels.stderr)
        XCTAssertTrue(byLabels.stderr.contains("labels negative, positive differ from \(relabelled)'s task.labels positive, negative"), byLabels.stderr)
    }

    /// A vocabulary larger than the embedding table is refused before any kernel sees a token id.
    func testVocabularyLargerThanTheEmbeddingTableIsBadInput() throws {
        let directory = try temporaryDirectory()
        let model = directory.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] {
            try FileManager.default.createSymbolicLink(at: model.appendingPathComponent(name),
                                                       withDestinationURL: Self.root.appendingPathComponent("models/all-MiniLM-L6-v2/\(name)"))
        }
        let vocabulary = try String(contentsOfFile: "models/all-MiniLM-L6-v2/vocab.txt", encoding: .utf8)
        try (vocabulary + (0..<5).map { "extra\($0)\n" }.joined()).write(to: model.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        let suite = try String(contentsOfFile: "suites/ci.yaml", encoding: .utf8)
            .replacingOccurrences(of: "path: models/all-MiniLM-L6-v2", with: "path: \(model.path)")
        let path = directory.appendingPathComponent("big-vocab.yaml").path
        try suite.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try run(["compare", path, "--out", directory.appendingPathComponent("out").path, "--quiet"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("vocab.txt: vocabulary: has 30527 tokens but the model's embedding table has 30522 rows"), run.stderr)
    }

    /// A candidate whose loss becomes NaN is reported as failed, with its error, in every output,
    /// and the run exits 3 — never a silent garbage result.
    func testADivergingCandidateFailsTheRunWithExitThree() throws {
        let directory = try temporaryDirectory()
        let suite = try String(contentsOfFile: "suites/ci.yaml", encoding: .utf8)
            .replacingOccurrences(of: "name: ci\n", with: "name: diverging\n")
            .replacingOccurrences(of: "{name: lora, method: lora, rank: 4, alpha: 8, target_modules: [query, value], learning_rate: 1e-3}",
                                  with: "{name: lora, method: lora, rank: 4, alpha: 8, target_modules: [query, value], learning_rate: 1e30, max_grad_norm: 0}")
        let path = directory.appendingPathComponent("diverging.yaml").path
        try suite.write(toFile: path, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("out")
        let run = try run(["compare", path, "--candidates", "lora,prompt", "--out", out.path, "--quiet"])
        XCTAssertEqual(run.status, 3, run.stderr)
        let result = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: out.appendingPathComponent("results.json")))
        let lora = try XCTUnwrap(result.candidate(named: "lora"))
        XCTAssertEqual(lora.status, .failed)
        XCTAssertTrue(lora.error?.contains("became NaN") ?? false, lora.error ?? "no error")
        XCTAssertEqual(result.candidate(named: "prompt")?.status, .ok, "the other candidates still run")
        let junit = try String(contentsOf: out.appendingPathComponent("junit.xml"), encoding: .utf8)
        XCTAssertTrue(junit.contains("<error"), "the failed run is a JUnit error")
    }

    func testBadInputExitsTwoNamingTheFileAndLine() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("bad.yaml").path
        try "name: bad\nmodel:\n  path: models/all-MiniLM-L6-v2\n  max_lenght: 64\n".write(toFile: path, atomically: true, encoding: .utf8)
        let bad = try run(["compare", path, "--quiet"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("\(path):4"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("max_lenght"), bad.stderr)

        let missing = try run(["gate", directory.appendingPathComponent("nothing.json").path, "--suite", "suites/ci.yaml"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.contains("nothing.json: results file not found"), missing.stderr)

        let usage = try run(["compare"])
        XCTAssertEqual(usage.status, 2, "a usage error is bad input")
        XCTAssertTrue(usage.stderr.contains("Missing expected argument"), usage.stderr)
    }
}
