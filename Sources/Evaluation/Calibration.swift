import Foundation

/// What a suite's gate can see: from K training seeds of each candidate, how large the seed-to-seed
/// and test-sampling variation of each gated metric are, and — for a run with N seeds gated against
/// a baseline run with N other seeds of the same configuration — the smallest non-inferiority
/// margin that an unchanged candidate fails at most `falseFailRate` of the time (A/A), and the
/// smallest true regression that such a margin catches with probability `power`.
///
/// The model (normal approximation, both arms of N seeds on the same n test examples):
/// - a seed's metric on the test set varies with sd σ (the sample sd of the K seeds' values);
/// - between two identical configurations the difference of N-seed means d has sd √(2σ²/N) — the
///   test examples are the same in both runs, so test sampling does not move d;
/// - the gate's two-level bootstrap standard error of d is SE_N = √(2σ²/N + v/N): the seed part it
///   resamples plus the example part v/N, measured by bootstrapping the examples of the difference
///   between two disjoint halves of the K seeds and scaled to N seeds;
/// - the check fails when the lower bound d − z·SE_N falls below −margin (z the two-sided interval's
///   quantile). So the A/A false-fail rate is Φ((z·SE_N − margin)/sd_d), and it is ≤ f when
///   margin ≥ z·SE_N + z_{1−f}·sd_d; a regression Δ is caught with probability ≥ π when
///   Δ ≥ (z_{1−f} + z_π)·sd_d.
/// Both scale as 1/√N, so a margin m needs N ≥ (margin₁ / m)² seeds.
///
/// The estimates carry the uncertainty of K seeds (σ from 8 seeds is within about ±30 % at 90 %);
/// the committed A/A experiment (`scripts/experiments/seed_gate.py`) checks the model on real runs.
public enum Calibration {
    public static func compute(
        run: RunResult, metrics: [String], falseFailRate: Double = 0.05, power: Double = 0.8,
        level: Double = 0.95, resamples: Int = 1000, seed: UInt64
    ) -> CalibrationResult {
        let z = normalQuantile(1 - (1 - level) / 2)
        let zFalse = normalQuantile(1 - falseFailRate)
        let zPower = normalQuantile(power)
        var candidates: [CalibrationResult.Candidate] = []
        for candidate in run.candidates where candidate.status == .ok {
            let runs = candidate.completedSeedRuns.map(\.predictions)
            guard runs.count >= 2, let classCount = candidate.report?.classCount else { continue }
            var entries: [CalibrationResult.Metric] = []
            for metric in metrics where Gate.headlineMetricNames.contains(metric) {
                let all = Array(runs[0].indices)
                let values = runs.map { Gate.exampleMetric(metric, of: $0, at: all, classCount: classCount) }
                let sigma = SeedSpread.standardDeviation(values)
                let testSD = runs.enumerated().map { offset, rows in
                    Bootstrap.forEachStatistic(count: rows.count, resamples: resamples, seed: seed &+ UInt64(offset)) {
                        Gate.exampleMetric(metric, of: rows, at: $0, classCount: classCount)
                    }
                }.map(SeedSpread.standardDeviation).reduce(0, +) / Double(runs.count)
                // Example part of the gate's standard error, from two disjoint halves of h seeds each.
                let h = runs.count / 2
                let halfDifference = TwoLevelBootstrap.difference(
                    candidateSeeds: 1, referenceSeeds: 1, exampleCount: runs[0].count, resamples: resamples, seed: seed,
                    candidate: { _, idx in (0..<h).reduce(0) { $0 + Gate.exampleMetric(metric, of: runs[$1], at: idx, classCount: classCount) } / Double(h) },
                    reference: { _, idx in (h..<2 * h).reduce(0) { $0 + Gate.exampleMetric(metric, of: runs[$1], at: idx, classCount: classCount) } / Double(h) })
                let exampleVariance = pow(halfDifference.standardError, 2) * Double(h)
                let rows = (1...max(runs.count, 16)).map { n -> CalibrationResult.Row in
                    let sdDifference = (2 * sigma * sigma / Double(n)).squareRoot()
                    let standardError = (2 * sigma * sigma / Double(n) + exampleVariance / Double(n)).squareRoot()
                    return CalibrationResult.Row(seeds: n, margin: z * standardError + zFalse * sdDifference,
                                                 detectableRegression: (zFalse + zPower) * sdDifference)
                }
                entries.append(CalibrationResult.Metric(metric: metric, seedValues: values, seedSD: sigma, testSD: testSD,
                                                        exampleVariance: exampleVariance, rows: rows))
            }
            candidates.append(CalibrationResult.Candidate(name: candidate.name, seedsTrained: runs.count, metrics: entries))
        }
        return CalibrationResult(suite: run.suite.name, suiteSHA256: run.suite.contentSHA256, level: level,
                                 falseFailRate: falseFailRate, power: power, candidates: candidates)
    }

    /// Φ⁻¹(p) by bisection on Φ(x) = erfc(−x/√2)/2 (to 1e-12; p in (0, 1)).
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "p must be in (0, 1)")
        var low = -40.0, high = 40.0
        while high - low > 1e-12 {
            let mid = (low + high) / 2
            if 0.5 * erfc(-mid / 2.0.squareRoot()) < p { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}

/// `calibration.json`: what `evalharness calibrate` measured, read back by `compare` (suite key
/// `calibration:`) to warn about margins the run's seed count cannot decide.
public struct CalibrationResult: Codable, Equatable, Sendable {
    public static let currentSchemaVersion = 1
    public var schemaVersion = CalibrationResult.currentSchemaVersion
    public var suite: String
    public var suiteSHA256: String
    public var level: Double
    /// The A/A false-fail rate the margins keep (per check).
    public var falseFailRate: Double
    /// The probability with which `detectable_regression` is caught.
    public var power: Double
    public var candidates: [Candidate]

    public struct Candidate: Codable, Equatable, Sendable {
        public var name: String
        public var seedsTrained: Int
        public var metrics: [Metric]
        enum CodingKeys: String, CodingKey { case name, seedsTrained = "seeds_trained", metrics }
    }

    public struct Metric: Codable, Equatable, Sendable {
        public var metric: String
        /// Each seed's value on the full test set.
        public var seedValues: [Double]
        /// Sample sd of `seedValues`: training variance.
        public var seedSD: Double
        /// Mean over seeds of the bootstrap sd over test examples: test-sampling variance.
        public var testSD: Double
        /// n · variance of a one-seed difference from test sampling (the model's v).
        public var exampleVariance: Double
        /// For N = 1, 2, … seeds per run.
        public var rows: [Row]
        enum CodingKeys: String, CodingKey {
            case metric, seedValues = "seed_values", seedSD = "seed_sd", testSD = "test_sd"
            case exampleVariance = "example_variance", rows
        }

        /// The fewest seeds whose A/A-safe margin is at most `margin` (by the 1/√N law past the table).
        public func seedsNeeded(forMargin margin: Double) -> Int {
            if let row = rows.first(where: { $0.margin <= margin }) { return row.seeds }
            guard margin > 0, let one = rows.first?.margin else { return Int.max }
            return Int(((one / margin) * (one / margin)).rounded(.up))
        }
    }

    public struct Row: Codable, Equatable, Sendable {
        public var seeds: Int
        /// Smallest margin with A/A false-fail rate ≤ `falseFailRate`.
        public var margin: Double
        /// Smallest regression that margin catches with probability ≥ `power`.
        public var detectableRegression: Double
        enum CodingKeys: String, CodingKey { case seeds, margin, detectableRegression = "detectable_regression" }
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", suite, suiteSHA256 = "suite_sha256", level
        case falseFailRate = "false_fail_rate", power, candidates
    }

    public func entry(candidate: String, metric: String) -> Metric? {
        candidates.first { $0.name == candidate }?.metrics.first { $0.metric == metric }
    }
}

extension Gate {
    /// "margin 0.01 needs ≥ 6 seeds (calibration); this run has 2" for a baseline non-inferiority
    /// check whose margin is below what the run's seed count can decide.
    static func calibrationWarning(_ check: CheckSpec, outcome: CheckResult, run: RunResult, baseline: RunResult?,
                                   calibration: CalibrationResult) -> String? {
        guard case .nonInferior(let reference, let margin) = check.kind, reference == "baseline",
              outcome.status == .passed || outcome.status == .failed,
              let entry = calibration.entry(candidate: outcome.candidate, metric: check.metric),
              let candidate = run.candidate(named: outcome.candidate) else { return nil }
        let seeds = min(candidate.completedSeedRuns.count,
                        baseline?.candidate(named: outcome.candidate)?.completedSeedRuns.count ?? Int.max)
        let needed = entry.seedsNeeded(forMargin: margin)
        guard needed > seeds else { return nil }
        let neededText = needed == Int.max ? "more seeds than can be trained" : "≥ \(needed) seeds"
        return "margin \(formatThreshold(margin)) needs \(neededText) to keep unchanged runs failing at most "
            + "\(formatThreshold(calibration.falseFailRate * 100))% of the time (calibration of \(entry.seedValues.count) seeds, "
            + "seed sd \(formatMeasured(entry.seedSD))); this run has \(seeds)"
    }
}
