import ArgumentParser
import Evaluation
import Foundation
import History
import Reports
import Runner
import Suites

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Train every candidate of a suite, evaluate them, apply the checks and write the reports.",
        discussion: """
        Writes DIR/results.json, DIR/junit.xml, DIR/report.html and DIR/summary.md (default
        reports/<suite name>/) and the trained adapters under DIR/adapters/. Exit codes: 0 every
        check passed, 1 a check failed, 2 bad input or usage, 3 a run failed.

        Example:
          evalharness compare suites/sentiment.yaml --baseline main-results.json
        """
    )

    @Argument(help: "The suite file (YAML; see suites/README.md).") var suite: String
    @Option(help: "Output folder (default: reports/<suite name>).") var out: String?
    @Option(help: "A stored results.json to compare with (overrides the suite's baseline).") var baseline: String?
    @Option(help: "Only these candidates, comma-separated.") var candidates: String?
    @Option(help: "Override the suite's seed.") var seed: UInt64?
    @Option(help: "Train every candidate on this many seeds (overrides the suite's seeds).") var seeds: Int?
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Run only shard I of N (1-based, e.g. 2/4), or 'auto' to read it from CI_NODE_INDEX/CI_NODE_TOTAL, JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID; writes DIR/shard.json for merge.")
    var shard: String?
    @OptionGroup var cacheOptions: CacheOptions
    @OptionGroup var historyOptions: HistoryOptions
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if let seeds, !(1...1000).contains(seeds) { throw ValidationError("--seeds must be from 1 to 1000 (got \(seeds))") }
    }

    func run() throws {
        var verdict = Verdict.passed
        try reportingErrors {
            let spec = try SuiteSpec.load(path: suite)
            let shardIndex = try shard.map { try ShardSelection.parse($0, environment: ProcessInfo.processInfo.environment) }
            let baselineRun = try loadBaseline(flag: baseline, suite: spec)
            let calibration = try spec.calibration.map(loadCalibration)
            // A shard's units are not a run: merge appends the merged run.
            let history = shardIndex == nil ? try historyOptions.open() : nil
            if shardIndex != nil, historyOptions.historyPath != nil, !quiet {
                FileHandle.standardError.write(Data("note: a shard is not added to the history; pass --history to merge\n".utf8))
            }
            let directory = URL(fileURLWithPath: out ?? "reports/\(spec.name)" + (shardIndex.map { "/shard-\($0.index + 1)-of-\($0.count)" } ?? ""))
            let outputs = try openOutputSet(directory)
            defer { outputs.discard() }
            let printer = ProgressPrinter(quiet: quiet)
            let options = RunOptions(adaptersDirectory: outputs.url("adapters"),
                                     candidates: candidates.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } },
                                     seed: seed, seeds: seeds, threads: threads, baseline: baselineRun, calibration: calibration,
                                     cache: cacheOptions.cache)
            let runner = SuiteRunner(spec: spec, options: options, observer: printer)
            if let shardIndex {
                let result = try runner.runShard(index: shardIndex.index, count: shardIndex.count)
                try finishing(outputs) { try ShardFile.write(result, to: outputs.url(ShardFile.name)) }
                cacheOptions.prune(quiet: quiet)
                let failed = result.results.filter { $0.seedRun?.status == .failed }.map(\.unit.id)
                if !quiet {
                    FileHandle.standardError.write(Data("\nshard \(shardIndex.index + 1)/\(shardIndex.count): \(result.results.count) units → \(directory.path)/\(ShardFile.name)\n".utf8))
                }
                if !failed.isEmpty {
                    printError("units failed: \(failed.joined(separator: ", ")) (merge will report the run as failed)")
                    verdict = .error
                }
                return
            }
            var result = try runner.run()
            result.revision = SourceRevision.detect(near: suite)
            try writeReports(result, baseline: baselineRun, history: history, trendRuns: historyOptions.trendRuns,
                             into: outputs, quiet: quiet)
            cacheOptions.prune(quiet: quiet)
            verdict = Gate.verdict(for: result)
            if !quiet { FileHandle.standardError.write(Data(verdictLine(result, directory: directory).utf8)) }
        }
        if verdict != .passed { throw ExitCode(verdict.exitCode) }
    }
}

struct GateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Re-judge stored results against a suite's checks, without training.",
        discussion: """
        Use it after changing thresholds. Prints each check and exits 0 (all passed), 1 (a check
        failed) or 3 (a candidate's run had failed); with --out, rewrites the reports there.

        Example:
          evalharness gate reports/sentiment/results.json --suite suites/sentiment.yaml
        """
    )

    @Argument(help: "A results.json written by compare.") var results: String
    @Option(help: "The suite whose checks apply.") var suite: String
    @Option(help: "A stored baseline results.json (overrides the suite's baseline).") var baseline: String?
    @Option(help: "Rewrite results.json and the reports in this folder.") var out: String?

    func run() throws {
        var verdict = Verdict.passed
        try reportingErrors {
            let spec = try SuiteSpec.load(path: suite)
            var result = try loadResults(results)
            try requireMatch(result, results, spec, suite)
            let baselineRun = try loadBaseline(flag: baseline, suite: spec)
            let calibration = try spec.calibration.map(loadCalibration)
            result.checks = Gate.evaluate(spec.checks, result: result, baseline: baselineRun,
                                          resamples: spec.comparison.bootstrapResamples,
                                          confidence: spec.comparison.confidence, seed: result.seed,
                                          multipleTesting: spec.comparison.multipleTesting, calibration: calibration)
            for check in result.checks {
                let mark = check.status == .passed ? "PASS" : check.status.rawValue.uppercased()
                print("\(mark)  \(check.candidate): \(check.name)\(check.message.map { " — \($0)" } ?? "")")
                for warning in check.warnings ?? [] { print("      warning: \(warning)") }
            }
            if let out {
                let outputs = try openOutputSet(URL(fileURLWithPath: out))
                defer { outputs.discard() }
                try writeReports(result, baseline: baselineRun, into: outputs)
            }
            verdict = Gate.verdict(for: result)
        }
        if verdict != .passed { throw ExitCode(verdict.exitCode) }
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Re-render junit.xml, report.html and summary.md from a results.json.",
        discussion: """
        Example:
          evalharness report reports/sentiment/results.json --out /tmp/sentiment-report
        """
    )

    @Argument(help: "A results.json written by compare.") var results: String
    @Option(help: "Output folder (default: the results file's folder).") var out: String?
    @Option(help: "A stored baseline results.json for the report's comparison section.") var baseline: String?
    @Option(name: .customLong("history"), help: "A run history: the report shows the gated metrics' trend up to this run (nothing is added).")
    var history: String?
    @Option(name: .customLong("trend-runs"), help: "Runs shown in the trend (the last N, this one included).") var trendRuns: Int = 20

    func run() throws {
        try reportingErrors {
            let result = try loadResults(results)
            let trends = try history.map { try RunHistory(path: $0, readOnly: true).gatedTrends(for: result, limit: max(trendRuns, 2)) } ?? []
            let directory = URL(fileURLWithPath: out ?? URL(fileURLWithPath: results).deletingLastPathComponent().path)
            let baselineRun = try baseline.map(loadResults)
            let outputs = try openOutputSet(directory)
            defer { outputs.discard() }
            try writeReports(result, baseline: baselineRun, trends: trends, into: outputs, includeResults: out != nil)
            print("wrote \(directory.path)/report.html, junit.xml, summary.md")
        }
    }
}

/// Refuses to judge results with a suite they were not produced by: another name, or other labels
/// (whose per-class checks and paired comparisons would silently mean something else).
func requireMatch(_ result: RunResult, _ resultsPath: String, _ spec: SuiteSpec, _ suitePath: String) throws {
    if result.suite.name != spec.name {
        throw InputError(description: "\(resultsPath): written by suite \"\(result.suite.name)\", not by \(suitePath) (name \"\(spec.name)\"); gate a run with the suite that produced it")
    }
    if result.labels != spec.task.labels {
        throw InputError(description: "\(resultsPath): labels \(result.labels.joined(separator: ", ")) differ from \(suitePath)'s task.labels \(spec.task.labels.joined(separator: ", "))")
    }
}

/// Reads a results.json; errors name the file and what was wrong.
func loadResults(_ path: String) throws -> RunResult {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputError(description: "\(path): results file not found or not readable")
    }
    do {
        // Version 1 (one seed per candidate) is read as version 2 with one seed run.
        return try JSONDecoder().decode(RunResult.self, from: data)
    } catch let error as InputError {
        throw error
    } catch let DecodingError.dataCorrupted(context) where context.codingPath.last?.stringValue == "schema_version" {
        throw InputError(description: "\(path): \(context.debugDescription)")
    } catch let DecodingError.keyNotFound(key, context) {
        throw InputError(description: "\(path): missing field \"\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))\"")
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
        throw InputError(description: "\(path): field \"\(context.codingPath.map(\.stringValue).joined(separator: "."))\": \(context.debugDescription)")
    } catch {
        throw InputError(description: "\(path): not a results.json (\(error.localizedDescription))")
    }
}

/// The baseline run of `--baseline`, else of the suite's `baseline:` key. A baseline file that does not
/// exist yet (a first run on main) is no baseline: the baseline checks are skipped, and a note says so.
func loadBaseline(flag: String?, suite: SuiteSpec) throws -> RunResult? {
    guard let path = flag ?? suite.baseline else { return nil }
    guard FileManager.default.fileExists(atPath: path) else {
        FileHandle.standardError.write(Data("note: baseline \(path) does not exist yet; baseline checks are skipped\n".utf8))
        return nil
    }
    return try loadResults(path)
}

/// Reads a calibration.json written by `evalharness calibrate`.
func loadCalibration(_ path: String) throws -> CalibrationResult {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputError(description: "\(path): calibration file not found or not readable (suite key calibration; write it with evalharness calibrate)")
    }
    do {
        let calibration = try JSONDecoder().decode(CalibrationResult.self, from: data)
        guard calibration.schemaVersion == CalibrationResult.currentSchemaVersion else {
            throw InputError(description: "\(path): calibration schema_version \(calibration.schemaVersion) is not supported (expected \(CalibrationResult.currentSchemaVersion))")
        }
        return calibration
    } catch let error as InputError {
        throw error
    } catch {
        throw InputError(description: "\(path): not a calibration.json (\(error))")
    }
}

func verdictLine(_ result: RunResult, directory: URL) -> String {
    let verdict = Gate.verdict(for: result)
    let failed = result.checks.filter { $0.status == .failed || $0.status == .error }
    var text = "\nverdict: \(verdict.rawValue.uppercased()) — \(result.checks.filter(\.passed).count)/\(result.checks.count) checks passed"
    for check in failed { text += "\n  ✗ \(check.candidate): \(check.name) — \(check.message ?? "")" }
    text += "\nreports: \(directory.path)/report.html\n"
    return text
}
