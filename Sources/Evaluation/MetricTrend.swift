/// One metric of a suite's candidates over its most recent runs, oldest first: what
/// `evalharness history` prints and the report's trend chart draws. The History module builds it
/// from its database; the current run, not yet stored, can be added as the last run.
public struct MetricTrend: Equatable, Sendable {
    public struct Run: Equatable, Sendable {
        public let startedAt: String
        /// The source revision the run measured (nil: not recorded).
        public let commit: String?
        public let branch: String?
        /// "passed", "failed" or "error": the run's gate verdict.
        public let verdict: String
        /// The run this report is about.
        public let isCurrent: Bool
        public init(startedAt: String, commit: String?, branch: String?, verdict: String, isCurrent: Bool = false) {
            self.startedAt = startedAt; self.commit = commit; self.branch = branch; self.verdict = verdict
            self.isCurrent = isCurrent
        }
        /// A short label: the commit's first 7 characters, else the start date.
        public var shortLabel: String { commit.map { String($0.prefix(7)) } ?? String(startedAt.prefix(10)) }
    }

    /// A metric's value in one run, with its interval when it has one.
    public struct Point: Equatable, Sendable {
        public let value: Double
        public let low: Double?
        public let high: Double?
        /// Training seeds the value averages (nil: one, or not recorded).
        public let seeds: Int?
        public init(value: Double, low: Double? = nil, high: Double? = nil, seeds: Int? = nil) {
            self.value = value; self.low = low; self.high = high; self.seeds = seeds
        }
    }

    /// One candidate's points, one per run (nil: the candidate did not run or has no value there).
    public struct Series: Equatable, Sendable {
        public let candidate: String
        public var points: [Point?]
        public init(candidate: String, points: [Point?]) { self.candidate = candidate; self.points = points }
    }

    public let suite: String
    public let metric: String
    public let higherIsBetter: Bool
    public var runs: [Run]
    public var series: [Series]

    public init(suite: String, metric: String, runs: [Run], series: [Series]) {
        self.suite = suite; self.metric = metric; self.higherIsBetter = Gate.higherIsBetter(metric)
        self.runs = runs; self.series = series
    }

    /// This trend with `run` appended as the newest (and current) run, its candidates' values of
    /// the metric as the last points; the oldest run is dropped past `limit` runs.
    public func appending(_ run: RunResult, limit: Int) -> MetricTrend {
        var trend = self
        trend.runs.append(Run(startedAt: run.startedAt, commit: run.revision?.commit, branch: run.revision?.branch,
                              verdict: Gate.verdict(for: run).rawValue, isCurrent: true))
        var byName = Dictionary(uniqueKeysWithValues: trend.series.enumerated().map { ($0.element.candidate, $0.offset) })
        for candidate in run.candidates {
            if byName[candidate.name] == nil {
                byName[candidate.name] = trend.series.count
                trend.series.append(Series(candidate: candidate.name, points: Array(repeating: nil, count: runs.count)))
            }
        }
        for index in trend.series.indices {
            let point = run.candidate(named: trend.series[index].candidate)
                .flatMap { Gate.measurement(metric, of: $0, in: run) }
                .map { Point(value: $0.value, low: $0.low, high: $0.high, seeds: $0.seeds?.count) }
            trend.series[index].points.append(point)
        }
        if trend.runs.count > limit {
            let drop = trend.runs.count - limit
            trend.runs.removeFirst(drop)
            for index in trend.series.indices { trend.series[index].points.removeFirst(drop) }
            trend.series.removeAll { $0.points.allSatisfy { $0 == nil } }
        }
        return trend
    }
}

/// The source revision a run measured, when the suite lives in a git work tree or CI names it.
public struct SourceRevision: Codable, Equatable, Sendable {
    public var commit: String
    /// The branch (nil: a detached head with no CI variable naming one).
    public var branch: String?
    public init(commit: String, branch: String?) { self.commit = commit; self.branch = branch }
}
