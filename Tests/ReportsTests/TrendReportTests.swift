import Evaluation
import Foundation
@testable import Reports
import XCTest

/// The trend section of the HTML report and the summary's sparklines (from `--history`).
final class TrendReportTests: XCTestCase {
    static let hostile = "<b onmouseover=x>&amp;"

    /// A trend of accuracy over five stored runs, with a candidate older runs had and this one lacks.
    func trend(for result: RunResult) -> MetricTrend {
        let names = result.candidates.map(\.name)
        let runs = (0..<5).map { index in
            MetricTrend.Run(startedAt: "2025-06-0\(index + 1)T10:00:00Z", commit: String(repeating: "\(index)", count: 40),
                            branch: index == 2 ? Self.hostile : "main", verdict: index == 3 ? "failed" : "passed")
        }
        var series = names.enumerated().map { offset, name in
            MetricTrend.Series(candidate: name, points: (0..<5).map { run in
                MetricTrend.Point(value: 0.8 + 0.01 * Double(run + offset), low: 0.75, high: 0.9)
            })
        }
        series.append(MetricTrend.Series(candidate: Self.hostile, points: [MetricTrend.Point(value: 0.5), nil, nil, nil, nil]))
        return MetricTrend(suite: result.suite.name, metric: "accuracy", runs: runs, series: series).appending(result, limit: 6)
    }

    func testTheTrendSectionDrawsEveryCandidateAndEscapes() throws {
        let (result, baseline) = ReportFixture.standard
        let trend = trend(for: result)
        XCTAssertEqual(trend.runs.count, 6)
        XCTAssertEqual(trend.runs.last?.isCurrent, true)
        let html = HTMLReport.render(result: result, baseline: baseline, trends: [trend])
        XCTAssertTrue(html.contains("<section id=\"trend\">"))
        XCTAssertTrue(html.contains("href=\"#trend\""))
        XCTAssertTrue(html.contains("accuracy of each candidate over the last 6 runs"))
        XCTAssertTrue(html.contains(">this run"))
        XCTAssertTrue(html.contains(">3333333 ✗<"), "a failed run is marked")
        XCTAssertFalse(html.contains(Self.hostile))
        XCTAssertTrue(html.contains(Format.html(Self.hostile)))
        // Every point has a tooltip naming candidate, run and value: 6 runs × the fixture's measured
        // candidates (the failed one has no accuracy in this run) + 1 for the old candidate.
        let section = html[html.range(of: "<section id=\"trend\">")!.lowerBound...]
        let trendHTML = String(section[..<section.range(of: "</section>")!.lowerBound])
        let measured = result.candidates.filter { $0.metrics != nil }.count
        XCTAssertEqual(trendHTML.components(separatedBy: "<circle").count - 1, 5 * result.candidates.count + measured + 1)
        // Without a history there is no section and no link to it.
        let plain = HTMLReport.render(result: result, baseline: baseline)
        XCTAssertFalse(plain.contains("id=\"trend\""))
        XCTAssertFalse(plain.contains("href=\"#trend\""))
    }

    func testTheSummaryHasASparklinePerCandidate() {
        let (result, _) = ReportFixture.standard
        let summary = MarkdownSummary.render(result: result, trends: [trend(for: result)])
        XCTAssertTrue(summary.contains("**Trend** over the last 6 runs"))
        for candidate in result.candidates where candidate.metrics != nil {
            XCTAssertTrue(summary.contains("| accuracy | \(MarkdownSummary.cell(candidate.name)) |"), candidate.name)
        }
        XCTAssertFalse(summary.contains(Self.hostile), "names are escaped for Markdown")
        XCTAssertEqual(MarkdownSummary.sparkline([0, 0.5, 1, nil]), "▁▅█·")
        XCTAssertEqual(MarkdownSummary.sparkline([0.3, 0.3]), "▄▄")
        XCTAssertEqual(MarkdownSummary.trendTable([]), [])
    }
}
