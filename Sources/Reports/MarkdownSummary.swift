import Evaluation

/// A short GitHub-flavoured Markdown summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`:
/// the verdict, one compact row per candidate, and the checks that failed or errored.
public enum MarkdownSummary {
    /// At most this many failed checks are listed; the rest are counted.
    static let listedCheckLimit = 20

    /// `trends` (from `--history`): the gated metrics over recent runs, as one sparkline row per
    /// metric and candidate.
    public static func render(result: RunResult, trends: [MetricTrend] = []) -> String {
        let verdict = Gate.verdict(for: result)
        let tally = CheckTally(result.checks)
        let symbol: String
        switch verdict {
        case .passed: symbol = "✅ passed"
        case .failed: symbol = "❌ failed"
        case .error: symbol = "⚠️ run error"
        }
        let level = Format.level(result.intervalLevel)
        // The task's first metric with its interval, and its summary score (accuracy and macro F1,
        // or exact match and token F1).
        let shown = TestMetricColumn.shown(for: result)
        let (first, second) = (shown[0], shown[1])
        var lines = [
            "### evalharness · \(inline(result.suite.name)): \(symbol)",
            "",
            "\(tally.summary) · \(result.candidates.count) candidates · \(Format.duration(result.durationSeconds)) · exit code \(verdict.exitCode)",
            "",
            "| candidate | method | \(first.shortTitle) (\(level) CI) | \(second.shortTitle) | forgetting | trainable params | time |",
            "|---|---|---|---|---|---:|---:|",
        ]
        for candidate in result.candidates {
            let name = cell(candidate.name), method = cell(candidate.method)
            guard candidate.status == .ok else {
                lines.append("| \(name) | \(method) | ⚠️ failed: \(cell(candidate.error ?? "no reason given")) | | | "
                    + "\(Format.compactCount(candidate.trainableParameters)) | |")
                continue
            }
            let accuracy = first.value(candidate).map { metric in
                Format.withInterval(metric) + (Format.seedSpread(metric).map { "<br>" + $0 } ?? "")
            } ?? "—"
            let f1 = second.value(candidate).map { Format.fixed($0.value) } ?? "—"
            let forgetting = candidate.meanForgetting.map { Format.signed($0) } ?? "—"
            // A reused unit's time is the time it took when it was trained.
            let time = (candidate.training.map { Format.duration($0.seconds) } ?? "—")
                + (candidate.cachedSeeds.map { $0 == candidate.seedRuns.count ? " (cached)" : " (\($0) seeds cached)" } ?? "")
            lines.append("| \(name) | \(method) | \(accuracy) | \(f1) | \(forgetting) | "
                + "\(Format.compactCount(candidate.trainableParameters)) | \(time) |")
        }
        if result.candidates.contains(where: { !$0.forgetting.isEmpty }) {
            lines += ["", "_forgetting: mean absolute drop over the retention checks (positive = forgot)._"]
        }
        lines += ["", "_\(inline(result.intervalCoverageNote))_"]
        lines += perClassTable(result)
        lines += positiveClassTable(result)
        lines += splitLine(result)
        lines += trendTable(trends)
        let collapsed = result.candidates.filter { !($0.warnings ?? []).isEmpty }
        if !collapsed.isEmpty {
            lines += ["", "**Predictions**", ""]
            for candidate in collapsed {
                lines += (candidate.warnings ?? []).map { "- ⚠️ **\(inline(candidate.name))** \(inline($0))" }
            }
        }
        let warned = result.checks.filter { !($0.warnings ?? []).isEmpty }
        if !warned.isEmpty {
            lines += ["", "**Warnings**", ""]
            for check in warned.prefix(listedCheckLimit) {
                lines += (check.warnings ?? []).map { "- ⚠️ **\(inline(check.candidate))** — \(inline(check.name)): \(inline($0))" }
            }
        }
        if let contamination = result.contamination, !contamination.isEmpty {
            lines += ["", "⚠️ contamination: \(contamination.count) validation/test example(s) repeat a training text exactly"
                + " (\(contamination.filter { $0.split == "test" }.count) in test)."]
        }

        let problems = result.problems.map { problem in
            "- \(problem.status == .failed ? "❌" : "⚠️") **\(inline(problem.candidate))** — \(inline(problem.subject))"
                + (problem.message.isEmpty ? "" : ": " + inline(problem.message))
        }
        if !problems.isEmpty {
            lines += ["", "**Failed checks and errors**", ""]
            lines += problems.prefix(listedCheckLimit)
            if problems.count > listedCheckLimit {
                lines.append("- … and \(problems.count - listedCheckLimit) more (see the HTML report or JUnit results)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Precision and recall of every class per candidate, worst recall first (the class a reader
    /// must look at); absent when no candidate has per-class metrics.
    static func perClassTable(_ result: RunResult) -> [String] {
        let candidates = result.candidates.filter { $0.status == .ok && $0.perClassMetrics != nil }
        guard let first = candidates.first?.perClassMetrics else { return [] }
        func worstRecall(_ classIndex: Int) -> Double {
            candidates.compactMap { $0.perClassMetrics?.first { $0.classIndex == classIndex }?.recall.value }.min() ?? 0
        }
        var lines = ["", "| class | support | " + candidates.map { "\(cell($0.name)) precision / recall" }.joined(separator: " | ") + " |",
                     "|---|---:|" + String(repeating: "---|", count: candidates.count)]
        for scores in first.sorted(by: { worstRecall($0.classIndex) < worstRecall($1.classIndex) }) {
            let cells = candidates.map { candidate -> String in
                guard let own = candidate.perClassMetrics?.first(where: { $0.classIndex == scores.classIndex }) else { return "—" }
                return "\(Format.fixed(own.precision.value)) / \(Format.fixed(own.recall.value))"
            }
            lines.append("| \(cell(scores.label)) | \(scores.support) | " + cells.joined(separator: " | ") + " |")
        }
        return lines
    }

    /// ROC-AUC, PR-AUC and the decision threshold of the positive class per candidate; absent
    /// without `positive_label`.
    static func positiveClassTable(_ result: RunResult) -> [String] {
        let candidates = result.candidates.filter { $0.status == .ok && $0.positiveClass != nil }
        guard let label = candidates.first?.positiveClass?.label else { return [] }
        var lines = ["", "| candidate | ROC-AUC (\(cell(label))) | PR-AUC (\(cell(label))) | decision threshold |", "|---|---|---|---|"]
        for candidate in candidates {
            let positive = candidate.positiveClass!
            let threshold = positive.threshold.map {
                "\(Format.fixed($0.value)) (validation F1 \(Format.fixed($0.validationF1)))"
            } ?? "most probable class"
            lines.append("| \(cell(candidate.name)) | \(Format.withInterval(positive.rocAUC)) | \(Format.withInterval(positive.prAUC)) | \(threshold) |")
        }
        return lines
    }

    /// Each gated metric per candidate over the recent runs: a sparkline (oldest left) and the
    /// change from the previous run; absent before a second run is in the history.
    static func trendTable(_ trends: [MetricTrend]) -> [String] {
        guard let runs = trends.first?.runs.count, runs >= 2 else { return [] }
        var lines = ["", "**Trend** over the last \(runs) runs (oldest left)", "",
                     "| metric | candidate | trend | previous → this run |", "|---|---|---|---|"]
        for trend in trends {
            for series in trend.series {
                let values = series.points.map { $0?.value }
                let change: String
                if let now = values.last ?? nil, let before = values.dropLast().last(where: { $0 != nil }) ?? nil {
                    change = "\(Format.fixed(before)) → \(Format.fixed(now)) (\(Format.signed(now - before)))"
                } else {
                    change = values.last.map { $0.map { "new: " + Format.fixed($0) } ?? "not in this run" } ?? "—"
                }
                lines.append("| \(cell(trend.metric)) | \(cell(series.candidate)) | \(sparkline(values)) | \(change) |")
            }
        }
        return lines
    }

    /// ▁▂▃▄▅▆▇█ from the smallest to the largest value shown; · where a run has none.
    public static func sparkline(_ values: [Double?]) -> String {
        let blocks = Array("▁▂▃▄▅▆▇█")
        let known = values.compactMap { $0 }.filter(\.isFinite)
        guard let low = known.min(), let high = known.max() else { return String(repeating: "·", count: values.count) }
        return String(values.map { value -> Character in
            guard let value, value.isFinite else { return "·" }
            guard high > low else { return blocks[3] }
            return blocks[min(blocks.count - 1, Int((value - low) / (high - low) * Double(blocks.count - 1) + 0.5))]
        })
    }

    /// One line on how the data was split and how large each split is.
    static func splitLine(_ result: RunResult) -> [String] {
        guard let splits = result.splits else { return [] }
        let sizes = splits.counts.map { "\(Format.grouped($0.perClass.reduce(0, +))) \($0.split)" }.joined(separator: " / ")
        let origin = splits.method == "content_hash"
            ? "one file, \(inline(splits.file ?? "")), split by content hash\(splits.stratified == true ? " within each class" : "")"
            : "three files"
        return ["", "_Data: \(origin): \(sizes) examples._"]
    }

    /// Text for a table cell: as `inline`, which also escapes the pipes that would split the cell.
    static func cell(_ text: String) -> String { inline(text) }

    /// Text for running Markdown: one line, backslashes and Markdown emphasis characters escaped.
    /// A `<` that could open an HTML tag and an `&` that could start an entity get a backslash
    /// (CommonMark's escape), so a name cannot inject markup; everything else stays as written
    /// ("accuracy 0.84 >= 0.80" reads the same raw and rendered).
    static func inline(_ text: String) -> String {
        var escaped = ""
        let characters = Array(text)
        for (index, character) in characters.enumerated() {
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            switch character {
            case "\\": escaped += "\\\\"
            case "*", "_", "`", "[", "]", "|": escaped += "\\" + String(character)
            case "<" where next.map { $0.isLetter || $0 == "/" || $0 == "!" || $0 == "?" } ?? false: escaped += "\\<"
            case "&" where next.map { $0.isLetter || $0 == "#" } ?? false: escaped += "\\&"
            case "\n", "\r", "\r\n": escaped += " "
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
