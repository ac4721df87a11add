import ArgumentParser
import Evaluation
import Foundation
import History
import Reports

/// `--history FILE` of compare, merge and report: the run history database.
struct HistoryOptions: ParsableArguments {
    @Option(name: .customLong("history"), help: "A SQLite run history (default: $EVALHARNESS_HISTORY; none without either). compare and merge append the run and draw the gated metrics' trend in the report.")
    var historyPath: String?
    @Option(name: .customLong("trend-runs"), help: "Runs shown in the report's trend (the last N, this one included).")
    var trendRuns: Int = 20

    func validate() throws {
        guard (2...500).contains(trendRuns) else { throw ValidationError("--trend-runs must be from 2 to 500 (got \(trendRuns))") }
    }

    /// The flag, else the environment variable; nil: no history.
    var path: String? {
        historyPath ?? ProcessInfo.processInfo.environment["EVALHARNESS_HISTORY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Opens (creating) the history before the run, so that a bad path fails in seconds (exit 2), not after training.
    func open(readOnly: Bool = false) throws -> RunHistory? {
        try path.map { try RunHistory(path: $0, readOnly: readOnly) }
    }
}

/// The run's outputs with the history's trend, then the run appended to the history. The reports
/// are written first: a history that cannot be written loses only its index entry (results.json
/// is whole and `history import` adds it later), never the run or its verdict.
func writeReports(_ result: RunResult, baseline: RunResult?, history: RunHistory?, trendRuns: Int,
                  into outputs: OutputSet, quiet: Bool) throws {
    var trends: [MetricTrend] = []
    if let history {
        do {
            trends = try history.gatedTrends(for: result, limit: trendRuns)
        } catch {
            printWarning("the report has no trend: \(error)")
        }
    }
    try writeReports(result, baseline: baseline, trends: trends, into: outputs)
    guard let history else { return }
    do {
        let outcome = try history.append(result, source: outputs.directory.appendingPathComponent("results.json").path)
        if !quiet, outcome == .added {
            FileHandle.standardError.write(Data("history: run added to \(history.path)\n".utf8))
        }
    } catch {
        printWarning("the run was not added to the history (\(error)); add it later with: evalharness history import \(outputs.directory.path) --history \(history.path)")
    }
}

func printWarning(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}

extension SourceRevision {
    /// The commit and branch a run measures: CI's variables when set (GitHub Actions, GitLab CI),
    /// else the git work tree holding `path`; nil outside one.
    static func detect(near path: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> SourceRevision? {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let commit = value("GITHUB_SHA") {
            return SourceRevision(commit: commit, branch: value("GITHUB_HEAD_REF") ?? value("GITHUB_REF_NAME"))
        }
        if let commit = value("CI_COMMIT_SHA") {
            return SourceRevision(commit: commit, branch: value("CI_COMMIT_REF_NAME"))
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard let commit = git(["rev-parse", "--verify", "-q", "HEAD"], in: folder) else { return nil }
        return SourceRevision(commit: commit, branch: git(["symbolic-ref", "--short", "-q", "HEAD"], in: folder))
    }

    /// One line of git's output, or nil (no git, not a work tree, no such ref).
    private static func git(_ arguments: [String], in folder: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder.isEmpty ? "." : folder] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show a metric's trend over the runs in a history database, or rebuild it from results.json files.",
        subcommands: [HistoryShowCommand.self, HistoryImportCommand.self],
        defaultSubcommand: HistoryShowCommand.self
    )
}

struct HistoryShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a metric of a suite's candidates over its last runs (the default history command).",
        discussion: """
        Examples:
          evalharness history --history runs.sqlite --metric accuracy
          evalharness history --history runs.sqlite --metric "recall[grain]" --candidate lora --last 50
        """
    )

    @OptionGroup var historyOptions: HistoryOptions
    @Option(help: "The suite (default: the one run most recently).") var suite: String?
    @Option(help: "The metric, as checks name it (e.g. accuracy, f1_macro, recall[grain], forgetting.probe:wordnet.absolute_drop).")
    var metric: String = "accuracy"
    @Option(help: "Only this candidate (repeat for several).") var candidate: [String] = []
    @Option(help: "The last N runs.") var last: Int = 20
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        try reportingErrors {
            guard last >= 1 else { throw InputError(description: "--last must be at least 1 (got \(last))") }
            guard let path = historyOptions.path else {
                throw InputError(description: "history: no database given; pass --history FILE or set EVALHARNESS_HISTORY")
            }
            let history = try RunHistory(path: path, readOnly: true)
            let suites = try history.suites()
            guard let suiteName = suite ?? suites.first?.name else {
                throw InputError(description: "\(path): the history holds no runs yet")
            }
            guard suites.contains(where: { $0.name == suiteName }) else {
                throw InputError(description: "\(path): no runs of suite \"\(suiteName)\" (it has: \(suites.map(\.name).joined(separator: ", ")))")
            }
            let names = try history.metricNames(suite: suiteName)
            guard names.contains(metric) else {
                throw InputError(description: "\(path): suite \(suiteName) has no metric \"\(metric)\" (it has: \(names.joined(separator: ", ")))")
            }
            let trend = try history.trend(suite: suiteName, metric: metric, candidates: candidate.isEmpty ? nil : candidate, limit: last)
            let missing = candidate.filter { name in !trend.series.contains { $0.candidate == name } }
            guard missing.isEmpty else {
                throw InputError(description: "\(path): no candidate \(missing.joined(separator: ", ")) in the last \(last) runs of \(suiteName) with \(metric)")
            }
            if json {
                print(String(decoding: try TrendJSON.encode(trend), as: UTF8.self))
            } else {
                let total = suites.first { $0.name == suiteName }?.runs ?? trend.runs.count
                print(TrendTable.render(trend, totalRuns: total, path: path))
            }
        }
    }
}

struct HistoryImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add every results.json under the given folders to the history (the database is an index of them).",
        discussion: """
        Runs already in the history are left as they are, so importing a folder twice adds nothing.
        To rebuild a lost or corrupt database, delete it and import the folders of results again.

        Example:
          evalharness history import reports/ ci-artifacts/ --history runs.sqlite
        """
    )

    @Argument(help: "Folders searched recursively for results.json (or results.json files).") var folders: [String]
    @OptionGroup var historyOptions: HistoryOptions

    func run() throws {
        try reportingErrors {
            guard let path = historyOptions.path else {
                throw InputError(description: "history import: no database given; pass --history FILE or set EVALHARNESS_HISTORY")
            }
            var files: [String] = []
            for folder in folders {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
                    throw InputError(description: "\(folder): no such folder or file")
                }
                if !isDirectory.boolValue { files.append(folder); continue }
                let found = FileManager.default.enumerator(atPath: folder).map { enumerator in
                    enumerator.compactMap { $0 as? String }.filter { ($0 as NSString).lastPathComponent == "results.json" }
                } ?? []
                files += found.sorted().map { URL(fileURLWithPath: folder).appendingPathComponent($0).path }
            }
            let history = try RunHistory(path: path)
            // Oldest first, so that the database's row order follows time as appends do.
            var runs: [(path: String, run: RunResult)] = []
            var skipped: [String] = []
            for file in files {
                do { runs.append((file, try loadResults(file))) } catch let error as InputError { skipped.append(error.description) }
            }
            var added = 0, present = 0
            for (file, run) in runs.sorted(by: { $0.run.startedAt < $1.run.startedAt }) {
                if try history.append(run, source: file) == .added { added += 1 } else { present += 1 }
            }
            for reason in skipped { printWarning("skipped \(reason)") }
            print("\(path): \(added) run(s) added, \(present) already present, \(skipped.count) file(s) skipped")
        }
    }
}

/// The trend as a terminal table: one row per run, oldest first, one column per candidate, and a
/// sparkline per candidate at the bottom.
enum TrendTable {
    static func render(_ trend: MetricTrend, totalRuns: Int, path: String) -> String {
        let direction = trend.higherIsBetter ? "higher is better" : "lower is better"
        var lines = ["\(path) · suite \(trend.suite) · \(trend.metric) (\(direction)) · last \(trend.runs.count) of \(totalRuns) runs", ""]
        let header = ["#", "started (UTC)", "commit", "branch", "gate"] + trend.series.map(\.candidate)
        var rows: [[String]] = []
        for (index, run) in trend.runs.enumerated() {
            var row = [String(index + 1), String(run.startedAt.prefix(16)).replacingOccurrences(of: "T", with: " "),
                       run.commit.map { String($0.prefix(8)) } ?? "—", run.branch ?? "—", run.verdict]
            for series in trend.series {
                row.append(series.points[index].map { point in
                    var text = String(format: "%.4f", point.value)
                    if let low = point.low, let high = point.high { text += String(format: " [%.3f, %.3f]", low, high) }
                    return text
                } ?? "—")
            }
            rows.append(row)
        }
        var footer = ["", "trend", "", "", ""]
        footer += trend.series.map { MarkdownSummary.sparkline($0.points.map { $0?.value }) }
        let table = [header] + rows + [footer]
        let widths = header.indices.map { column in table.map { $0[column].count }.max() ?? 0 }
        for row in table {
            lines.append(row.enumerated().map { column, text in
                column == row.count - 1 ? text : text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}

/// The trend as JSON: runs oldest first, each with its candidates' values.
enum TrendJSON {
    struct Value: Encodable { let value: Double; let ci_low: Double?; let ci_high: Double?; let seeds: Int? }
    struct Run: Encodable {
        let started_at: String; let commit: String?; let branch: String?; let verdict: String
        let values: [String: Value]
    }
    struct Output: Encodable {
        let suite: String; let metric: String; let higher_is_better: Bool; let candidates: [String]; let runs: [Run]
    }

    static func encode(_ trend: MetricTrend) throws -> Data {
        let runs = trend.runs.enumerated().map { index, run in
            var values: [String: Value] = [:]
            for series in trend.series {
                if let point = series.points[index] {
                    values[series.candidate] = Value(value: point.value, ci_low: point.low, ci_high: point.high, seeds: point.seeds)
                }
            }
            return Run(started_at: run.startedAt, commit: run.commit, branch: run.branch, verdict: run.verdict, values: values)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(Output(suite: trend.suite, metric: trend.metric, higher_is_better: trend.higherIsBetter,
                                         candidates: trend.series.map(\.candidate), runs: runs))
    }
}
