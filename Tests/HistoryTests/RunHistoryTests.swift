import Evaluation
import Foundation
import History
import XCTest

final class RunHistoryTests: XCTestCase {
    private func temporaryFile(_ name: String = "history.sqlite") throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("evalharness-history-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.appendingPathComponent(name).path
    }

    func testTwentyRunsAppendedAndQueriedInOrder() throws {
        let path = try temporaryFile()
        let history = try RunHistory(path: path)
        let runs = (0..<20).map { SimulatedRun.make(index: $0) }
        // Appended out of order: queries order by start time, not by insertion.
        for run in runs.shuffled(using: &FixedGenerator.shared) {
            XCTAssertEqual(try history.append(run, source: "runs/\(run.startedAt)/results.json"), .added)
        }
        XCTAssertEqual(try history.suites().map(\.name), ["tiny"])
        XCTAssertEqual(try history.suites().first?.runs, 20)

        let trend = try history.trend(suite: "tiny", metric: "accuracy", limit: 20)
        XCTAssertEqual(trend.runs.map(\.startedAt), runs.map(\.startedAt))
        XCTAssertEqual(trend.runs.map(\.commit), runs.map { $0.revision?.commit })
        XCTAssertEqual(Set(trend.series.map(\.candidate)), ["lora", "full"])
        for series in trend.series {
            for (index, run) in runs.enumerated() {
                guard let metrics = run.candidate(named: series.candidate)?.metrics?.accuracy else {
                    XCTAssertNil(series.points[index]); continue
                }
                XCTAssertEqual(series.points[index]?.value, metrics.value)
                XCTAssertEqual(series.points[index]?.low, metrics.low)
                XCTAssertEqual(series.points[index]?.high, metrics.high)
            }
        }
        // The last five, one candidate; and the runs before a given time.
        let lastFive = try history.trend(suite: "tiny", metric: "accuracy", candidates: ["lora"], limit: 5)
        XCTAssertEqual(lastFive.runs.map(\.startedAt), runs.suffix(5).map(\.startedAt))
        XCTAssertEqual(lastFive.series.map(\.candidate), ["lora"])
        let before = try history.trend(suite: "tiny", metric: "accuracy", limit: 3, before: runs[10].startedAt)
        XCTAssertEqual(before.runs.map(\.startedAt), runs[7..<10].map(\.startedAt))
        // A metric only some runs have (the full candidate is missing from run 4): a gap, not a zero.
        XCTAssertNil(trend.series.first { $0.candidate == "full" }!.points[4])
        // Lower-is-better metrics are known as such.
        XCTAssertFalse(try history.trend(suite: "tiny", metric: "log_loss", limit: 20).higherIsBetter)
    }

    func testEveryGateMetricIsStored() throws {
        let path = try temporaryFile()
        let history = try RunHistory(path: path)
        let run = SimulatedRun.make(index: 0)
        try history.append(run, source: nil)
        let names = try history.metricNames(suite: "tiny")
        for expected in ["accuracy", "f1_macro", "log_loss", "ece", "recall[positive]", "precision[negative]",
                         "forgetting.probe:wordnet.absolute_drop", "forgetting.probe:wordnet.candidate",
                         "overfitting.loss_gap", "training.seconds"] {
            XCTAssertTrue(names.contains(expected), "\(expected) missing from \(names)")
        }
        let recall = try history.trend(suite: "tiny", metric: "recall[positive]", candidates: ["lora"], limit: 1)
        let measured = run.candidate(named: "lora")!.perClassMetrics!.first { $0.label == "positive" }!.recall
        XCTAssertEqual(recall.series.first?.points.first??.value, measured.value)
    }

    func testTheSameRunIsStoredOnce() throws {
        let path = try temporaryFile()
        let history = try RunHistory(path: path)
        let run = SimulatedRun.make(index: 3)
        XCTAssertEqual(try history.append(run, source: "a/results.json"), .added)
        XCTAssertEqual(try history.append(run, source: "b/results.json"), .alreadyPresent)
        // Reopened (another process): still one.
        XCTAssertEqual(try RunHistory(path: path).append(run, source: nil), .alreadyPresent)
        XCTAssertEqual(try history.runs(suite: "tiny", limit: 100).count, 1)
    }

    func testGatedTrendsEndWithTheCurrentRun() throws {
        let path = try temporaryFile()
        let history = try RunHistory(path: path)
        let runs = (0..<8).map { SimulatedRun.make(index: $0) }
        for run in runs.prefix(7) { try history.append(run, source: nil) }
        // The eighth is not stored yet (compare draws the trend before appending).
        let trends = try history.gatedTrends(for: runs[7], limit: 5)
        XCTAssertEqual(trends.map(\.metric), ["accuracy"])
        let trend = trends[0]
        XCTAssertEqual(trend.runs.map(\.startedAt), runs[3...7].map(\.startedAt))
        XCTAssertEqual(trend.runs.map(\.isCurrent), [false, false, false, false, true])
        XCTAssertEqual(trend.series.first { $0.candidate == "lora" }?.points.last??.value,
                       runs[7].candidate(named: "lora")!.metrics!.accuracy.value)
        // Stored already (report --history of an older run): the same picture, the run once.
        try history.append(runs[7], source: nil)
        XCTAssertEqual(try history.gatedTrends(for: runs[7], limit: 5), trends)
        // An older run's report ends at that run.
        XCTAssertEqual(try history.gatedTrends(for: runs[2], limit: 5)[0].runs.map(\.startedAt), runs[0...2].map(\.startedAt))
    }

    func testConcurrentWritersLoseNothing() throws {
        let path = try temporaryFile()
        _ = try RunHistory(path: path)
        let runs = (0..<12).map { SimulatedRun.make(index: $0) }
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { writer in
            do {
                let history = try RunHistory(path: path)  // a connection of its own, as another process has
                for run in runs.enumerated().filter({ $0.offset % 3 == writer }).map(\.element) {
                    try history.append(run, source: nil)
                }
            } catch {
                failures.mutate { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(failures.value, [])
        XCTAssertEqual(try RunHistory(path: path, readOnly: true).runs(suite: "tiny", limit: 100).count, 12)
    }

    func testFilesThatAreNotAHistoryAreRefusedByName() throws {
        let junk = try temporaryFile("junk.sqlite")
        try Data("this is not a database, just text that is long enough to have a header".utf8).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try RunHistory(path: junk)) { error in
            XCTAssertEqual((error as? HistoryError)?.path, junk)
            XCTAssertTrue("\(error)".contains("not a history database"), "\(error)")
        }
        let missing = try temporaryFile("missing.sqlite")
        XCTAssertThrowsError(try RunHistory(path: missing, readOnly: true)) { error in
            XCTAssertTrue("\(error)".contains("no history database here"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "a query must not create the database")
        // Someone else's SQLite database is not taken over.
        let foreign = try temporaryFile("foreign.sqlite")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", foreign, "CREATE TABLE invoices (id INTEGER);"]
        try process.run()
        process.waitUntilExit()
        if process.terminationStatus == 0 {
            XCTAssertThrowsError(try RunHistory(path: foreign)) { error in
                XCTAssertTrue("\(error)".contains("not an evalharness history"), "\(error)")
            }
        }
    }
}

/// Runs of the "tiny" suite with two candidates whose accuracy drifts from run to run, measured by
/// the real Evaluation code; the full candidate is missing from run 4.
enum SimulatedRun {
    static let labels = ["negative", "positive"]

    static func make(index: Int) -> RunResult {
        let accuracyLora = 0.80 + 0.004 * Double(index % 7)
        let accuracyFull = 0.86 - 0.003 * Double(index % 5)
        var candidates = [candidate("lora", method: "lora", accuracy: accuracyLora, seed: UInt64(index * 2 + 1))]
        if index != 4 { candidates.append(candidate("full", method: "full", accuracy: accuracyFull, seed: UInt64(index * 2 + 2))) }
        let day = 1 + index / 24, hour = index % 24
        var run = RunResult(
            suite: SuiteIdentity(name: "tiny", path: "suites/tiny.yaml", contentSHA256: String(repeating: "ab", count: 32)),
            model: ModelIdentity(path: "models/m", sha256: String(repeating: "cd", count: 32), parameters: 1000),
            data: [DataFileIdentity(role: "test", path: "t.jsonl", sha256: String(repeating: "ef", count: 32), examples: 200)],
            environment: EnvironmentInfo(cpu: "cpu", threads: 2, blasCore: "Haswell", operatingSystem: "Linux", evalharnessVersion: "0.9.0"),
            startedAt: String(format: "2026-11-%02dT%02d:00:00Z", day, hour), durationSeconds: 60 + Double(index),
            seed: 7, labels: labels, candidates: candidates, checks: [])
        run.revision = SourceRevision(commit: String(format: "%040x", index * 7919 + 1), branch: index % 3 == 0 ? "main" : "feature")
        run.checks = Gate.evaluate([CheckSpec(metric: "accuracy", kind: .minimum(0.81))], result: run, baseline: nil,
                                   resamples: 50, seed: 1)
        return run
    }

    static func candidate(_ name: String, method: String, accuracy: Double, seed: UInt64) -> CandidateResult {
        var generator = SplitMix64(seed: seed)
        let predictions = (0..<200).map { index -> Prediction in
            let label = index % 2
            let correct = Double(generator.next() >> 11) / Double(1 << 53) < accuracy
            let predicted = correct ? label : 1 - label
            let confidence = 0.6 + 0.3 * Double(generator.next() >> 11) / Double(1 << 53)
            var probabilities = [1 - confidence, 1 - confidence]
            probabilities[predicted] = confidence
            return Prediction(id: "t\(index)", label: label, predicted: predicted, probabilities: probabilities)
        }
        let labels = predictions.map(\.label), predicted = predictions.map(\.predicted), probabilities = predictions.map(\.probabilities)
        let history = [EpochRecord(trainLoss: 0.6, validationLoss: 0.62, trainAccuracy: 0.7, validationAccuracy: 0.69),
                       EpochRecord(trainLoss: 0.4, validationLoss: 0.45, trainAccuracy: 0.82, validationAccuracy: 0.8)]
        let run = SeedRun(
            seed: seed, status: .ok,
            training: TrainingSummary(history: history, bestEpoch: 1, earlyStopped: false, epochsRun: 2, steps: 20, seconds: 12.5,
                                      examplesPerSecond: 100, peakRSSBytes: 300_000_000),
            metrics: HeadlineMetrics.compute(labels: labels, predicted: predicted, probabilities: probabilities,
                                             classCount: 2, resamples: 50, seed: 42),
            report: ClassificationMetrics.compute(labels: labels, predicted: predicted, probabilities: probabilities, classCount: 2),
            forgetting: [ForgettingCheck(name: "probe:wordnet", measure: "probe_accuracy", result: ForgettingReport(base: 0.9, candidate: 0.88))],
            overfitting: OverfittingAnalysis.analyze(history: history), predictions: predictions)
        var result = CandidateResult(name: name, method: method, status: .ok, settings: [:], configHash: name,
                                     trainableParameters: 10, baseWeightBytes: 100, training: run.training, metrics: run.metrics,
                                     report: run.report, forgetting: run.forgetting, overfitting: run.overfitting, seedRuns: [run])
        result.perClassMetrics = SeedAggregation.summarize([run], labels: Self.labels, resamples: 50, level: 0.95, seed: 42).perClassMetrics
        return result
    }
}

/// A seeded generator for `shuffled(using:)`.
struct FixedGenerator: RandomNumberGenerator {
    nonisolated(unsafe) static var shared = FixedGenerator()
    private var state = SplitMix64(seed: 99)
    mutating func next() -> UInt64 { state.next() }
}

final class Locked<Value>: @unchecked Sendable {
    private var stored: Value
    private let lock = NSLock()
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func mutate(_ body: (inout Value) -> Void) { lock.lock(); defer { lock.unlock() }; body(&stored) }
}
