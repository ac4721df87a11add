import Evaluation
import Foundation

/// Number and text formatting shared by the reports, so the HTML, the Markdown and the JUnit
/// properties say the same thing the same way.
enum Format {
    /// `digits` decimals; "NaN" / "∞" for non-finite values.
    static func fixed(_ value: Double, _ digits: Int = 3) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "−∞") }
        let text = String(format: "%.\(digits)f", value)
        return isNegativeZero(text) ? String(text.dropFirst()) : text
    }

    /// A difference with an explicit sign: "+0.012", "−0.024" (a true minus sign).
    static func signed(_ value: Double, _ digits: Int = 3) -> String {
        let text = fixed(value, digits)
        if text.hasPrefix("-") { return "−" + text.dropFirst() }
        return value.isFinite ? "+" + text : text
    }

    private static func isNegativeZero(_ text: String) -> Bool {
        text.hasPrefix("-") && text.dropFirst().allSatisfy { $0 == "0" || $0 == "." }
    }

    /// "0.842 (0.821–0.861)".
    static func withInterval(_ metric: MetricValue, _ digits: Int = 3) -> String {
        "\(fixed(metric.value, digits)) (\(fixed(metric.low, digits))–\(fixed(metric.high, digits)))"
    }

    /// "sd 0.006 · 0.835–0.855 over 5 seeds"; nil for one seed (no spread to show).
    static func seedSpread(_ metric: MetricValue, _ digits: Int = 3) -> String? {
        guard let spread = metric.seeds?.ifSeveral else { return nil }
        return "seed sd \(fixed(spread.sd, digits)) · \(fixed(spread.min, digits))–\(fixed(spread.max, digits)) over \(spread.count) seeds"
    }

    /// A p-value: "< 0.001" below a thousandth, else three decimals.
    static func pValue(_ p: Double) -> String {
        p < 0.001 ? "< 0.001" : fixed(p, 3)
    }

    /// "22,713,216".
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var groups: [Substring] = []
        var end = digits.endIndex
        while end > digits.startIndex {
            let start = digits.index(end, offsetBy: -3, limitedBy: digits.startIndex) ?? digits.startIndex
            groups.insert(digits[start..<end], at: 0)
            end = start
        }
        return (value < 0 ? "−" : "") + groups.joined(separator: ",")
    }

    /// A compact count: "296", "296k", "22.7M".
    static func compactCount(_ value: Int) -> String {
        let magnitude = Double(value.magnitude)
        let sign = value < 0 ? "−" : ""
        switch magnitude {
        case ..<1_000: return sign + String(value.magnitude)
        case ..<1_000_000: return sign + trimmed(magnitude / 1_000) + "k"
        case ..<1_000_000_000: return sign + trimmed(magnitude / 1_000_000) + "M"
        default: return sign + trimmed(magnitude / 1_000_000_000) + "G"
        }
    }

    /// One decimal below 100, none above: 1.3, 22.7, 296.
    private static func trimmed(_ value: Double) -> String {
        value < 100 ? fixed(value, 1) : fixed(value, 0)
    }

    /// Bytes in binary units: "512 B", "86.7 MiB", "1.25 GiB".
    static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while abs(amount) >= 1024 && unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        if unit == 0 { return "\(value) B" }
        return (abs(amount) < 10 ? fixed(amount, 2) : fixed(amount, 1)) + " " + units[unit]
    }

    /// "0.8 s", "45.2 s", "3 min 07 s", "1 h 04 min".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "—" }
        if seconds < 60 { return fixed(seconds, 1) + " s" }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60) min \(twoDigits(whole % 60)) s" }
        return "\(whole / 3600) h \(twoDigits((whole % 3600) / 60)) min"
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    /// "95%" for 0.95.
    static func level(_ level: Double) -> String {
        let percent = (level * 1000).rounded() / 10
        return (percent == percent.rounded() ? String(Int(percent)) : String(percent)) + "%"
    }

    /// Text safe inside HTML element content and quoted attribute values (also SVG).
    static func html(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}

/// How many checks ended in each status.
struct CheckTally {
    var passed = 0
    var failed = 0
    var errors = 0
    var skipped = 0

    init(_ checks: [CheckResult]) {
        for check in checks {
            switch check.status {
            case .passed: passed += 1
            case .failed: failed += 1
            case .error: errors += 1
            case .skipped: skipped += 1
            }
        }
    }

    var total: Int { passed + failed + errors + skipped }

    /// "12 checks: 9 passed, 2 failed, 1 error, 0 skipped".
    var summary: String {
        "\(total) check\(total == 1 ? "" : "s"): \(passed) passed, \(failed) failed, "
            + "\(errors) error\(errors == 1 ? "" : "s"), \(skipped) skipped"
    }
}

/// Facts about a run several reports show.
extension RunResult {
    /// The prompt-tuned candidate comparisons refer to (the first with method "prompt").
    var promptCandidate: CandidateResult? { candidates.first { $0.method == "prompt" } }

    /// The level of the run's intervals: the level its paired comparisons state, else 95 %.
    var intervalLevel: Double {
        for candidate in candidates {
            for comparison in candidate.comparisons {
                if let level = comparison.metrics.values.first?.level { return level }
            }
        }
        return 0.95
    }
}

extension CandidateResult {
    /// Mean absolute drop over the candidate's forgetting checks; nil without any.
    var meanForgetting: Double? {
        forgetting.isEmpty ? nil : forgetting.reduce(0) { $0 + $1.result.absoluteDrop } / Double(forgetting.count)
    }
}

/// A test metric as the reports show it: its key in results.json and checks, its name, its
/// direction, and where a candidate keeps it. Which ones a run has depends on its task
/// (`TestMetricColumn.all(for:)`): the reports loop over them instead of naming metrics.
struct TestMetricColumn: Sendable {
    let key: String
    let title: String
    /// How the Markdown summary's table heads it ("accuracy", "F1 macro").
    var shortTitle: String { ["f1_macro": "F1 macro", "token_f1": "token F1"][key] ?? title.lowercased() }
    let higherIsBetter: Bool
    /// A fraction from 0 to 1 (the bar charts' domain).
    let isFraction: Bool
    let value: @Sendable (CandidateResult) -> MetricValue?

    static func headline(_ key: String, _ title: String, higherIsBetter: Bool = true, isFraction: Bool = true) -> TestMetricColumn {
        TestMetricColumn(key: key, title: title, higherIsBetter: higherIsBetter, isFraction: isFraction) { $0.metrics?.value(named: key) }
    }

    static func generation(_ metric: GenerationMetric, _ title: String) -> TestMetricColumn {
        TestMetricColumn(key: metric.rawValue, title: title, higherIsBetter: metric.higherIsBetter, isFraction: metric.isFraction) {
            $0.generationMetrics?.value(metric)
        }
    }

    /// A classification's six headline metrics.
    static let classification: [TestMetricColumn] = [
        .headline("accuracy", "Accuracy"), .headline("precision_macro", "Precision (macro)"),
        .headline("recall_macro", "Recall (macro)"), .headline("f1_macro", "F1 (macro)"),
        .headline("log_loss", "Log loss", higherIsBetter: false, isFraction: false),
        .headline("ece", "ECE", higherIsBetter: false),
    ]

    /// A generation task's four.
    static let generation: [TestMetricColumn] = [
        .generation(.exactMatch, "Exact match"), .generation(.tokenF1, "Token F1"),
        .generation(.answerLoss, "Answer loss (nats/token)"), .generation(.perplexity, "Answer perplexity"),
    ]

    static func all(for run: RunResult) -> [TestMetricColumn] { run.isGeneration ? generation : classification }

    /// The columns the candidates table and the metric charts show: the first metric, the
    /// summary score and the two loss-like ones.
    static func shown(for run: RunResult) -> [TestMetricColumn] {
        run.isGeneration ? generation : classification.filter { ["accuracy", "f1_macro", "log_loss", "ece"].contains($0.key) }
    }
}

/// What went wrong in a run, for the lists at the top of the HTML report and in the Markdown
/// summary: one entry per failed candidate run (standing for every check it made an error), then
/// every other failed or errored check, in order.
struct GateProblem {
    let status: CheckResult.Status
    let candidate: String
    /// "run" for a failed run, else the check's name.
    let subject: String
    let message: String
}

extension RunResult {
    var problems: [GateProblem] {
        var problems: [GateProblem] = []
        var failedRuns: [String: String] = [:]
        for candidate in candidates where candidate.status == .failed {
            let error = candidate.error ?? "the run failed"
            failedRuns[candidate.name] = error
            let affected = checks.count { $0.candidate == candidate.name && $0.status == .error && $0.message == candidate.error }
            let suffix = affected == 0 ? "" : " (\(affected) check\(affected == 1 ? "" : "s") not evaluated)"
            problems.append(GateProblem(status: .error, candidate: candidate.name, subject: "run failed", message: error + suffix))
        }
        for check in checks where check.status == .failed || check.status == .error {
            if check.status == .error, let error = failedRuns[check.candidate], check.message == error { continue }
            problems.append(GateProblem(status: check.status, candidate: check.candidate, subject: check.name,
                                        message: check.message ?? ""))
        }
        return problems
    }
}

extension RunResult {
    /// The largest number of seed runs any candidate has (1 when every candidate trained once).
    var maximumSeedCount: Int { candidates.map(\.seedRuns.count).max() ?? 1 }

    /// The sentence that says what the intervals cover: training and test sampling with several
    /// seeds, test sampling only with one.
    var intervalCoverageNote: String {
        // A candidate that trains nothing (method base) has no training variance to cover.
        let trained = candidates.filter { $0.status == .ok && $0.method != "base" }
        if trained.isEmpty {
            return "No candidate trains (zero-shot only): the model's answers are deterministic, so the intervals cover the "
                + "sampling of test examples, which is all the variance there is."
        }
        let seeds = Set(trained.map(\.seedRuns.count))
        if seeds.allSatisfy({ $0 <= 1 }) {
            return "Each candidate was trained once (one seed): the intervals cover the sampling of test examples only, "
                + "not training variance, so another seed can move a metric by more than its interval suggests. "
                + "Set training.seeds (3–5) for intervals that include it."
        }
        let counts = seeds.sorted().map(String.init).joined(separator: "/")
        return "Values are means over \(counts) training seeds; intervals are two-level bootstrap intervals "
            + "(seeds and test examples resampled), so they include training variance."
    }
}
