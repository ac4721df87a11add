import Evaluation
import Foundation
@testable import Reports
import XCTest

final class JUnitWriterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("junit-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Writes the run, validates the file against the schema, and reads it back.
    private func writeAndRead(_ result: RunResult, name: String = "junit.xml") throws -> ParsedElement {
        let url = directory.appendingPathComponent(name)
        try JUnitWriter.write(result: result, to: url)
        JUnitSchema.assertValid(url.path)
        return try XCTUnwrap(ParsedElement.parse(Data(contentsOf: url)), "not well-formed XML")
    }

    func testFixtureMapsCandidatesToSuitesAndChecksToCases() throws {
        let (result, _) = ReportFixture.standard
        let root = try writeAndRead(result)
        XCTAssertEqual(root.name, "testsuites")
        XCTAssertEqual(root["name"], "sentiment")
        XCTAssertEqual(root["time"], "655.300")

        let suites = root.elements("testsuite")
        XCTAssertEqual(suites.map { $0["name"] }, ["prompt-tuning", "lora-r8", "full-ft", "qlora-nf4"])
        for suite in suites {
            let name = try XCTUnwrap(suite["name"])
            let checks = result.checks.filter { $0.candidate == name }
            let cases = suite.elements("testcase")
            XCTAssertEqual(cases.map { $0["name"] }, checks.map(\.name), name)
            XCTAssertEqual(suite["tests"], String(checks.count), name)
            XCTAssertEqual(suite["failures"], String(checks.count { $0.status == .failed }), name)
            XCTAssertEqual(suite["errors"], String(checks.count { $0.status == .error }), name)
            XCTAssertEqual(suite["skipped"], String(checks.count { $0.status == .skipped }), name)
            XCTAssertNotNil(suite["time"], name)
            for (testcase, check) in zip(cases, checks) {
                XCTAssertEqual(testcase["classname"], "sentiment.\(name)")
                XCTAssertEqual(testcase["time"], "0.000")
                switch check.status {
                case .passed:
                    XCTAssertTrue(testcase.children.isEmpty, "\(name) \(check.name)")
                case .failed:
                    XCTAssertEqual(testcase.element("failure")?["message"], check.message)
                    XCTAssertEqual(testcase.element("failure")?.text, check.message)
                case .error:
                    XCTAssertEqual(testcase.element("error")?["message"], check.message)
                case .skipped:
                    XCTAssertEqual(testcase.element("skipped")?["message"], check.message)
                }
            }
        }
        XCTAssertEqual(root["tests"], String(result.checks.count))
        XCTAssertEqual(root["failures"], String(result.checks.count { $0.status == .failed }))
        XCTAssertEqual(root["errors"], String(result.checks.count { $0.status == .error }))
        // Every status occurs, so each element kind was exercised and validated.
        XCTAssertEqual(Set(result.checks.map(\.status)), [.passed, .failed, .error, .skipped])
    }

    func testSpecificOutcomes() throws {
        let (result, _) = ReportFixture.standard
        let suites = try writeAndRead(result).elements("testsuite")

        // The prompt-tuned candidate misses the accuracy threshold; the message is the gate's.
        let promptAccuracy = try XCTUnwrap(suites[0].elements("testcase").first { $0["name"] == "accuracy >= 0.85" })
        let message = try XCTUnwrap(promptAccuracy.element("failure")?["message"])
        XCTAssertTrue(message.hasPrefix("accuracy 0.7"), message)
        XCTAssertTrue(message.contains(" < 0.85 (95% CI 0."), message)

        // full-ft is new: the baseline run has no such candidate.
        let skipped = try XCTUnwrap(suites[2].elements("testcase").first { $0.element("skipped") != nil })
        XCTAssertEqual(skipped["name"], "accuracy non-inferior to baseline (margin 0.02)")
        XCTAssertEqual(skipped.element("skipped")?["message"], "the baseline run has no candidate named full-ft")

        // The NaN run: every one of its checks is an error carrying the run's error.
        let qlora = suites[3]
        XCTAssertEqual(qlora["errors"], qlora["tests"])
        XCTAssertEqual(qlora["time"], "0.000")
        for testcase in qlora.elements("testcase") {
            XCTAssertEqual(testcase.element("error")?["message"], "loss became NaN at epoch 2, step 14")
        }
    }

    func testPropertiesCarryMetricsAndIdentity() throws {
        let (result, _) = ReportFixture.standard
        let suites = try writeAndRead(result).elements("testsuite")
        let lora = try XCTUnwrap(result.candidate(named: "lora-r8"))
        let properties = Dictionary(
            uniqueKeysWithValues: try XCTUnwrap(suites[1].element("properties")).elements("property").map { ($0["name"]!, $0["value"]!) })
        XCTAssertEqual(properties["config_hash"], lora.configHash)
        XCTAssertEqual(properties["trainable_parameters"], "296451")
        XCTAssertEqual(properties["base_weight_bytes"], "90868736")
        XCTAssertEqual(properties["method"], "lora")
        XCTAssertEqual(properties["accuracy"].flatMap(Double.init), lora.metrics?.accuracy.value)
        XCTAssertEqual(properties["accuracy.ci_low"].flatMap(Double.init), lora.metrics?.accuracy.low)
        XCTAssertEqual(properties["ece.ci_high"].flatMap(Double.init), lora.metrics?.expectedCalibrationError.high)
        XCTAssertEqual(properties["forgetting.similarity:stsb.absolute_drop"].flatMap(Double.init),
                       lora.forgetting[0].result.absoluteDrop)
        XCTAssertEqual(properties["settings.rank"], "8")
        XCTAssertEqual(suites[1]["time"], "131.700")

        let qloraProperties = try XCTUnwrap(suites[3].element("properties")).elements("property")
        XCTAssertEqual(qloraProperties.first { $0["name"] == "status" }?["value"], "failed")
        XCTAssertNil(qloraProperties.first { $0["name"] == "accuracy" })
    }

    func testFailedCandidateWithoutChecksGetsARunError() throws {
        var (result, _) = ReportFixture.standard
        result.checks = result.checks.filter { $0.candidate == "lora-r8" }
        let suites = try writeAndRead(result).elements("testsuite")
        XCTAssertEqual(suites.count, 4)

        // Candidates without checks still have their suite.
        XCTAssertEqual(suites[0]["tests"], "0")
        XCTAssertTrue(suites[0].elements("testcase").isEmpty)
        XCTAssertNotNil(suites[0].element("properties"))

        let qlora = suites[3]
        XCTAssertEqual(qlora["tests"], "1")
        XCTAssertEqual(qlora["errors"], "1")
        let run = try XCTUnwrap(qlora.element("testcase"))
        XCTAssertEqual(run["name"], "run")
        XCTAssertEqual(run["classname"], "sentiment.qlora-nf4")
        XCTAssertEqual(run.element("error")?["message"], "loss became NaN at epoch 2, step 14")
    }

    func testChecksOnUnknownCandidatesAreNotDropped() throws {
        var (result, _) = ReportFixture.standard
        result.checks.append(CheckResult(candidate: "ghost", name: "accuracy >= 0.85", metric: "accuracy", value: nil,
                                         threshold: 0.85, passed: false, status: .error,
                                         message: "the run has no candidate named \"ghost\""))
        let suites = try writeAndRead(result).elements("testsuite")
        XCTAssertEqual(suites.last?["name"], "ghost")
        XCTAssertEqual(suites.last?["errors"], "1")
        XCTAssertNil(suites.last?.element("properties"))
    }

    func testHostileTextStaysWellFormedAndValid() throws {
        var fixture = ReportFixture()
        fixture.suiteName = "suite \"quoted\" & <tagged>"
        fixture.loraName = "<script>alert(1)</script>"
        fixture.labels = ["neg", "<b>neutral</b>", "pos & more"]
        var (result, _) = fixture.make()
        result.checks[0].message = "control \u{1} character\u{FFFE} and ]]> and a\nnewline"
        let root = try writeAndRead(result, name: "hostile.xml")
        XCTAssertEqual(root["name"], "suite \"quoted\" & <tagged>")
        XCTAssertEqual(root.elements("testsuite")[1]["name"], "<script>alert(1)</script>")
        let first = try XCTUnwrap(root.elements("testsuite").first?.elements("testcase").first)
        let message = try XCTUnwrap(first.children.first?["message"])
        XCTAssertEqual(message, "control \u{FFFD} character\u{FFFD} and ]]> and a\nnewline")
    }

    /// The validation itself works: a document breaking the schema in three ways is rejected.
    func testSchemaValidationRejectsAnInvalidDocument() throws {
        let url = directory.appendingPathComponent("invalid.xml")
        try Data("""
            <testsuites><testsuite tests="1" failures="0" errors="0" time="1e3"><testcase/></testsuite></testsuites>
            """.utf8).write(to: url)
        for schema in JUnitSchema.schemas {
            let errors = JUnitSchema.validate(url.path, schema: schema)
            XCTAssertGreaterThanOrEqual(errors.count, 3, schema.lastPathComponent + ": " + errors.joined(separator: "\n"))
            XCTAssertTrue(errors.contains { $0.contains("'name' is required") }, errors.joined(separator: "\n"))
            XCTAssertTrue(errors.contains { $0.contains("'1e3'") }, errors.joined(separator: "\n"))
        }
    }

    func testEmptyRunIsValid() throws {
        var (result, _) = ReportFixture.standard
        result.candidates = []
        result.checks = []
        result.durationSeconds = .nan
        let root = try writeAndRead(result)
        XCTAssertEqual(root["tests"], "0")
        XCTAssertEqual(root["time"], "0.000")
        XCTAssertTrue(root.elements("testsuite").isEmpty)
    }

    func testWriteIsAtomicAndLeavesNoTemporaryFiles() throws {
        let (result, _) = ReportFixture.standard
        let url = directory.appendingPathComponent("junit.xml")
        try Data("old".utf8).write(to: url)
        try JUnitWriter.write(result: result, to: url)
        XCTAssertEqual(try Data(contentsOf: url), try JUnitWriter.render(result: result))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["junit.xml"])
        let permissions = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        XCTAssertEqual(permissions, 0o644)

        let missing = directory.appendingPathComponent("no-such-folder/junit.xml")
        XCTAssertThrowsError(try JUnitWriter.write(result: result, to: missing)) { error in
            let description = String(describing: error)
            XCTAssertTrue(description.hasPrefix("cannot write \(missing.path):"), description)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["junit.xml"])
    }
}
