import Evaluation
import Foundation
@testable import Reports
import XCTest

/// Per-class metrics and prediction warnings reach every output: HTML, Markdown, JUnit.
final class PerClassReportTests: XCTestCase {
    func testCollapseWarnings() {
        func scores(_ label: String, support: Int, predicted: Double) -> ClassMetricValues {
            let zero = MetricValue(value: 0, low: 0, high: 0)
            return ClassMetricValues(classIndex: 0, label: label, support: support, predicted: predicted,
                                     precision: zero, recall: zero, f1: zero)
        }
        XCTAssertEqual(ClassCollapse.warnings([scores("other", support: 547, predicted: 604), scores("grain", support: 57, predicted: 0)]), [
            "predicts other for 604 of 604 test examples (100.0 %): it may have collapsed to one class",
            "never predicts grain (57 test examples): recall of grain is 0",
        ])
        XCTAssertEqual(ClassCollapse.warnings([scores("a", support: 50, predicted: 60), scores("b", support: 50, predicted: 40)]), [])
        XCTAssertEqual(ClassCollapse.warnings([scores("a", support: 99, predicted: 98.5), scores("b", support: 1, predicted: 1.5)]), [
            "predicts a for 98.5 of 100 test examples (98.5 %): it may have collapsed to one class",
        ])
    }

    func testEveryOutputShowsPerClassMetrics() throws {
        var fixture = ReportFixture()
        fixture.labels = ["negative", "neutral <b>", "positive"]
        let (result, baseline) = fixture.make()
        let candidate = try XCTUnwrap(result.candidates.first { $0.perClassMetrics != nil })
        let neutral = try XCTUnwrap(candidate.perClassMetrics?[1])

        let html = HTMLReport.render(result: result, baseline: baseline)
        XCTAssertTrue(html.contains("<section id=\"per-class\">"), "per-class section")
        XCTAssertTrue(html.contains("neutral &lt;b&gt;"))
        XCTAssertFalse(html.contains("neutral <b>"), "labels are escaped")
        XCTAssertTrue(html.contains("<a href=\"#per-class\">Per class</a>"))

        let markdown = MarkdownSummary.render(result: result)
        XCTAssertTrue(markdown.contains("| class | support | "), markdown)
        XCTAssertTrue(markdown.contains("| neutral \\<b> | \(neutral.support) | "), markdown)

        let properties = Dictionary(uniqueKeysWithValues: JUnitWriter.properties(of: candidate))
        XCTAssertEqual(properties["recall[neutral <b>]"], String(neutral.recall.value))
        XCTAssertEqual(properties["recall[neutral <b>].ci_low"], String(neutral.recall.low))
        XCTAssertEqual(properties["support[neutral <b>]"], String(neutral.support))
    }
}
