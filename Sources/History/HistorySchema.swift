import GRDB

/// The history database's tables, created and upgraded by GRDB's migrator (one migration per
/// schema change, never edited once released).
///
/// - `run`: one row per stored run: suite, fingerprint (suite content, model and data hashes, tool
///   version, BLAS kernels, threads, CPU), revision, verdict and check counts.
/// - `metric`: per run, candidate and metric name (the names checks use) the value, its interval
///   when it has one, and the training seeds it averages with their standard deviation.
/// - `check_result`: per run, candidate and check the outcome.
enum HistorySchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE run (
                    id INTEGER PRIMARY KEY,
                    suite TEXT NOT NULL,
                    suite_sha256 TEXT NOT NULL,
                    suite_path TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    duration_s REAL NOT NULL,
                    model_sha256 TEXT NOT NULL,
                    model_path TEXT NOT NULL,
                    data_sha256 TEXT NOT NULL,
                    evalharness_version TEXT NOT NULL,
                    blas_core TEXT NOT NULL,
                    threads INTEGER NOT NULL,
                    cpu TEXT NOT NULL,
                    seed TEXT NOT NULL,
                    seeds INTEGER NOT NULL,
                    commit_sha TEXT,
                    branch TEXT,
                    verdict TEXT NOT NULL,
                    checks_passed INTEGER NOT NULL,
                    checks_total INTEGER NOT NULL,
                    source TEXT,
                    UNIQUE (suite_sha256, started_at, duration_s)
                );
                CREATE INDEX run_by_suite ON run (suite, started_at);
                CREATE TABLE metric (
                    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
                    candidate TEXT NOT NULL,
                    method TEXT NOT NULL,
                    config_hash TEXT NOT NULL,
                    name TEXT NOT NULL,
                    value REAL NOT NULL,
                    ci_low REAL,
                    ci_high REAL,
                    seeds INTEGER,
                    seed_sd REAL,
                    PRIMARY KEY (run_id, candidate, name)
                );
                CREATE INDEX metric_by_name ON metric (name, run_id);
                CREATE TABLE check_result (
                    run_id INTEGER NOT NULL REFERENCES run (id) ON DELETE CASCADE,
                    candidate TEXT NOT NULL,
                    name TEXT NOT NULL,
                    metric TEXT NOT NULL,
                    status TEXT NOT NULL,
                    value REAL,
                    threshold REAL NOT NULL,
                    PRIMARY KEY (run_id, candidate, name)
                );
                """)
        }
        return migrator
    }

    /// Creates or upgrades the schema (read-only: only checks it). Refuses an SQLite file that is
    /// someone else's database, and one written by a newer evalharness.
    static func prepare(_ queue: DatabaseQueue, readOnly: Bool) throws {
        let migrator = Self.migrator
        try queue.read { db in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            if !tables.isEmpty, !tables.contains("grdb_migrations") {
                throw HistoryError(path: queue.path, reason: "an SQLite database that is not an evalharness history (it has tables \(tables.prefix(5).joined(separator: ", ")))")
            }
            if try migrator.hasBeenSuperseded(db) {
                throw HistoryError(path: queue.path, reason: "written by a newer evalharness (its schema has migrations this release does not know)")
            }
            if readOnly, try !migrator.hasCompletedMigrations(db) {
                throw HistoryError(path: queue.path, reason: "the history's schema is older than this release's; run any history command that writes (history import) to upgrade it")
            }
        }
        if !readOnly { try migrator.migrate(queue) }
    }
}
