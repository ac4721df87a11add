import Evaluation
import Foundation
import GRDB

/// A local SQLite database of runs (`--history FILE`): per run its fingerprint, revision and
/// verdict, per candidate and metric the value and interval, per check its outcome. It is an index,
/// not a record: `results.json` stays the source of truth, and `import` rebuilds the database from a
/// folder of them. A run is stored once: appending the same results again (the same suite content,
/// start time and duration) changes nothing.
///
/// Safe with several writers (two CI jobs on one shared file): SQLite serialises them, and each
/// append is one transaction, so a reader sees a run with all its metrics or not at all.
public final class RunHistory {
    public let path: String
    private let queue: DatabaseQueue

    /// Opens the database at `path`, creating it (and its schema) when it does not exist.
    /// `readOnly` refuses to create one: a query of a history that does not exist is an error.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        if readOnly, !FileManager.default.fileExists(atPath: path) {
            throw HistoryError(path: path, reason: "no history database here (runs are added by compare/merge --history, or by history import)")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)  // another writer's transaction is short; wait for it
        configuration.foreignKeysEnabled = true
        configuration.readonly = readOnly
        do {
            if !readOnly {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try HistorySchema.prepare(queue, readOnly: readOnly)
        } catch let error as HistoryError {
            throw error
        } catch let error as DatabaseError {
            throw HistoryError(path: path, reason: HistoryError.describe(error))
        } catch {
            throw HistoryError(path: path, reason: "\(error)")
        }
    }

    public enum AppendOutcome: Equatable {
        case added
        /// The run was already stored (the same suite content, start time and duration).
        case alreadyPresent
    }

    /// Stores `run` with every candidate's measurements and every check. `source` is where its
    /// results.json lives (shown by `history`, used by nothing).
    @discardableResult
    public func append(_ run: RunResult, source: String?) throws -> AppendOutcome {
        try writing { db in
            let key = RunKey(run)
            let passed = run.checks.filter { $0.status == .passed }.count
            // The table's UNIQUE (suite_sha256, started_at, duration_s) decides "already stored",
            // in the same statement as the insert, so two writers cannot both add the run.
            try db.execute(sql: """
                INSERT OR IGNORE INTO run (suite, suite_sha256, suite_path, started_at, duration_s, model_sha256, model_path,
                                 data_sha256, evalharness_version, blas_core, threads, cpu, seed, seeds, commit_sha,
                                 branch, verdict, checks_passed, checks_total, source)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    run.suite.name, key.suiteSHA256, run.suite.path, key.startedAt, key.duration,
                    run.model.sha256, run.model.path, Self.dataDigest(run), run.environment.evalharnessVersion,
                    run.environment.blasCore, run.environment.threads, run.environment.cpu,
                    String(run.seed),  // UInt64 may exceed SQLite's signed integers
                    run.candidates.map(\.seedRuns.count).max() ?? 0, run.revision?.commit, run.revision?.branch,
                    Gate.verdict(for: run).rawValue, passed, run.checks.count, source])
            guard db.changesCount == 1 else { return .alreadyPresent }
            let runID = db.lastInsertedRowID
            for candidate in run.candidates {
                for measurement in Gate.measurements(of: candidate, in: run) {
                    try db.execute(sql: """
                        INSERT INTO metric (run_id, candidate, method, config_hash, name, value, ci_low, ci_high, seeds, seed_sd)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [runID, candidate.name, candidate.method, candidate.configHash, measurement.name,
                                         measurement.value, measurement.low, measurement.high,
                                         measurement.seeds?.count ?? candidate.completedSeedRuns.count, measurement.seeds?.sd])
                }
            }
            for check in run.checks {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO check_result (run_id, candidate, name, metric, status, value, threshold)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [runID, check.candidate, check.name, check.metric, check.status.rawValue,
                                     check.value, check.threshold])
            }
            return .added
        }
    }

    // MARK: Queries

    /// One stored run, as `history` lists it.
    public struct StoredRun: Equatable, Sendable {
        public let id: Int64
        public let suite: String
        public let startedAt: String
        public let durationSeconds: Double
        public let commit: String?
        public let branch: String?
        public let verdict: String
        public let checksPassed: Int
        public let checksTotal: Int
        public let seeds: Int
        public let evalharnessVersion: String
        public let source: String?
    }

    /// The suites stored, with their run counts, most recently run first.
    public func suites() throws -> [(name: String, runs: Int)] {
        try reading { db in
            try Row.fetchAll(db, sql: """
                SELECT suite, count(*) AS runs, max(started_at) AS latest FROM run GROUP BY suite ORDER BY latest DESC
                """).map { (name: $0["suite"], runs: $0["runs"]) }
        }
    }

    /// The last `limit` runs of `suite`, oldest first (`before`: only runs started before then).
    public func runs(suite: String, limit: Int, before: String? = nil) throws -> [StoredRun] {
        try reading { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM (SELECT * FROM run WHERE suite = ? AND (? IS NULL OR started_at < ?)
                               ORDER BY started_at DESC, id DESC LIMIT ?)
                ORDER BY started_at, id
                """, arguments: [suite, before, before, limit])
            return rows.map { row in
                StoredRun(id: row["id"], suite: row["suite"], startedAt: row["started_at"], durationSeconds: row["duration_s"],
                          commit: row["commit_sha"], branch: row["branch"], verdict: row["verdict"],
                          checksPassed: row["checks_passed"], checksTotal: row["checks_total"], seeds: row["seeds"],
                          evalharnessVersion: row["evalharness_version"], source: row["source"])
            }
        }
    }

    /// The metric names stored for `suite`, in the order the first run that has them lists them.
    public func metricNames(suite: String) throws -> [String] {
        try reading { db in
            try String.fetchAll(db, sql: """
                SELECT metric.name FROM metric JOIN run ON run.id = metric.run_id WHERE run.suite = ?
                GROUP BY metric.name ORDER BY min(metric.rowid)
                """, arguments: [suite])
        }
    }

    /// `metric` of `suite`'s candidates (all, or those named) over its last `limit` runs, oldest
    /// first; `before` keeps only runs started before that time (the report of a run shows the runs
    /// up to it). Candidates are in order of first appearance.
    public func trend(suite: String, metric: String, candidates: [String]? = nil, limit: Int,
                      before: String? = nil) throws -> MetricTrend {
        let stored = try runs(suite: suite, limit: limit, before: before)
        let points: [Row] = try reading { db in
            guard !stored.isEmpty else { return [] }
            return try Row.fetchAll(db, sql: """
                SELECT metric.run_id, metric.candidate, metric.value, metric.ci_low, metric.ci_high, metric.seeds
                FROM metric JOIN run ON run.id = metric.run_id
                WHERE run.suite = ? AND metric.name = ? AND run.id IN (\(stored.map { String($0.id) }.joined(separator: ",")))
                ORDER BY run.started_at, run.id, metric.rowid
                """, arguments: [suite, metric])
        }
        let position = Dictionary(uniqueKeysWithValues: stored.enumerated().map { ($0.element.id, $0.offset) })
        var series: [MetricTrend.Series] = []
        var seriesIndex: [String: Int] = [:]
        for row in points {
            let candidate: String = row["candidate"]
            if let wanted = candidates, !wanted.contains(candidate) { continue }
            if seriesIndex[candidate] == nil {
                seriesIndex[candidate] = series.count
                series.append(MetricTrend.Series(candidate: candidate, points: Array(repeating: nil, count: stored.count)))
            }
            let seeds: Int? = row["seeds"]
            series[seriesIndex[candidate]!].points[position[row["run_id"]]!] = MetricTrend.Point(
                value: row["value"], low: row["ci_low"], high: row["ci_high"], seeds: seeds.flatMap { $0 > 1 ? $0 : nil })
        }
        let runs = stored.map { MetricTrend.Run(startedAt: $0.startedAt, commit: $0.commit, branch: $0.branch, verdict: $0.verdict) }
        return MetricTrend(suite: suite, metric: metric, runs: runs, series: series)
    }

    /// The trends of the metrics `run`'s checks gate on, over the stored runs of its suite that
    /// started before it plus the run itself (whether stored yet or not) as the newest point.
    public func gatedTrends(for run: RunResult, limit: Int) throws -> [MetricTrend] {
        var metrics: [String] = []
        for check in run.checks where !metrics.contains(check.metric) { metrics.append(check.metric) }
        return try metrics.map { metric in
            try trend(suite: run.suite.name, metric: metric, limit: limit - 1, before: run.startedAt)
                .appending(run, limit: limit)
        }
    }

    // MARK: Internals

    /// What makes a run the same run: its suite's content, when it started and how long it took.
    private struct RunKey {
        let suiteSHA256: String
        let startedAt: String
        let duration: Double
        init(_ run: RunResult) {
            suiteSHA256 = run.suite.contentSHA256; startedAt = run.startedAt; duration = run.durationSeconds
        }
    }

    /// The data files as one string, role:sha256 in order: equal for two runs on the same data.
    static func dataDigest(_ run: RunResult) -> String {
        run.data.map { "\($0.role):\($0.sha256)" }.joined(separator: ",")
    }

    private func reading<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.read(body) } catch let error as DatabaseError {
            throw HistoryError(path: path, reason: HistoryError.describe(error))
        }
    }

    private func writing<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try queue.write(body) } catch let error as DatabaseError {
            throw HistoryError(path: path, reason: HistoryError.describe(error))
        }
    }
}

/// A history database that cannot be opened, read or written, in words naming the file.
public struct HistoryError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }

    static func describe(_ error: DatabaseError) -> String {
        switch error.resultCode {
        case .SQLITE_NOTADB: "not a history database (not an SQLite file)"
        case .SQLITE_BUSY, .SQLITE_LOCKED: "the database stayed locked by another writer for 30 s"
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM: "cannot open or write the database (\(error.message ?? "permission denied"))"
        case .SQLITE_CORRUPT: "the database is corrupt (rebuild it with history import)"
        default: error.message ?? "\(error)"
        }
    }
}
