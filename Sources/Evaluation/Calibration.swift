import Foundation

/// What a suite's gate can see: from K training seeds of each candidate, how large the seed-to-seed
/// and test-sampling variation of each gated metric are, and — for a run with N seeds gated against
/// a baseline run with N other seeds of the same configuration — the smallest non-inferiority
/// margin that an unchanged candidate fails at most `falseFailRate` of the time (A/A), and the
/// smallest true regression that such a margin catches with probability `power`.
///
/// The model (normal approximation, both arms of N seeds on the same n test examples):
/// - a seed's metric on the test set varies with sd σ (the sample sd of the K seeds' values);
/// - between two identical configurations the difference d of N-seed means is N(0, 2σ²/N) — the
///   test examples are the same in both runs, so test sampling does not move d;
/// - the gate's two-level bootstrap standard error is *estimated* from the run's own seeds:
///   SE² = (s²_A + s²_B)/N + v/N, with s²_A, s²_B each σ²·χ²(N−1)/(N−1) (the seeds' sample variance,
///   independent of d) and v/N the test-sampling part, measured by bootstrapping the examples of the
///   difference between two disjoint halves of the K seeds; with one seed there is no seed part;
/// - the check fails when the lower bound d − z·SE falls below −margin (z the two-sided quantile).
/// With X = z·SE − d, the A/A false-fail rate at a margin is P(X > margin), so the safe margin is X's
/// (1 − f) quantile; a regression Δ fails with probability P(X > margin − Δ), so it is caught with
/// probability π when Δ ≥ q_{1−f}(X) − q_{1−π}(X). X's quantiles are computed by simulation (20,000
/// draws, seeded). The estimated SE is what makes few seeds expensive: with 3 seeds it is often
/// much too small (a χ² with 2 degrees of freedom), and the margin must cover that.
///
/// The estimates carry the uncertainty of K seeds (from 8 seeds, σ's 90 % interval is 0.71–1.80 times
/// its estimate: √(7/χ²₇) at the 95th and 5th percentiles);
/// the committed A/A experiment (`scripts/experiments/seed_gate.py`) checks the model on real runs.
public enum Calibration {
    public static func compute(
        run: RunResult, metrics: [String], falseFailRate: Double = 0.05, power: Double = 0.8,
        level: Double = 0.95, resamples: Int = 1000, seed: UInt64
    ) -> CalibrationResult {
        let z = normalQuantile(1 - (1 - level) / 2)
        var candidates: [CalibrationResult.Candidate] = []
        for candidate in run.candidates where candidate.status == .ok {
            let runs = candidate.completedSeedRuns
            guard runs.count >= 2 else { continue }
            var entries: [CalibrationResult.Metric] = []
            for metric in metrics {
                guard let measured = TestMetric.named(metric, labels: run.labels, positiveClass: run.positiveClass, generation: run.isGeneration),
                      case let count = measured.ids(of: runs[0]).count, count > 0,
                      runs.allSatisfy({ measured.problem(in: $0, of: candidate.name) == nil && measured.ids(of: $0).count == count })
                else { continue }
                let all = Array(0..<count)
                let values = runs.map { measured.value(of: $0, at: all) }
                let sigma = SeedSpread.standardDeviation(values)
                let testSD = runs.enumerated().map { offset, seedRun in
                    Bootstrap.forEachStatistic(count: count, resamples: resamples, seed: seed &+ UInt64(offset)) {
                        measured.value(of: seedRun, at: $0)
                    }
                }.map(SeedSpread.standardDeviation).reduce(0, +) / Double(runs.count)
                // Example part of the gate's standard error, from two disjoint halves of h seeds each.
                let h = runs.count / 2
                let halfDifference = TwoLevelBootstrap.difference(
                    candidateSeeds: 1, referenceSeeds: 1, exampleCount: count, resamples: resamples, seed: seed,
                    candidate: { _, idx in (0..<h).reduce(0) { $0 + measured.value(of: runs[$1], at: idx) } / Double(h) },
                    reference: { _, idx in (h..<2 * h).reduce(0) { $0 + measured.value(of: runs[$1], at: idx) } / Double(h) })
                let exampleVariance = pow(halfDifference.standardError, 2) * Double(h)
                let rows = (1...max(runs.count, 16)).map { n -> CalibrationResult.Row in
                    let x = simulatedX(seeds: n, sigma: sigma, exampleVariance: exampleVariance, z: z, seed: seed &+ UInt64(n))
                    let margin = Bootstrap.quantile(sorted: x, 1 - falseFailRate)
                    return CalibrationResult.Row(seeds: n, margin: margin,
                                                 detectableRegression: margin - Bootstrap.quantile(sorted: x, 1 - power))
                }
                entries.append(CalibrationResult.Metric(metric: metric, seedValues: values, seedSD: sigma, testSD: testSD,
                                                        exampleVariance: exampleVariance, rows: rows))
            }
            candidates.append(CalibrationResult.Candidate(name: candidate.name, seedsTrained: runs.count, metrics: entries))
        }
        return CalibrationResult(suite: run.suite.name, suiteSHA256: run.suite.contentSHA256, level: level,
                                 falseFailRate: falseFailRate, power: power, candidates: candidates)
    }

    /// Sorted draws of X = z·SE − d for N seeds per arm (see the type's documentation).
    static func simulatedX(seeds n: Int, sigma: Double, exampleVariance: Double, z: Double, seed: UInt64,
                           draws: Int = 20_000) -> [Double] {
        var generator = SplitMix64(seed: seed)
        func normal() -> Double { generator.nextGaussian() }
        func sampleVariance() -> Double {
            guard n > 1 else { return 0 }  // one seed: the bootstrap has no seed part
            var sum = 0.0
            for _ in 0..<(n - 1) { let g = normal(); sum += g * g }
            return sigma * sigma * sum / Double(n - 1)
        }
        var x: [Double] = []
        x.reserveCapacity(draws)
        for _ in 0..<draws {
            let d = (2 * sigma * sigma / Double(n)).squareRoot() * normal()
            let se = ((sampleVariance() + sampleVariance()) / Double(n) + exampleVariance / Double(n)).squareRoot()
            x.append(z * se - d)
        }
        return x.sorted()
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
