import Evaluation
import Foundation
@testable import Reports
import XCTest

/// Confusion matrices with many classes: a table of counts and row percentages up to eight
/// classes (a whole grid row when wider than a card), a heat map with a legend past that, labels
/// escaped and never broken inside a word.
///
/// With `EVALHARNESS_DUMP_REPORTS=/some/dir` set, the tests also write the 6- and 45-class reports
/// there (`confusion-6.html`, `-8`, `-25`, `-45`) to look at with `scripts/screenshot_report.sh`.
final class ManyClassReportTests: XCTestCase {
    static let novels = ["Mansfield Park", "Pride and Prejudice", "Sense and Sensibility", "Emma",
                         "Northanger Abbey", "Persuasion"]

    /// WordNet's 45 lexicographer files.
    static let lexnames = [
        "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
        "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
        "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
        "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
        "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
        "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
        "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl",
    ]

    private func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    private func render(labels: [String], dumpAs name: String? = nil) throws -> (html: String, result: RunResult) {
        var fixture = ReportFixture()
        fixture.labels = labels
        let (result, baseline) = fixture.make()
        let html = HTMLReport.render(result: result, baseline: baseline)
        if let name, let directory = ProcessInfo.processInfo.environment["EVALHARNESS_DUMP_REPORTS"], !directory.isEmpty {
            try html.write(to: URL(fileURLWithPath: directory).appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return (html, result)
    }

    /// The confusion section alone.
    private func confusionSection(_ html: String) throws -> String {
        let start = try XCTUnwrap(html.range(of: "<section id=\"confusion\">"))
        return String(html[start.lowerBound...]).components(separatedBy: "</section>")[0]
    }

    func testSixClassesKeepTheTableOnAFullRow() throws {
        let (html, result) = try render(labels: Self.novels, dumpAs: "confusion-6.html")
        let section = try confusionSection(html)
        let measured = result.candidates.filter { $0.status == .ok && $0.report != nil }
        XCTAssertEqual(measured.count, 3)
        XCTAssertEqual(occurrences(of: "<table class=\"confusion\">", in: section), 3)
        XCTAssertFalse(section.contains("class=\"heatmap"), "six classes stay a table")
        XCTAssertFalse(section.contains("heat-legend"))
        // Wider than a grid card: each matrix takes a whole grid row, inside a wrapper that cannot overflow.
        XCTAssertEqual(occurrences(of: "<figure class=\"matrix full-row", in: section), 3)
        XCTAssertEqual(occurrences(of: "<div class=\"confusion-wrap\"><table class=\"confusion\">", in: section), 3)
        // Every label as a row and a column heading, whole.
        for label in Self.novels {
            XCTAssertEqual(occurrences(of: "<th scope=\"row\">\(label)</th>", in: section), 3, label)
            XCTAssertEqual(occurrences(of: "<th scope=\"col\">\(label)</th>", in: section), 3, label)
        }
        // Counts and row percentages in the cells.
        let matrix = try XCTUnwrap(measured[1].report).confusionMatrix
        XCTAssertEqual(matrix.count, 6)
        for (row, counts) in matrix.enumerated() {
            let total = counts.reduce(0, +)
            for (column, count) in counts.enumerated() {
                let share = Format.fixed(100 * Double(count) / Double(total), 1)
                let mark = row == column ? "correct" : "confused"
                XCTAssertTrue(section.contains("title=\"\(mark): \(Self.novels[row]) → \(Self.novels[column])\">"
                                               + "<span class=\"count\">\(count)</span><span class=\"share\">\(share)%</span></td>"),
                              "\(row), \(column)")
            }
        }
        XCTAssertTrue(section.contains("Percentages are of each true class (row)"))
    }

    func testEightClassesWithLongLabelsWriteColumnHeadingsVertically() throws {
        let labels = ["noun.communication", "verb.communication", "noun.phenomenon", "Pride and Prejudice",
                      "Sense and Sensibility", "Northanger Abbey", "noun.possession", "verb.consumption"]
        let (html, _) = try render(labels: labels, dumpAs: "confusion-8.html")
        let section = try confusionSection(html)
        XCTAssertEqual(occurrences(of: "<table class=\"confusion\">", in: section), 3, "eight classes stay a table")
        XCTAssertEqual(occurrences(of: "<figure class=\"matrix full-row vertical-heads\">", in: section), 3)
        for label in labels {
            XCTAssertEqual(occurrences(of: "<th scope=\"col\">\(label)</th>", in: section), 3, label)
        }
        XCTAssertTrue(HTMLStyle.css.contains("figure.vertical-heads table.confusion thead th:not(.axis) { writing-mode: vertical-rl;"))
        // Short labels fit across: no vertical headings on screen; on paper only where needed.
        let short = try confusionSection(render(labels: (1...8).map { "c\($0)" }).html)
        XCTAssertEqual(occurrences(of: "<figure class=\"matrix full-row\">", in: short), 3)
    }

    func testThreeClassesStayInAGridCard() throws {
        let (result, baseline) = ReportFixture.standard
        let section = try confusionSection(HTMLReport.render(result: result, baseline: baseline))
        XCTAssertEqual(occurrences(of: "<figure class=\"matrix\">", in: section), 3)
        XCTAssertFalse(section.contains("full-row"))
        XCTAssertFalse(section.contains("vertical-heads"))
    }

    func testTwentyFiveClassesMakeAHeatMapWithALegend() throws {
        var labels = (1...25).map { "noun.category-\($0)" }
        labels[3] = "a<b&\"c\""
        labels[7] = "Pride and Prejudice"
        let (html, result) = try render(labels: labels, dumpAs: "confusion-25.html")
        let section = try confusionSection(html)
        XCTAssertFalse(section.contains("<table class=\"confusion\">"), "25 classes are a heat map, not a table")
        XCTAssertEqual(occurrences(of: "<table class=\"heatmap", in: section), 3)
        XCTAssertEqual(occurrences(of: "<figure class=\"matrix heat full-row\">", in: section), 3)
        // A legend with both colour scales at 0, 50 and 100 % of the true class, once per matrix.
        XCTAssertEqual(occurrences(of: "<div class=\"heat-legend\"", in: section), 3)
        XCTAssertEqual(occurrences(of: "<span>0 %</span><span>50 %</span><span>100 %</span>", in: section), 6)
        XCTAssertTrue(section.contains("correct (diagonal)"))
        XCTAssertTrue(section.contains("share of the true class (row)"))

        // Every label in full on its row and as the tooltip of its numbered column, escaped.
        XCTAssertFalse(html.contains("a<b&\"c\""))
        XCTAssertFalse(html.contains("a<b"))
        for (index, label) in labels.enumerated() {
            let escaped = Format.html(label)
            XCTAssertEqual(occurrences(of: "<th scope=\"row\" class=\"label\" title=\"\(escaped)\">\(escaped)</th>"
                                           + "<th scope=\"row\" class=\"index\">\(index + 1)</th>", in: section), 3, label)
            XCTAssertEqual(occurrences(of: "<th scope=\"col\" title=\"predicted \(index + 1): \(escaped)\">\(index + 1)</th>",
                                       in: section), 3, label)
        }
        XCTAssertTrue(section.contains("a&lt;b&amp;&quot;c&quot;"))

        // Each cell: coloured by row share, its count in the tooltip, written when non-zero.
        let candidate = try XCTUnwrap(result.candidates.first { $0.status == .ok && $0.report != nil })
        let matrix = try XCTUnwrap(candidate.report).confusionMatrix
        let counts = matrix[3]
        let total = counts.reduce(0, +)
        XCTAssertGreaterThan(counts[3], 0)
        let share = Double(counts[3]) / Double(total)
        let alpha = 0.1 + 0.8 * share
        let diagonal = "<td class=\"diag\(alpha > 0.55 ? " dark" : "")\" style=\"background:rgba(0,114,178,\(Format.fixed(alpha, 2)))\""
        XCTAssertTrue(section.contains(diagonal), diagonal)
        let tip = "title=\"a&lt;b&amp;&quot;c&quot; → a&lt;b&amp;&quot;c&quot;: \(counts[3]) of \(total) "
            + "(\(Format.fixed(100 * Double(counts[3]) / Double(total), 1)) %)\">\(counts[3])</td>"
        XCTAssertTrue(section.contains(tip), tip)
        let empty = try XCTUnwrap(counts.indices.first { counts[$0] == 0 })
        XCTAssertTrue(section.contains("<td class=\"off none\" title=\"a&lt;b&amp;&quot;c&quot; → \(Format.html(labels[empty])): "
                                       + "0 of \(total) (0.0 %)\"></td>"))
    }

    func testFortyFiveClassesFitTheRow() throws {
        let (html, _) = try render(labels: Self.lexnames, dumpAs: "confusion-45.html")
        let section = try confusionSection(html)
        XCTAssertEqual(occurrences(of: "<table class=\"heatmap", in: section), 3)
        // Fixed layout at the card's width: 45 columns share what the label and index columns leave.
        XCTAssertEqual(occurrences(of: "<col span=\"45\">", in: section), 3)
        XCTAssertTrue(section.contains("<th scope=\"row\" class=\"label\" title=\"noun.communication\">noun.communication</th>"))
        XCTAssertTrue(section.contains("<th scope=\"col\" title=\"predicted 45: adj.ppl\">45</th>"))
        // Counts up to two digits fit 45 columns on a 1280-px screen.
        XCTAssertTrue(section.contains("<table class=\"heatmap counts"))
    }

    func testConfusionStyleKeepsWordsWholeAndPrintsColours() throws {
        let css = HTMLStyle.css
        let confusionRules = css.split(separator: "\n").filter {
            $0.contains("confusion") || $0.contains("heatmap") || $0.contains("heat-legend")
        }
        XCTAssertGreaterThan(confusionRules.count, 10)
        for rule in confusionRules {
            XCTAssertFalse(rule.contains("break-word"), String(rule))
            XCTAssertFalse(rule.contains("break-all"), String(rule))
            XCTAssertFalse(rule.contains("overflow-wrap: anywhere"), String(rule))
        }
        XCTAssertTrue(css.contains("table.confusion th { word-break: keep-all; overflow-wrap: normal;"))
        XCTAssertTrue(css.contains("word-break: keep-all; overflow-wrap: normal; hyphens: manual; text-overflow: ellipsis; }"))
        XCTAssertTrue(css.contains(".grid > figure.full-row { grid-column: 1 / -1; }"))
        XCTAssertTrue(css.contains("table.heatmap { width: 100%; table-layout: fixed;"))
        let print = try XCTUnwrap(css.components(separatedBy: "@media print").last)
        XCTAssertTrue(print.contains("-webkit-print-color-adjust: exact; print-color-adjust: exact;"))
        XCTAssertTrue(print.contains(".confusion-wrap { overflow: visible; }"))
        XCTAssertTrue(print.contains("figure.matrix { break-inside: avoid; }"))
        XCTAssertTrue(print.contains("table.heatmap.print-counts td"))
        XCTAssertFalse(css.contains("url("), "no external resource")
    }
}
