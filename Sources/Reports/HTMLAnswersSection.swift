import Evaluation

/// The report's section for a generation task: what each candidate answered on the first test
/// examples, beside the references, so a reader sees what the exact-match and F1 numbers count.
extension HTMLReportPage {
    /// Test examples shown (the first, in test order).
    static let answersShown = 12

    func answersSection() -> String {
        guard result.isGeneration else { return "" }
        let candidates = measured.filter { $0.completedSeedRuns.first?.generations != nil }
        guard let first = candidates.first?.completedSeedRuns.first?.generations, !first.isEmpty else { return "" }
        let examples = Array(first.prefix(Self.answersShown))
        // Each candidate's first seed's answers by example id.
        let answers = candidates.map { candidate in
            Dictionary((candidate.completedSeedRuns.first?.generations ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        }
        var rows = ""
        for example in examples {
            rows += "<tr><th scope=\"row\" class=\"label\">\(h(example.id))</th>"
                + "<td>\(example.references.map { h($0) }.joined(separator: "<span class=\"sub\">or</span>"))</td>"
            for byID in answers {
                guard let answer = byID[example.id] else { rows += "<td>—</td>"; continue }
                let mark = answer.exactMatch == 1 ? "✓" : (answer.tokenF1 > 0 ? "F1 \(Format.fixed(answer.tokenF1, 2))" : "✗")
                rows += "<td class=\"\(answer.exactMatch == 1 ? "better" : "")\">\(answer.output.isEmpty ? "<em>(empty)</em>" : h(answer.output))"
                    + "<span class=\"sub\">\(mark)</span></td>"
            }
            rows += "</tr>\n"
        }
        let header = candidates.map { "<th>\(swatch($0))\(h($0.name))</th>" }.joined()
        return section("answers", "Answers", """
        <p class="lead">The first \(examples.count) of \(first.count) test examples: the references, and each candidate's \
        greedy answer (its first seed) — ✓ an exact match after normalisation (lower case, no punctuation or articles), \
        else its best token F1 over the references.</p>
        <div class="table-wrap"><table class="answers">
        <thead><tr><th>Example</th><th>References</th>\(header)</tr></thead>
        <tbody>
        \(rows)</tbody></table></div>
        """)
    }
}
