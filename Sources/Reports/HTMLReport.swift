import Evaluation
import Foundation

/// The run as one self-contained HTML file: inline CSS and SVG, no script, no external URL, so it
/// opens from a CI artifact, an e-mail or a file share exactly as it was written, and prints.
///
/// Sections: the gate's verdict (with every failed check), the candidates, metric bars with
/// confidence intervals, training/validation loss curves and overfitting, learning versus
/// forgetting, forgetting per retention check, confusion matrices, paired comparisons (with the
/// prompt-tuned candidate and the stored baseline run), every check, and provenance (suite, model
/// and data hashes, environment). Every string that comes from the suite, the data or a message is
/// HTML-escaped; pass and fail are told by ✓/✗ text as well as colour.
public enum HTMLReport {
    /// `trends`: the gated metrics over the suite's recent runs (from `--history`), drawn in a
    /// "Trend" section after the verdict; none, no section.
    public static func render(result: RunResult, baseline: RunResult?, trends: [MetricTrend] = []) -> String {
        HTMLReportPage(result: result, baseline: baseline, trends: trends).render()
    }

    /// Writes the report to `url` atomically (a temporary file in the same folder, then a rename).
    public static func write(result: RunResult, baseline: RunResult?, trends: [MetricTrend] = [], to url: URL) throws {
        try AtomicFile.write(Data(render(result: result, baseline: baseline, trends: trends).utf8), to: url)
    }
}

struct HTMLReportPage {
    let result: RunResult
    let baseline: RunResult?
    var trends: [MetricTrend] = []

    var level: String { Format.level(result.intervalLevel) }

    func h(_ text: String) -> String { Format.html(text) }

    private func color(_ candidate: CandidateResult) -> String {
        let index = result.candidates.firstIndex { $0.name == candidate.name } ?? 0
        return SVGChart.palette[index % SVGChart.palette.count]
    }

    func swatch(_ candidate: CandidateResult) -> String {
        "<span class=\"swatch\" style=\"background:\(color(candidate))\" aria-hidden=\"true\"></span>"
    }

    /// The opening of a table cell naming a candidate: on one line when short, wrapping anywhere
    /// when long (so one long name cannot push the table off the page).
    func nameCell(_ name: String, swatch candidate: CandidateResult? = nil) -> String {
        "<td class=\"name\(name.count > 24 ? " long" : "")\">" + (candidate.map(swatch) ?? "") + h(name)
    }

    /// Candidates that ran and were measured.
    var measured: [CandidateResult] {
        result.candidates.filter { candidate in candidate.status == .ok && TestMetricColumn.all(for: result)[0].value(candidate) != nil }
    }

    func render() -> String {
        var page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="evalharness \(h(result.environment.evalharnessVersion))">
        <title>\(h(result.suite.name)) — evalharness report</title>
        <style>
        \(HTMLStyle.css)
        </style>
        </head>
        <body>
        <main>

        """
        page += header()
        page += verdictBanner()
        page += trendSection()
        page += candidatesSection()
        page += metricsSection()
        page += perClassSection()
        page += answersSection()
        page += dataSection()
        page += trainingSection()
        page += learningVersusForgettingSection()
        page += forgettingSection()
        // A generation task predicts no classes: its answers are in their own section.
        if !result.isGeneration { page += confusionSection() }
        page += comparisonsSection()
        page += checksSection()
        page += provenanceFooter()
        page += "</main>\n</body>\n</html>\n"
        return page
    }

    // MARK: Header and verdict

    private func header() -> String {
        let testExamples = result.splits.map { $0.test.reduce(0, +) } ?? result.data.first { $0.role == "test" }?.examples
            ?? result.candidates.compactMap { $0.report?.exampleCount }.first
        var facts = ["started \(h(result.startedAt))", "took \(Format.duration(result.durationSeconds))",
                     "\(result.candidates.count) candidate\(result.candidates.count == 1 ? "" : "s")"]
        if let testExamples { facts.append("\(Format.grouped(testExamples)) test examples") }
        facts.append("model <code>\(h(result.model.path))</code>")
        facts.append("seed \(result.seed)")
        let sections = [("verdict", "Verdict")] + (trends.isEmpty ? [] : [("trend", "Trend")]) + [("candidates", "Candidates"), ("metrics", "Metrics")]
            + (result.isGeneration ? [("answers", "Answers")] : [("per-class", "Per class")])
            + (result.splits == nil ? [] : [("data", "Data")]) + [
                        ("training", "Training"), ("learning-forgetting", "Learning vs forgetting"),
                        ("forgetting", "Forgetting")] + (result.isGeneration ? [] : [("confusion", "Confusion matrices")]) + [
                        ("comparisons", "Comparisons"), ("checks", "Checks"), ("provenance", "Provenance")]
        return """
        <header class="page"><h1>evalharness · <span class="suite">\(h(result.suite.name))</span></h1></header>
        <p class="subtitle">\(facts.joined(separator: " · "))</p>
        <nav class="toc" aria-label="Sections">\(sections.map { "<a href=\"#\($0.0)\">\($0.1)</a>" }.joined())</nav>

        """
    }

    func badge(_ status: CheckResult.Status) -> String {
        switch status {
        case .passed: "<span class=\"badge passed\">✓ passed</span>"
        case .failed: "<span class=\"badge failed\">✗ failed</span>"
        case .error: "<span class=\"badge error\">⚠ error</span>"
        case .skipped: "<span class=\"badge skipped\">– skipped</span>"
        }
    }

    private func verdictBanner() -> String {
        let verdict = Gate.verdict(for: result)
        let tally = CheckTally(result.checks)
        let failedRuns = result.candidates.filter { $0.status == .failed }
        let headline: String
        switch verdict {
        case .passed: headline = "✓ Gate passed — every gated check passed"
        case .failed: headline = "✗ Gate failed — \(tally.failed) check\(tally.failed == 1 ? "" : "s") failed"
        case .error:
            var causes: [String] = []
            if !failedRuns.isEmpty { causes.append("\(failedRuns.count) candidate run\(failedRuns.count == 1 ? "" : "s") failed") }
            if tally.errors > 0 { causes.append("\(tally.errors) check\(tally.errors == 1 ? "" : "s") could not be evaluated") }
            if tally.failed > 0 { causes.append("\(tally.failed) check\(tally.failed == 1 ? "" : "s") failed") }
            headline = "⚠ Run error — " + causes.joined(separator: ", ")
        }
        let items = result.problems.map { problem in
            "<li>\(badge(problem.status)) <span class=\"what\">\(h(problem.candidate)) — \(h(problem.subject))</span>"
                + (problem.message.isEmpty ? "" : ": " + h(problem.message)) + "</li>"
        }
        let list = items.isEmpty ? "" : "<ul>\(items.joined(separator: "\n"))</ul>"
        return """
        <section id="verdict" class="banner \(verdict.rawValue)" aria-live="polite">
        <p class="headline">\(headline)</p>
        <p class="counts">\(tally.summary) · exit code \(verdict.exitCode)</p>
        \(list)
        </section>

        """
    }

    // MARK: Candidates

    func metricCell(_ metric: MetricValue?, digits: Int = 3) -> String {
        guard let metric else { return "<td class=\"num\">—</td>" }
        let spread = Format.seedSpread(metric, digits).map { "<span class=\"sub spread\">\(h($0))</span>" } ?? ""
        return "<td class=\"num\">\(Format.fixed(metric.value, digits))"
            + "<span class=\"sub\">\(Format.fixed(metric.low, digits))–\(Format.fixed(metric.high, digits))</span>\(spread)</td>"
    }

    private func candidatesSection() -> String {
        var rows = ""
        for candidate in result.candidates {
            let share = result.model.parameters > 0
                ? Format.fixed(100 * Double(candidate.trainableParameters) / Double(result.model.parameters), 2) + "% of model"
                : ""
            var row = "<tr\(candidate.status == .failed ? " class=\"failed-run\"" : "")>"
            row += "\(nameCell(candidate.name, swatch: candidate))"
            row += "<span class=\"sub mono\" title=\"config hash\">\(h(String(candidate.configHash.prefix(12))))</span></td>"
            let seeds = candidate.seedRuns.count
            let cached = candidate.cachedSeeds.map { $0 == seeds ? "cached" : "\($0) of \(seeds) cached" }
            row += "<td>\(h(candidate.method))\(seeds > 1 ? "<span class=\"sub\">\(seeds) seeds</span>" : "")"
                + (cached.map { "<span class=\"sub\" title=\"reused from the cache of trained units\">\($0)</span>" } ?? "") + "</td>"
            if candidate.status == .failed {
                row += "<td colspan=\"4\" class=\"message\">\(badge(.error)) run failed: \(h(candidate.error ?? "no reason given"))</td>"
            } else {
                row += TestMetricColumn.shown(for: result).map { metricCell($0.value(candidate)) }.joined()
            }
            row += "<td class=\"num\">\(Format.grouped(candidate.trainableParameters))<span class=\"sub\">\(share)</span></td>"
            row += "<td class=\"num\">\(Format.bytes(candidate.baseWeightBytes))</td>"
            if let training = candidate.training {
                var epochs = "<span class=\"sub\">\(training.epochsRun) epoch\(training.epochsRun == 1 ? "" : "s")</span>"
                if training.earlyStopped { epochs += "<span class=\"sub\">stopped early</span>" }
                row += "<td class=\"num\">\(Format.duration(training.seconds))\(epochs)</td>"
                row += "<td class=\"num\">\(Format.fixed(training.examplesPerSecond, 1))</td>"
                row += "<td class=\"num\">\(Format.bytes(training.peakRSSBytes))</td>"
            } else {
                row += "<td class=\"num\">—</td><td class=\"num\">—</td><td class=\"num\">—</td>"
            }
            rows += row + "</tr>\n"
        }
        return """
        <section id="candidates">
        <h2>Candidates</h2>
        <p class="lead">Test-set metrics with their \(level) bootstrap confidence intervals (below each value). \
        \(result.isGeneration ? "Answers are generated greedily and compared with the references after SQuAD's normalisation; lower is better for the references' loss and perplexity under the model." : "Lower is better for log loss and ECE (expected calibration error).") \(h(result.intervalCoverageNote))</p>
        <div class="table-wrap"><table>
        <thead><tr><th>Candidate</th><th>Method</th>\(TestMetricColumn.shown(for: result).map { "<th class=\"num\">\(h($0.title))</th>" }.joined())\
        <th class="num">Trainable params</th>\
        <th class="num">Base weights</th><th class="num">Training time</th><th class="num">Examples/s</th>\
        <th class="num">Peak memory</th></tr></thead>
        <tbody>
        \(rows)</tbody></table></div>
        </section>

        """
    }

    // MARK: Metric bars

    /// The gate's thresholds on a metric's value, for the dashed lines.
    func thresholds(for metric: String) -> [(value: Double, label: String)] {
        var seen: [Double] = []
        var lines: [(Double, String)] = []
        for check in result.checks where check.metric == metric && !seen.contains(check.threshold) {
            if check.name.hasPrefix(metric + " >= ") {
                lines.append((check.threshold, "gate ≥ " + formatThreshold(check.threshold)))
            } else if check.name.hasPrefix(metric + " <= ") {
                lines.append((check.threshold, "gate ≤ " + formatThreshold(check.threshold)))
            } else {
                continue
            }
            seen.append(check.threshold)
        }
        return lines
    }

    private func formatThreshold(_ value: Double) -> String {
        var text = String(value)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    private func metricsSection() -> String {
        let candidates = measured
        guard !candidates.isEmpty else {
            return section("metrics", "Metrics", "<p class=\"note\">No candidate produced test metrics.</p>")
        }
        var figures = ""
        for column in TestMetricColumn.shown(for: result) {
            let (key, higherIsBetter) = (column.key, column.higherIsBetter)
            let title = key == "ece" ? "Expected calibration error" : column.title
            let bars = candidates.compactMap { candidate -> SVGChart.Bar? in
                guard let metric = column.value(candidate) else { return nil }
                return SVGChart.Bar(label: candidate.name, color: color(candidate), value: metric.value,
                                    low: metric.low, high: metric.high)
            }
            let largest = bars.map { max($0.high, $0.value) }.filter(\.isFinite).max() ?? 1
            let domain = column.isFraction ? 1 : SVGChart.niceCeiling(max(largest, thresholds(for: key).map(\.value).max() ?? 0))
            let chart = SVGChart.metricBars(title: "\(title) per candidate with \(level) confidence intervals",
                                            bars: bars, domainMax: domain, thresholds: thresholds(for: key))
            figures += "<figure><h3>\(title) <span class=\"sub\">\(higherIsBetter ? "higher is better" : "lower is better")</span></h3>"
                + chart + "</figure>\n"
        }
        return section("metrics", "Metrics", """
        <p class="lead">Bars show the point estimate, whiskers the \(level) bootstrap confidence interval; dashed lines \
        mark the gate's thresholds.</p>
        <div class="grid wide">
        \(figures)</div>
        """)
    }

    // MARK: Training curves and overfitting

    private func trainingSection() -> String {
        let trained = result.candidates.filter { !($0.training?.history.isEmpty ?? true) }
        guard !trained.isEmpty else {
            return section("training", "Training", "<p class=\"note\">No training history was recorded.</p>")
        }
        let losses = trained.flatMap { $0.training!.history.flatMap { [$0.trainLoss, $0.validationLoss] } }.filter(\.isFinite)
        let yMax = SVGChart.niceCeiling(losses.max() ?? 1)
        var figures = ""
        for candidate in trained {
            let training = candidate.training!
            let chart = SVGChart.lossCurves(
                history: training.history.map { ($0.trainLoss, $0.validationLoss) }, keptEpoch: training.bestEpoch,
                yMax: yMax, label: "Training and validation loss per epoch for \(candidate.name)")
            var caption = "Kept epoch \(training.bestEpoch + 1) of \(training.epochsRun)"
                + (training.earlyStopped ? " (stopped early)" : "")
            if let overfitting = candidate.overfitting {
                let gap = overfitting.gapAtBestEpoch.lossGap
                caption += gap >= 0
                    ? "; at the kept epoch validation loss exceeds training loss by " + Format.fixed(gap)
                    : "; at the kept epoch validation loss is below training loss by " + Format.fixed(-gap)
                if let divergence = overfitting.divergence {
                    caption += "; validation loss rose while training loss fell from epoch \(divergence.epoch + 1)"
                        + (divergence.persisted ? " and stayed up" : "")
                }
            }
            if candidate.status == .failed { caption += ". The run failed: " + h(candidate.error ?? "no reason given") }
            figures += "<figure><h3>\(swatch(candidate))\(h(candidate.name)) <span class=\"sub\">\(h(candidate.method))</span></h3>"
                + chart + "<figcaption>\(caption).</figcaption></figure>\n"
        }

        var rows = ""
        for candidate in result.candidates {
            guard let overfitting = candidate.overfitting else { continue }
            let divergence = overfitting.divergence.map {
                "from epoch \($0.epoch + 1)" + ($0.persisted ? ", persisted" : ", recovered")
            } ?? "none"
            rows += "<tr>\(nameCell(candidate.name, swatch: candidate))</td>"
                + "<td class=\"num\">\(overfitting.epochCount)</td>"
                + "<td class=\"num\">\(overfitting.bestValidationLossEpoch + 1)</td>"
                + "<td class=\"num\">\(Format.signed(overfitting.gapAtBestEpoch.lossGap))</td>"
                + "<td class=\"num\">\(Format.signed(overfitting.gapAtBestEpoch.accuracyGap))</td>"
                + "<td class=\"num\">\(Format.signed(overfitting.finalGap.lossGap))</td>"
                + "<td class=\"num\">\(Format.signed(overfitting.finalGap.accuracyGap))</td>"
                + "<td>\(divergence)</td></tr>\n"
        }
        let table = rows.isEmpty ? "" : """
        <h3 style="margin-top:18px">Overfitting</h3>
        <div class="table-wrap"><table>
        <thead><tr><th>Candidate</th><th class="num">Epochs</th><th class="num">Best validation epoch</th>\
        <th class="num">Loss gap (best)</th><th class="num">Accuracy gap (best)</th><th class="num">Loss gap (last)</th>\
        <th class="num">Accuracy gap (last)</th><th>Validation loss rising while training loss falls</th></tr></thead>
        <tbody>
        \(rows)</tbody></table></div>
        <p class="note">Loss gap = validation − training loss; accuracy gap = training − validation accuracy. \
        Positive gaps mean the model does better on data it was trained on.</p>
        """
        return section("training", "Training", """
        <p class="lead">Loss per epoch on the training (solid line, circles) and validation split (dashed line, squares), \
        on one scale for all candidates. The dotted line marks the epoch whose weights were kept.</p>
        <div class="grid">
        \(figures)</div>
        \(table)
        """)
    }

    // MARK: Learning versus forgetting

    private func learningVersusForgettingSection() -> String {
        // The task's first metric: accuracy, or a generation task's exact match.
        let learned = TestMetricColumn.shown(for: result)[0]
        let title = learned.title.lowercased()
        let prompt = result.promptCandidate.flatMap { $0.status == .ok ? learned.value($0) : nil }
        var points: [SVGChart.Point] = []
        var without: [String] = []
        for candidate in measured {
            guard let forgetting = candidate.meanForgetting, let accuracy = learned.value(candidate)?.value else {
                without.append(candidate.name)
                continue
            }
            let x = prompt.map { accuracy - $0.value } ?? accuracy
            points.append(SVGChart.Point(label: candidate.name, color: color(candidate), x: x, y: forgetting))
        }
        guard !points.isEmpty else {
            return section("learning-forgetting", "Learning versus forgetting",
                           "<p class=\"note\">No candidate has forgetting measurements, so there is nothing to plot.</p>")
        }
        let xLabel = result.promptCandidate.map { "\(title) gain over the prompt-tuned candidate \($0.name)" }
            ?? "\(title) (no prompt-tuned candidate to compare with)"
        let chart = SVGChart.scatter(points: points, xLabel: xLabel, yLabel: "forgetting: mean absolute drop",
                                     signedX: prompt != nil, title: "\(learned.title) gain against forgetting, one point per candidate")
        var note = "Forgetting is the mean absolute drop over the suite's retention checks (base score − score with the adapter)."
        if !without.isEmpty {
            note += " Not plotted (no forgetting measurements): " + without.map(h).joined(separator: ", ") + "."
        }
        return section("learning-forgetting", "Learning versus forgetting", """
        <p class="lead">What each candidate learned on the task against what it lost elsewhere. Right is more gain, \
        down is less forgetting.</p>
        <figure class="scatter">\(chart)<figcaption>\(note)</figcaption></figure>
        """)
    }

    // MARK: Forgetting

    private func forgettingSection() -> String {
        var rows = ""
        var languageModeling = false
        /// A language-modelling score (mean log-likelihood per token) also as the perplexity people quote.
        func score(_ value: Double, _ check: ForgettingCheck) -> String {
            guard check.measure == "log_likelihood" else { return Format.fixed(value) }
            return Format.fixed(value) + "<span class=\"sub\">perplexity \(Format.fixed(Foundation.exp(-value), 1))</span>"
        }
        for candidate in result.candidates {
            for check in candidate.forgetting {
                if check.measure == "log_likelihood" { languageModeling = true }
                let drop = check.result.absoluteDrop
                let tone = drop > 0 ? "worse" : "better"
                let arrow = drop > 0 ? "▼ lost" : (drop < 0 ? "▲ gained" : "unchanged")
                rows += "<tr>\(nameCell(candidate.name, swatch: candidate))</td>"
                    + "<td>\(h(check.name))</td><td>\(h(check.measure))</td>"
                    + "<td class=\"num\">\(score(check.result.base, check))</td>"
                    + "<td class=\"num\">\(score(check.result.candidate, check))</td>"
                    + "<td class=\"num \(tone)\">\(Format.signed(drop))</td>"
                    + "<td class=\"num\">\(check.result.relativeDrop.map { Format.signed(100 * $0, 1) + "%" } ?? "—")</td>"
                    + "<td>\(arrow)</td></tr>\n"
            }
        }
        guard !rows.isEmpty else {
            return section("forgetting", "Forgetting", "<p class=\"note\">The suite has no retention checks.</p>")
        }
        return section("forgetting", "Forgetting", """
        <p class="lead">Each retention check measured on the base model and again with the candidate's adapter active. \
        Drop = base − candidate: positive means the candidate forgot.\(languageModeling ? " A language-modelling check scores the mean log-likelihood per predicted token (minus the causal-LM loss, in nats); its perplexity exp(loss) is beneath." : "")</p>
        <div class="table-wrap"><table>
        <thead><tr><th>Candidate</th><th>Check</th><th>Measure</th><th class="num">Base</th>\
        <th class="num">Candidate</th><th class="num">Absolute drop</th><th class="num">Relative drop</th><th></th></tr></thead>
        <tbody>
        \(rows)</tbody></table></div>
        """)
    }

    // MARK: Comparisons

    private func comparisonsSection() -> String {
        var rows = ""
        for candidate in result.candidates {
            for comparison in candidate.comparisons {
                let against = comparison.against == "prompt-baseline" ? "prompt-tuned"
                    : comparison.against == "baseline-run" ? "baseline run" : comparison.against
                let columns = TestMetricColumn.all(for: result)
                let order = columns.map(\.key)
                var keys = order.filter { comparison.metrics[$0] != nil }
                keys += comparison.metrics.keys.filter { !order.contains($0) }.sorted()
                if !keys.contains(order[0]) { keys.insert(order[0], at: 0) }
                for key in keys {
                    let paired = comparison.metrics[key]
                    let title = columns.first { $0.key == key }?.title ?? key
                    let higherIsBetter = columns.first { $0.key == key }?.higherIsBetter ?? true
                    var row = "<tr>\(nameCell(candidate.name, swatch: candidate))</td>"
                        + "<td>\(h(against))<span class=\"sub\">\(h(comparison.reference))</span></td><td>\(h(title))</td>"
                    if let paired {
                        let tone = paired.difference == 0 ? "" : ((paired.difference > 0) == higherIsBetter ? "better" : "worse")
                        row += "<td class=\"num\">\(Format.fixed(paired.candidate))</td>"
                            + "<td class=\"num\">\(Format.fixed(paired.baseline))</td>"
                            + "<td class=\"num \(tone)\">\(Format.signed(paired.difference))</td>"
                            + "<td class=\"ci\">\(Format.signed(paired.low)) to \(Format.signed(paired.high))</td>"
                            + "<td class=\"num\">\(Format.pValue(paired.pValue))</td>"
                    } else {
                        row += "<td class=\"num\">—</td><td class=\"num\">—</td>"
                            + "<td class=\"num\">\(comparison.accuracy.map { Format.signed($0.accuracyDifference) } ?? "—")</td>"
                            + "<td class=\"ci\">—</td><td class=\"num\">—</td>"
                    }
                    if key == "accuracy", let mcnemar = comparison.accuracy {
                        row += "<td class=\"num\">\(Format.pValue(mcnemar.pValue))"
                            + "<span class=\"sub\">\(mcnemar.candidateOnlyCorrect) vs \(mcnemar.baselineOnlyCorrect) discordant</span></td>"
                    } else if key == "accuracy" {
                        row += "<td class=\"num\">—<span class=\"sub\">several seeds: see the bootstrap</span></td>"
                    } else {
                        row += "<td class=\"num\">—</td>"
                    }
                    if let decision = comparison.nonInferiority[key] {
                        row += decision.nonInferior
                            ? "<td><span class=\"badge passed\">✓ non-inferior</span><span class=\"sub\">margin \(formatThreshold(decision.margin)), bound \(Format.signed(decision.bound))</span></td>"
                            : "<td><span class=\"badge failed\">✗ inferior</span><span class=\"sub\">margin \(formatThreshold(decision.margin)), bound \(Format.signed(decision.bound))</span></td>"
                    } else {
                        row += "<td>—</td>"
                    }
                    rows += row + "</tr>\n"
                }
            }
        }
        var body = ""
        if rows.isEmpty {
            body += "<p class=\"note\">No paired comparisons were recorded.</p>"
        } else {
            body += """
            <p class="lead">Each candidate against a reference on the same test examples: the difference (candidate − \
            reference) with its \(level) paired-bootstrap interval and p-value, McNemar's exact test for accuracy \
            (examples only the candidate / only the reference got right), and the non-inferiority decision where the \
            suite sets a margin.</p>
            <div class="table-wrap"><table>
            <thead><tr><th>Candidate</th><th>Against</th><th>Metric</th><th class="num">Candidate</th>\
            <th class="num">Reference</th><th class="num">Difference</th><th class="num">\(level) CI</th>\
            <th class="num">p (bootstrap)</th><th class="num">McNemar p</th><th>Non-inferiority</th></tr></thead>
            <tbody>
            \(rows)</tbody></table></div>
            """
        }
        body += baselineRunTable()
        return section("comparisons", "Comparisons", body)
    }

    /// This run against the stored baseline run, candidate by candidate, on point estimates.
    private func baselineRunTable() -> String {
        guard let baseline else {
            return "<h3 style=\"margin-top:18px\">Against the baseline run</h3>"
                + "<p class=\"note\">No baseline run was given, so comparisons with it are skipped.</p>"
        }
        var rows = ""
        func delta(_ now: Double?, _ before: Double?, higherIsBetter: Bool = true) -> String {
            guard let now, let before else { return "<td class=\"num\">—</td>" }
            let difference = now - before
            let tone = abs(difference) < 0.0005 ? "" : ((difference > 0) == higherIsBetter ? "better" : "worse")
            return "<td class=\"num \(tone)\">\(Format.signed(difference))</td>"
        }
        func value(_ number: Double?) -> String {
            "<td class=\"num\">\(number.map { Format.fixed($0) } ?? "—")</td>"
        }
        for candidate in result.candidates {
            let before = baseline.candidate(named: candidate.name)
            let config: String
            if let before {
                config = before.configHash == candidate.configHash ? "unchanged" : "<strong>changed</strong>"
            } else {
                config = "new candidate"
            }
            let accuracy = candidate.metrics?.accuracy.value, accuracyBefore = before?.metrics?.accuracy.value
            let f1 = candidate.metrics?.f1Macro.value, f1Before = before?.metrics?.f1Macro.value
            rows += "<tr>\(nameCell(candidate.name, swatch: candidate))</td><td>\(config)</td>"
                + value(accuracyBefore) + value(accuracy) + delta(accuracy, accuracyBefore)
                + value(f1Before) + value(f1) + delta(f1, f1Before)
                + value(before?.meanForgetting) + value(candidate.meanForgetting)
                + delta(candidate.meanForgetting, before?.meanForgetting, higherIsBetter: false) + "</tr>\n"
        }
        for removed in baseline.candidates where result.candidate(named: removed.name) == nil {
            rows += "<tr>\(nameCell(removed.name))</td><td>removed</td>"
                + value(removed.metrics?.accuracy.value) + "<td class=\"num\">—</td><td class=\"num\">—</td>"
                + value(removed.metrics?.f1Macro.value) + "<td class=\"num\">—</td><td class=\"num\">—</td>"
                + value(removed.meanForgetting) + "<td class=\"num\">—</td><td class=\"num\">—</td></tr>\n"
        }
        return """
        <h3 style="margin-top:18px">Against the baseline run <span class="sub">started \(h(baseline.startedAt)), \
        evalharness \(h(baseline.environment.evalharnessVersion))</span></h3>
        <div class="table-wrap"><table>
        <thead><tr><th>Candidate</th><th>Settings</th><th class="num">Accuracy before</th><th class="num">Accuracy now</th>\
        <th class="num">Δ</th><th class="num">F1 before</th><th class="num">F1 now</th><th class="num">Δ</th>\
        <th class="num">Forgetting before</th><th class="num">Forgetting now</th><th class="num">Δ</th></tr></thead>
        <tbody>
        \(rows)</tbody></table></div>
        <p class="note">Point estimates; the paired tests against the baseline run are in the table above.</p>
        \(reproducibilityNote(baseline))
        """
    }

    /// Why the same seeds may not give the same numbers as the baseline run: a different thread
    /// count, BLAS kernel family, CPU or tool version changes the floating-point order of training.
    private func reproducibilityNote(_ baseline: RunResult) -> String {
        let differences = result.environment.reproducibilityDifferences(from: baseline.environment)
        guard !differences.isEmpty else {
            return "<p class=\"note\">Same threads, BLAS kernels, CPU and evalharness version as the baseline run: "
                + "the same seeds train the same weights.</p>"
        }
        return "<p class=\"note warning\">⚠ Not bit-reproducible against the baseline run: \(h(differences.joined(separator: "; "))). "
            + "The same seeds can train different weights; the seed-aware intervals absorb this noise statistically.</p>"
    }

    // MARK: Checks

    private func checksSection() -> String {
        guard !result.checks.isEmpty else {
            return section("checks", "Checks", "<p class=\"note\">The suite has no gated checks.</p>")
        }
        var rows = ""
        for check in result.checks {
            let isComparison = check.name.contains(" non-inferior to ")
            let measuredText = check.value.map { isComparison ? Format.signed($0) : Format.fixed($0) } ?? "—"
            let interval = check.ciLow.flatMap { low in check.ciHigh.map { (low, $0) } }
            let intervalText = interval.map { isComparison ? "\(Format.signed($0.0)) to \(Format.signed($0.1))"
                : "\(Format.fixed($0.0))–\(Format.fixed($0.1))" } ?? ""
            rows += "<tr><td>\(badge(check.status))</td>\(nameCell(check.candidate))</td>"
                + "<td>\(h(check.name))</td><td class=\"num\">\(measuredText)</td><td class=\"ci\">\(intervalText)</td>"
                + "<td class=\"message\">\(h(check.message ?? ""))"
                + (check.warnings ?? []).map { "<span class=\"sub warning\">⚠ \(h($0))</span>" }.joined() + "</td></tr>\n"
        }
        return section("checks", "Checks", """
        <p class="lead">\(CheckTally(result.checks).summary). For non-inferiority checks the measured value is the \
        difference from the reference.</p>
        <div class="table-wrap"><table>
        <thead><tr><th>Status</th><th>Candidate</th><th>Check</th><th class="num">Measured</th>\
        <th class="num">\(level) CI</th><th>Details</th></tr></thead>
        <tbody>
        \(rows)</tbody></table></div>
        """)
    }

    // MARK: Provenance

    private func provenanceFooter() -> String {
        var data = ""
        for file in result.data {
            data += "<tr><td>\(h(file.role))</td><td><code>\(h(file.path))</code></td>"
                + "<td class=\"num\">\(Format.grouped(file.examples))</td><td><code>\(h(file.sha256))</code></td></tr>\n"
        }
        let environment = result.environment
        var facts = """
        <dt>Suite</dt><dd>\(h(result.suite.name)) · <code>\(h(result.suite.path))</code> · sha256 <code>\(h(result.suite.contentSHA256))</code></dd>
        <dt>Model</dt><dd><code>\(h(result.model.path))</code> · \(Format.grouped(result.model.parameters)) parameters · sha256 <code>\(h(result.model.sha256))</code></dd>
        <dt>Run</dt><dd>started \(h(result.startedAt)) · \(Format.duration(result.durationSeconds)) · seed \(result.seed) · results schema v\(result.schemaVersion)</dd>
        <dt>Environment</dt><dd>\(h(environment.cpu)) · \(environment.threads) thread\(environment.threads == 1 ? "" : "s") · BLAS core \(h(environment.blasCore))\(environment.blasVersion.map { " (" + h($0) + ")" } ?? "") · \(h(environment.operatingSystem)) · evalharness \(h(environment.evalharnessVersion))</dd>

        """
        if let baseline {
            facts += "<dt>Baseline run</dt><dd>started \(h(baseline.startedAt)) · suite sha256 "
                + "<code>\(h(baseline.suite.contentSHA256))</code> · model sha256 <code>\(h(baseline.model.sha256))</code></dd>\n"
        }
        if let contamination = result.contamination {
            let test = contamination.filter { $0.split == "test" }.count
            let summary = contamination.isEmpty
                ? "none: no validation or test text repeats a training text"
                : "\(contamination.count) evaluation example\(contamination.count == 1 ? "" : "s") repeat a training text exactly (\(test) in test), e.g. "
                    + contamination.prefix(5).map { "\(h($0.split)) <code>\(h($0.id))</code> = train <code>\(h($0.trainID))</code>" }.joined(separator: ", ")
            facts += "<dt>Contamination</dt><dd>\(summary)</dd>\n"
        }
        let dataTable = data.isEmpty ? "" : """
        <div class="table-wrap"><table>
        <thead><tr><th>Data</th><th>Path</th><th class="num">Examples</th><th>sha256</th></tr></thead>
        <tbody>
        \(data)</tbody></table></div>
        """
        return """
        <footer id="provenance">
        <h2>Provenance</h2>
        <dl class="facts">
        \(facts)</dl>
        \(dataTable)
        </footer>

        """
    }

    func section(_ id: String, _ title: String, _ body: String) -> String {
        "<section id=\"\(id)\">\n<h2>\(title)</h2>\n\(body)\n</section>\n\n"
    }
}
