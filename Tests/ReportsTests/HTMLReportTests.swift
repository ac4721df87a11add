import Evaluation
import Foundation
@testable import Reports
import XCTest

final class HTMLReportTests: XCTestCase {
    private static let hostile = "<script>alert(1)</script>"

    private func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    /// Every value of `attribute="…"` in the document.
    private func attributeValues(_ attribute: String, in html: String) -> [String] {
        html.components(separatedBy: " \(attribute)=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    func testHasEverySection() {
        let (result, baseline) = ReportFixture.standard
        let html = HTMLReport.render(result: result, baseline: baseline)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.hasSuffix("</html>\n"))
        for id in ["verdict", "candidates", "metrics", "training", "learning-forgetting", "forgetting", "confusion",
                   "comparisons", "checks", "provenance"] {
            XCTAssertEqual(occurrences(of: "id=\"\(id)\"", in: html), 1, id)
            XCTAssertTrue(html.contains("href=\"#\(id)\""), id)
        }
        for heading in ["<h2>Candidates</h2>", "<h2>Metrics</h2>", "<h2>Training</h2>", "<h2>Learning versus forgetting</h2>",
                        "<h2>Forgetting</h2>", "<h2>Confusion matrices</h2>", "<h2>Comparisons</h2>", "<h2>Checks</h2>",
                        "<h2>Provenance</h2>", "Against the baseline run", "Overfitting"] {
            XCTAssertTrue(html.contains(heading), heading)
        }
        // Charts: 3 loss panels (the NaN run has no history), 4 metric panels, 1 scatter.
        XCTAssertEqual(occurrences(of: "<svg class=\"chart\"", in: html), 8)
        XCTAssertEqual(occurrences(of: "<table class=\"confusion\">", in: html), 3)
        XCTAssertTrue(html.contains("@media print"))
        // Provenance: hashes and environment.
        XCTAssertTrue(html.contains(result.suite.contentSHA256))
        XCTAssertTrue(html.contains(result.model.sha256))
        XCTAssertTrue(html.contains(result.data[2].sha256))
        XCTAssertTrue(html.contains(Format.html(result.environment.cpu)))
        XCTAssertTrue(html.contains("BLAS core Haswell"))
    }

    func testVerdictBannerListsFailuresWithSymbols() {
        let (result, baseline) = ReportFixture.standard
        let html = HTMLReport.render(result: result, baseline: baseline)
        XCTAssertEqual(Gate.verdict(for: result), .error)
        XCTAssertTrue(html.contains("<section id=\"verdict\" class=\"banner error\""))
        XCTAssertTrue(html.contains("⚠ Run error — "))
        XCTAssertTrue(html.contains("exit code 3"))
        let banner = String(html[html.range(of: "id=\"verdict\"")!.lowerBound...]).components(separatedBy: "</section>")[0]
        for check in result.checks where check.status == .failed || check.status == .error {
            XCTAssertTrue(banner.contains(Format.html(check.message!)), check.message!)
        }
        for check in result.checks where check.status == .passed {
            XCTAssertFalse(banner.contains(Format.html(check.candidate) + " — " + Format.html(check.name) + "</span>: "
                                           + Format.html(check.message!)), check.name)
        }
        // Status is told in words and symbols, not colour alone.
        XCTAssertTrue(html.contains("✓ passed"))
        XCTAssertTrue(html.contains("✗ failed"))
        XCTAssertTrue(html.contains("– skipped"))

        var passing = result
        passing.candidates.removeLast()
        passing.checks = passing.checks.filter { $0.status == .passed }
        let passed = HTMLReport.render(result: passing, baseline: nil)
        XCTAssertTrue(passed.contains("class=\"banner passed\""))
        XCTAssertTrue(passed.contains("✓ Gate passed"))
        XCTAssertTrue(passed.contains("No baseline run was given"))
    }

    func testSelfContainedWithoutScriptOrExternalURL() {
        let (result, baseline) = ReportFixture.standard
        let html = HTMLReport.render(result: result, baseline: baseline)
        XCTAssertFalse(html.contains("http://"))
        XCTAssertFalse(html.contains("https://"))
        XCTAssertFalse(html.contains("//cdn"))
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertFalse(html.lowercased().contains("javascript:"))
        XCTAssertFalse(html.contains("@import"))
        XCTAssertFalse(html.contains("url("))
        XCTAssertTrue(attributeValues("src", in: html).isEmpty)
        let links = attributeValues("href", in: html)
        XCTAssertFalse(links.isEmpty)
        XCTAssertTrue(links.allSatisfy { $0.hasPrefix("#") }, "\(links)")
    }

    func testEscapesEveryStringFromTheSuiteAndData() {
        var fixture = ReportFixture()
        fixture.promptName = Self.hostile
        fixture.fullName = "full \"quoted\" & 'single'"
        fixture.labels = ["negative", Self.hostile, "positive"]
        fixture.suiteName = "<img src=x onerror=alert(2)>"
        var (result, baseline) = fixture.make()
        result.data[0].path = "data/<script>alert(3)</script>.jsonl"
        result.environment.cpu = "<b>cpu</b>"
        let html = HTMLReport.render(result: result, baseline: baseline)

        XCTAssertFalse(html.contains(Self.hostile))
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("<img"))
        XCTAssertFalse(html.contains("<b>cpu</b>"))
        XCTAssertFalse(html.contains("full \"quoted\""))
        XCTAssertFalse(html.contains("'single'"))
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
        // As a candidate (tables, charts, comparisons, checks, messages) and as a label (confusion matrices).
        XCTAssertGreaterThan(occurrences(of: escaped, in: html), 10)
        XCTAssertTrue(html.contains("<th scope=\"col\">\(escaped)</th>"))
        XCTAssertTrue(html.contains("full &quot;quoted&quot; &amp; &#39;single&#39;"))
        XCTAssertTrue(html.contains("&lt;img src=x onerror=alert(2)&gt;"))
        // The gate's messages name the prompt candidate: escaped there too.
        XCTAssertTrue(result.checks.contains { $0.message?.contains(Self.hostile) ?? false })
    }

    func testCandidateTableHumanReadableNumbers() {
        let (result, baseline) = ReportFixture.standard
        let html = HTMLReport.render(result: result, baseline: baseline)
        XCTAssertTrue(html.contains("86.7 MiB"))  // 90,868,736 bytes of base weights
        XCTAssertTrue(html.contains("12.4 MiB"))  // the NF4 base
        XCTAssertTrue(html.contains("22,714,371"))
        XCTAssertTrue(html.contains("2 min 12 s"))  // 131.7 s
        XCTAssertTrue(html.contains("run failed: loss became NaN at epoch 2, step 14"))
        let lora = result.candidate(named: "lora-r8")!.metrics!.accuracy
        XCTAssertTrue(html.contains("\(Format.fixed(lora.value))<span class=\"sub\">\(Format.fixed(lora.low))–\(Format.fixed(lora.high))</span>"))
    }

    func testWritesAtomically() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("html-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (result, baseline) = ReportFixture.standard
        let url = directory.appendingPathComponent("report.html")
        try HTMLReport.write(result: result, baseline: baseline, to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), HTMLReport.render(result: result, baseline: baseline))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["report.html"])
    }

    func testRunsWithoutOptionalData() {
        var (result, _) = ReportFixture.standard
        for index in result.candidates.indices {
            result.candidates[index].forgetting = []
            result.candidates[index].comparisons = []
            result.candidates[index].training = nil
            result.candidates[index].overfitting = nil
        }
        result.checks = []
        let html = HTMLReport.render(result: result, baseline: nil)
        XCTAssertTrue(html.contains("No training history was recorded."))
        XCTAssertTrue(html.contains("The suite has no retention checks."))
        XCTAssertTrue(html.contains("No candidate has forgetting measurements"))
        XCTAssertTrue(html.contains("No paired comparisons were recorded."))
        XCTAssertTrue(html.contains("The suite has no gated checks."))
        // The failed run alone still makes it an error.
        XCTAssertTrue(html.contains("class=\"banner error\""))
    }
}
