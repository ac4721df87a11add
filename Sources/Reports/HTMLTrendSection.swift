import Evaluation
import Foundation

// The report's "Trend" section (with `--history`): each gated metric over the suite's last runs,
// one line per candidate with its confidence band, this run marked, the gate's thresholds dashed.

extension HTMLReportPage {
    /// Candidates keep their report colour; candidates only older runs had get the next colours.
    private func trendColor(_ candidate: String, among series: [MetricTrend.Series]) -> String {
        if let index = result.candidates.firstIndex(where: { $0.name == candidate }) {
            return SVGChart.palette[index % SVGChart.palette.count]
        }
        let older = series.map(\.candidate).filter { name in !result.candidates.contains { $0.name == name } }
        let index = result.candidates.count + (older.firstIndex(of: candidate) ?? 0)
        return SVGChart.palette[index % SVGChart.palette.count]
    }

    func trendSection() -> String {
        guard let runCount = trends.first?.runs.count else { return "" }
        var body = "<p class=\"lead\">The gated metrics over this suite's last \(runCount) run\(runCount == 1 ? "" : "s") in the history, "
            + "oldest first; bands are each run's \(level) confidence interval, the large dot is this run, dashed lines the "
            + "gate's thresholds. Runs are labelled by commit (else date); ✗ marks a run whose gate failed.</p>\n"
        if runCount < 2 {
            body += "<p class=\"note\">This is the first run of the suite in the history: the trend starts here.</p>\n"
        }
        body += "<div class=\"grid wide\">\n"
        for trend in trends {
            let lines = trend.series.enumerated().map { index, series in
                SVGChart.TrendLine(candidate: series.candidate, color: trendColor(series.candidate, among: trend.series),
                                   dash: SVGChart.dashes[index % SVGChart.dashes.count], points: series.points)
            }
            let direction = trend.higherIsBetter ? "higher is better" : "lower is better"
            let legend = lines.map { line in
                "<span class=\"key\">\(SVGChart.lineSample(color: line.color, dash: line.dash))\(h(line.candidate))</span>"
            }.joined()
            body += "<figure><h3>\(h(trend.metric)) <span class=\"sub\">\(direction)</span></h3>"
                + "<p class=\"trend-legend\">\(legend)</p>"
                + SVGChart.trend(runs: trend.runs, lines: lines, thresholds: thresholds(for: trend.metric),
                                 label: "\(trend.metric) of each candidate over the last \(trend.runs.count) runs")
                + trendTable(trend) + "</figure>\n"
        }
        body += "</div>"
        return section("trend", "Trend", body)
    }

    /// The chart's numbers, folded away: one row per run, one column per candidate.
    private func trendTable(_ trend: MetricTrend) -> String {
        var rows = ""
        for (index, run) in trend.runs.enumerated().reversed() {
            rows += "<tr\(run.isCurrent ? " class=\"current\"" : "")><td>\(h(String(run.startedAt.prefix(16)).replacingOccurrences(of: "T", with: " ")))</td>"
                + "<td><code>\(h(run.commit.map { String($0.prefix(7)) } ?? "—"))</code>\(run.branch.map { " " + h($0) } ?? "")</td>"
                + "<td>\(run.verdict == "passed" ? "✓" : "✗ " + h(run.verdict))</td>"
            for series in trend.series {
                rows += "<td class=\"num\">" + (series.points[index].map { point in
                    Format.fixed(point.value, 3) + (point.low.flatMap { low in point.high.map { " <span class=\"sub\">(\(Format.fixed(low, 3))–\(Format.fixed($0, 3)))</span>" } } ?? "")
                } ?? "—") + "</td>"
            }
            rows += "</tr>\n"
        }
        let heads = trend.series.map { "<th class=\"num\">\(h($0.candidate))</th>" }.joined()
        return """
        <details class="trend-values"><summary>Values</summary>
        <div class="table-scroll"><table><thead><tr><th>started (UTC)</th><th>revision</th><th>gate</th>\(heads)</tr></thead>
        <tbody>
        \(rows)</tbody></table></div></details>
        """
    }
}

extension SVGChart {
    /// Line patterns by series, so lines are told apart without colour.
    static let dashes = ["", "7 4", "2 3", "9 3 2 3"]

    struct TrendLine {
        let candidate: String
        let color: String
        let dash: String
        /// One per run, nil where the candidate has no value.
        let points: [MetricTrend.Point?]
    }

    /// A short line in a series' colour and pattern, for an HTML legend.
    static func lineSample(color: String, dash: String) -> String {
        "<svg class=\"line-sample\" width=\"26\" height=\"10\" aria-hidden=\"true\"><line x1=\"1\" y1=\"5\" x2=\"25\" y2=\"5\" "
            + "stroke=\"\(color)\" stroke-width=\"2.5\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/></svg>"
    }

    /// Values over runs (evenly spaced, oldest left): confidence bands, lines broken where a
    /// candidate has no value, this run's points larger, dashed threshold lines.
    static func trend(runs: [MetricTrend.Run], lines: [TrendLine], thresholds: [(value: Double, label: String)],
                      label: String) -> String {
        let width = 560.0, height = 230.0
        let left = 52.0, right = 18.0, top = 14.0, bottom = 48.0
        let n = runs.count
        let x = Scale(domain: (0, Double(max(n - 1, 1))), range: n == 1 ? (left, width - right) : (left + 8, width - right - 8))

        var values: [Double] = thresholds.map(\.value)
        for line in lines {
            for point in line.points.compactMap({ $0 }) { values += [point.value, point.low, point.high].compactMap { $0 } }
        }
        values = values.filter(\.isFinite)
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-9 { low -= 0.01; high += 0.01 }
        let pad = (high - low) * 0.08
        let step = niceStep((high - low + 2 * pad) / 4)
        // Padded to round ticks, but not past 0 or 1 when every value lies within them (a rate,
        // an error, a probability).
        let dataLow = low, dataHigh = high
        low = ((low - pad) / step).rounded(.down) * step
        high = ((high + pad) / step).rounded(.up) * step
        if dataLow >= 0 { low = max(low, 0) }
        if dataLow >= 0, dataHigh <= 1 { high = min(high, 1) }
        let y = Scale(domain: (low, high), range: (height - bottom, top))
        var svg = open(width: Int(width), height: Int(height), label: label)

        for tick in ticks(low, high, count: 4) {
            svg += line(left, y(tick), width - right, y(tick), className: "grid")
            svg += text(tickLabel(tick, step: step), x: left - 6, y: y(tick) + 4, anchor: "end", className: "tick")
        }
        svg += line(left, height - bottom, width - right, height - bottom, className: "axis")
        // Run labels: every run when they fit, else evenly thinned, always the first and this run.
        let every = max(1, Int((Double(n) / 9).rounded(.up)))
        for (index, run) in runs.enumerated() where index % every == 0 || index == n - 1 || run.isCurrent {
            if index != n - 1, !run.isCurrent, (n - 1 - index) < every { continue }  // too close to the last label
            let failed = run.verdict != "passed"
            let text = (run.isCurrent ? "this run" : run.shortLabel) + (failed ? " ✗" : "")
            let px = x(Double(index))
            svg += line(px, height - bottom, px, height - bottom + 4, className: "axis")
            svg += "<text x=\"\(c(px))\" y=\"\(c(height - bottom + 14))\" text-anchor=\"end\" class=\"tick\(run.isCurrent ? " current" : "")\(failed ? " failed" : "")\" "
                + "transform=\"rotate(-30 \(c(px)) \(c(height - bottom + 14)))\"><title>\(Format.html(runTitle(run)))</title>\(Format.html(text))</text>"
        }
        for threshold in thresholds where threshold.value >= low && threshold.value <= high {
            svg += line(left, y(threshold.value), width - right, y(threshold.value), className: "threshold")
            svg += text(threshold.label, x: width - right, y: y(threshold.value) - 4, anchor: "end", className: "note")
        }

        // Consecutive runs with a value: the pieces a line and its band are drawn over.
        func segments(_ points: [MetricTrend.Point?]) -> [[(index: Int, point: MetricTrend.Point)]] {
            var out: [[(Int, MetricTrend.Point)]] = [], current: [(Int, MetricTrend.Point)] = []
            for (index, point) in points.enumerated() {
                if let point { current.append((index, point)) } else if !current.isEmpty { out.append(current); current = [] }
            }
            if !current.isEmpty { out.append(current) }
            return out
        }
        for line in lines {
            for segment in segments(line.points) where segment.allSatisfy({ $0.point.low != nil && $0.point.high != nil }) {
                let upper = segment.map { "\(c(x(Double($0.index)))),\(c(y($0.point.high!)))" }
                let lower = segment.reversed().map { "\(c(x(Double($0.index)))),\(c(y($0.point.low!)))" }
                if segment.count == 1 {
                    let px = x(Double(segment[0].index))
                    svg += "<line x1=\"\(c(px))\" y1=\"\(c(y(segment[0].point.low!)))\" x2=\"\(c(px))\" y2=\"\(c(y(segment[0].point.high!)))\" "
                        + "stroke=\"\(line.color)\" stroke-opacity=\"0.35\" stroke-width=\"6\"/>"
                } else {
                    svg += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(line.color)\" fill-opacity=\"0.12\"/>"
                }
            }
        }
        for line in lines {
            for segment in segments(line.points) where segment.count > 1 {
                let path = segment.map { "\(c(x(Double($0.index)))),\(c(y($0.point.value)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"2\""
                    + (line.dash.isEmpty ? "" : " stroke-dasharray=\"\(line.dash)\"") + "/>"
            }
            for (index, point) in line.points.enumerated() {
                guard let point else { continue }
                let current = runs[index].isCurrent
                var tip = "\(line.candidate) · \(runTitle(runs[index])): \(Format.fixed(point.value, 4))"
                if let low = point.low, let high = point.high { tip += " (CI \(Format.fixed(low, 4))–\(Format.fixed(high, 4)))" }
                if let seeds = point.seeds { tip += ", \(seeds) seeds" }
                svg += "<g><title>\(Format.html(tip))</title><circle cx=\"\(c(x(Double(index))))\" cy=\"\(c(y(point.value)))\" "
                    + "r=\"\(current ? 5.5 : 3)\" fill=\"\(line.color)\"\(current ? " stroke=\"#fff\" stroke-width=\"2\"" : "")/></g>"
            }
        }
        return svg + "</svg>"
    }

    private static func runTitle(_ run: MetricTrend.Run) -> String {
        var parts = [String(run.startedAt.prefix(16)).replacingOccurrences(of: "T", with: " ")]
        if let commit = run.commit { parts.append(String(commit.prefix(12))) }
        if let branch = run.branch { parts.append(branch) }
        parts.append("gate " + run.verdict)
        return (run.isCurrent ? "this run, " : "") + parts.joined(separator: " · ")
    }
}
