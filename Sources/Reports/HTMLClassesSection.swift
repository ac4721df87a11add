import Evaluation

/// The report's sections about classes: per-class metrics (with the positive class's ranking
/// metrics and decision threshold) and how the data was split.
extension HTMLReportPage {
    // MARK: Per class

    /// One table per candidate: every class's precision, recall and F1 with intervals, the worst
    /// recall first; warnings (a collapsed candidate, a class never predicted) above the tables,
    /// and for a binary task with a positive label, its ROC-AUC, PR-AUC and decision threshold.
    func perClassSection() -> String {
        let candidates = measured.filter { $0.perClassMetrics != nil }
        guard !candidates.isEmpty else { return "" }
        var warnings = ""
        for candidate in candidates {
            for warning in candidate.warnings ?? [] {
                warnings += "<li>\(badge(.error)) <strong>\(h(candidate.name))</strong> \(h(warning))</li>"
            }
        }
        var figures = ""
        for candidate in candidates {
            let classes = (candidate.perClassMetrics ?? []).sorted { ($0.recall.value, $0.classIndex) < ($1.recall.value, $1.classIndex) }
            var rows = ""
            for scores in classes {
                let never = scores.support > 0 && scores.predicted == 0
                rows += "<tr\(never ? " class=\"failed-run\"" : "")><th scope=\"row\" class=\"label\">\(h(scores.label))</th>"
                    + "<td class=\"num\">\(Format.grouped(scores.support))</td>"
                    + "<td class=\"num\">\(scores.predicted == scores.predicted.rounded() ? Format.grouped(Int(scores.predicted)) : Format.fixed(scores.predicted, 1))</td>"
                    + metricCell(scores.precision) + metricCell(scores.recall) + metricCell(scores.f1) + "</tr>"
            }
            // Six columns with intervals need about 620 px: wider than a grid card, so a whole row.
            figures += "<figure class=\"full-row\"><h3>\(swatch(candidate))\(h(candidate.name))</h3><div class=\"table-wrap\"><table class=\"per-class\">"
                + "<thead><tr><th>Class</th><th class=\"num\">Support</th><th class=\"num\">Predicted</th>"
                + "<th class=\"num\">Precision</th><th class=\"num\">Recall</th><th class=\"num\">F1</th></tr></thead>"
                + "<tbody>\(rows)</tbody></table></div></figure>\n"
        }
        return section("per-class", "Per class", """
        <p class="lead">Each class's precision, recall and F1 with \(level) bootstrap intervals, worst recall first. \
        Support counts the test examples of the class; Predicted, those predicted as it (mean over seeds). \
        Checks name these metrics <code>recall[label]</code>.</p>
        \(warnings.isEmpty ? "" : "<ul class=\"warnings\">\(warnings)</ul>")
        \(positiveClassTable(candidates))
        <div class="grid">
        \(figures)</div>
        """)
    }

    /// ROC-AUC, PR-AUC and the decision threshold of the positive class, one row per candidate.
    private func positiveClassTable(_ candidates: [CandidateResult]) -> String {
        let ranked = candidates.filter { $0.positiveClass != nil }
        guard let label = ranked.first?.positiveClass?.label else { return "" }
        var rows = ""
        for candidate in ranked {
            let positive = candidate.positiveClass!
            let threshold = positive.threshold.map { threshold in
                let spread = threshold.seeds.map { " · seeds \(Format.fixed($0.min))–\(Format.fixed($0.max))" } ?? ""
                return "<td class=\"num\">\(Format.fixed(threshold.value))<span class=\"sub\">validation F1 \(Format.fixed(threshold.validationF1))\(spread)</span></td>"
            } ?? "<td>most probable class</td>"
            rows += "<tr>\(nameCell(candidate.name, swatch: candidate))</td>" + metricCell(positive.rocAUC) + metricCell(positive.prAUC)
                + threshold + "</tr>\n"
        }
        return """
        <h3>Positive class: \(h(label))</h3>
        <p class="note">How well each candidate ranks \(h(label)) above the other class, whatever the threshold \
        (<code>roc_auc</code>; <code>pr_auc</code> is scikit-learn's average precision, the measure to read when \
        \(h(label)) is rare), and the probability of \(h(label)) from which it is predicted.</p>
        <div class="table-wrap"><table>
        <thead><tr><th>Candidate</th><th class="num">ROC-AUC</th><th class="num">PR-AUC</th><th class="num">Decision threshold</th></tr></thead>
        <tbody>
        \(rows)</tbody></table></div>
        """
    }

    // MARK: Data

    /// How the examples were split and each class's count per split; folded away past 10 classes.
    func dataSection() -> String {
        guard let splits = result.splits else { return "" }
        let origin = splits.method == "content_hash"
            ? "One file, <code>\(h(splits.file ?? ""))</code>, split by a hash of each record's content"
                + (splits.stratified == true ? " within each class" : "")
                + " (validation \(Format.fixed(100 * (splits.validationShare ?? 0), 0)) %, test \(Format.fixed(100 * (splits.testShare ?? 0), 0)) %)"
                + (splits.generatedIDs == true ? "; ids generated from the content." : ".")
            : "Three files as the suite names them."
        var rows = ""
        for (index, label) in result.labels.enumerated() {
            rows += "<tr><th scope=\"row\" class=\"label\">\(h(label))</th>"
                + splits.counts.map { "<td class=\"num\">\(Format.grouped($0.perClass[index]))</td>" }.joined() + "</tr>"
        }
        rows += "<tr class=\"total\"><th scope=\"row\">All</th>"
            + splits.counts.map { "<td class=\"num\">\(Format.grouped($0.perClass.reduce(0, +)))</td>" }.joined() + "</tr>"
        let table = "<div class=\"table-wrap\"><table class=\"splits\"><thead><tr><th>Class</th>"
            + splits.counts.map { "<th class=\"num\">\($0.split.prefix(1).uppercased() + $0.split.dropFirst())</th>" }.joined()
            + "</tr></thead><tbody>\(rows)</tbody></table></div>"
        let body = result.labels.count > 10 ? "<details><summary>Examples per class and split (\(result.labels.count) classes)</summary>\(table)</details>" : table
        return section("data", "Data", "<p class=\"lead\">\(origin) Examples per class in each split, after <code>limit</code>.</p>\n\(body)")
    }
}
