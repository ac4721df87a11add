import Evaluation
import Foundation
@testable import Reports
import XCTest

final class MarkdownSummaryTests: XCTestCase {
    func testVerdictTableAndFailedChecks() throws {
        let (result, _) = ReportFixture.standard
        let markdown = MarkdownSummary.render(result: result)
        let lines = markdown.components(separatedBy: "\n")

        XCTAssertEqual(lines[0], "### evalharness · sentiment: ⚠️ run error")
        XCTAssertTrue(lines[2].hasPrefix(CheckTally(result.checks).summary + " · 4 candidates · 10 min 55 s · exit code 3"), lines[2])
        XCTAssertEqual(lines[4], "| candidate | method | accuracy (95% CI) | F1 macro | forgetting | trainable params | time |")

        let lora = try XCTUnwrap(result.candidate(named: "lora-r8"))
        let metrics = try XCTUnwrap(lora.metrics)
        let drop = (0.821 - 0.806 + 0.912 - 0.897) / 2
        XCTAssertTrue(lines.contains(
            "| lora-r8 | lora | \(Format.withInterval(metrics.accuracy)) | \(Format.fixed(metrics.f1Macro.value)) | "
                + "\(Format.signed(drop)) | 296k | 2 min 12 s |"), markdown)
        XCTAssertTrue(lines.contains("| qlora-nf4 | qlora | ⚠️ failed: loss became NaN at epoch 2, step 14 | | | 296k | |"),
                      markdown)
        XCTAssertTrue(lines.contains { $0.hasPrefix("| full-ft | full | ") && $0.hasSuffix(" | 22.7M | 6 min 53 s |") }, markdown)

        // Each failed or errored check is listed with its message, except that the NaN run's
        // checks are summed up in one line; no passed check is listed.
        XCTAssertTrue(lines.contains("**Failed checks and errors**"))
        let listed = lines.filter { $0.hasPrefix("- ") }
        XCTAssertEqual(listed.count, result.checks.count { $0.status == .failed } + 1)
        let failure = try XCTUnwrap(result.checks.first { $0.status == .failed && $0.candidate == "prompt-tuning" })
        XCTAssertFalse(markdown.contains("&gt;") || markdown.contains("&lt;"), "no HTML entities in Markdown")
        XCTAssertTrue(listed.contains("- ❌ **prompt-tuning** — accuracy >= 0.85: "
            + MarkdownSummary.inline(failure.message!)), listed.joined(separator: "\n"))
        XCTAssertTrue(listed.contains("- ⚠️ **qlora-nf4** — run failed: loss became NaN at epoch 2, step 14 (4 checks not evaluated)"),
                      listed.joined(separator: "\n"))

        // Short enough for a pull-request comment.
        XCTAssertLessThan(lines.count, 40)
        XCTAssertLessThan(markdown.utf8.count, 4_000)
    }

    func testEscapesPipesAndMarkup() {
        var fixture = ReportFixture()
        fixture.loraName = "lora|r8 <b>x</b>"
        fixture.suiteName = "suite_with *stars*"
        let (result, _) = fixture.make()
        let markdown = MarkdownSummary.render(result: result)
        XCTAssertTrue(markdown.contains("| lora\\|r8 \\<b>x\\</b> | lora | "), markdown)
        XCTAssertEqual(MarkdownSummary.inline("a < b && c <= d &amp; <!-- x"), "a < b && c <= d \\&amp; \\<!-- x")
        XCTAssertFalse(markdown.contains("lora|r8"))
        XCTAssertFalse(markdown.contains("r8 <b>"))
        XCTAssertTrue(markdown.hasPrefix("### evalharness · suite\\_with \\*stars\\*: "))
        // Each table row still has exactly its header's unescaped pipes: eight in the candidates
        // table, six in the per-class table (three candidates).
        for line in markdown.components(separatedBy: "\n") where line.hasPrefix("| ") {
            let cells = line.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
            XCTAssertTrue(cells == 8 || (cells == 6 && !line.contains(" lora ")), line)
        }
        XCTAssertEqual(MarkdownSummary.inline("a\nb|c"), "a b\\|c")
    }

    func testPassedRunAndTruncatedList() {
        var (result, _) = ReportFixture.standard
        result.candidates.removeLast()
        result.checks = result.checks.filter { $0.status == .passed }
        let passed = MarkdownSummary.render(result: result)
        XCTAssertTrue(passed.hasPrefix("### evalharness · sentiment: ✅ passed\n"))
        XCTAssertFalse(passed.contains("Failed checks"))

        let failing = CheckResult(candidate: "lora-r8", name: "accuracy >= 0.99", metric: "accuracy", value: 0.8,
                                  threshold: 0.99, passed: false, status: .failed, message: "accuracy 0.800 < 0.99")
        result.checks = Array(repeating: failing, count: 25)
        let failed = MarkdownSummary.render(result: result)
        XCTAssertTrue(failed.hasPrefix("### evalharness · sentiment: ❌ failed\n"))
        XCTAssertEqual(failed.components(separatedBy: "\n").filter { $0.hasPrefix("- ❌") }.count, 20)
        XCTAssertTrue(failed.contains("- … and 5 more (see the HTML report or JUnit results)"))
    }
}

final class ContaminationReportTests: XCTestCase {
    /// Duplicates between training and evaluation texts are shown, escaped, wherever a reviewer looks.
    func testContaminationIsReportedInHTMLAndMarkdown() {
        var (result, _) = ReportFixture.standard
        result.contamination = [ContaminatedExample(split: "test", id: "<b>t1</b>", trainID: "r9"),
                                ContaminatedExample(split: "validation", id: "v2", trainID: "r3")]
        let html = HTMLReport.render(result: result, baseline: nil)
        XCTAssertTrue(html.contains("2 evaluation examples repeat a training text exactly (1 in test)"))
        XCTAssertTrue(html.contains("&lt;b&gt;t1&lt;/b&gt;"))
        XCTAssertFalse(html.contains("<b>t1</b>"))
        XCTAssertTrue(MarkdownSummary.render(result: result).contains("contamination: 2 validation/test example(s)"))
        result.contamination = []
        XCTAssertTrue(HTMLReport.render(result: result, baseline: nil).contains("none: no validation or test text repeats a training text"))
        XCTAssertFalse(MarkdownSummary.render(result: result).contains("contamination"))
    }
}
