import CLibXML2
import Evaluation
import Foundation

/// The run as JUnit XML, so every CI system shows each check × candidate as a test.
///
/// Mapping (valid against Jenkins' junit-10.xsd):
///
///     <testsuites name=SUITE tests failures errors time=run seconds>
///       <testsuite name=CANDIDATE tests failures errors skipped time=training seconds timestamp>
///         <properties> method, status, config_hash, trainable_parameters, base_weight_bytes,
///                      each headline metric with .ci_low/.ci_high, training and forgetting numbers
///         <testcase classname="SUITE.CANDIDATE" name="accuracy >= 0.85" time="0">
///           <failure message=…/> | <error message=…/> | <skipped message=…/>
///
/// A candidate with no checks still gets its testsuite; if its run failed, one testcase "run"
/// carries the `<error>`, so the failure is never hidden. Checks naming a candidate the run does
/// not have get a testsuite of their own. No per-testcase properties (many readers reject them).
public enum JUnitWriter {
    /// The XML document, UTF-8.
    public static func render(result: RunResult) throws -> Data {
        try XMLDocumentWriter.build { xml in
            try writeDocument(result, xml)
        }
    }

    /// Writes the XML to `url` atomically (a temporary file in the same folder, then a rename).
    public static func write(result: RunResult, to url: URL) throws {
        try AtomicFile.write(render(result: result), to: url)
    }

    struct Suite {
        let name: String
        let candidate: CandidateResult?
        var checks: [CheckResult]

        /// The testcase for a failed run no check reports.
        var runFailure: String? {
            guard let candidate, candidate.status == .failed, checks.isEmpty else { return nil }
            return candidate.error ?? "the candidate's run failed"
        }

        var tally: CheckTally { CheckTally(checks) }
        var tests: Int { checks.count + (runFailure == nil ? 0 : 1) }
        var errors: Int { tally.errors + (runFailure == nil ? 0 : 1) }
    }

    /// One suite per candidate in run order, then one per unknown candidate name the checks use.
    static func suites(of result: RunResult) -> [Suite] {
        var suites = result.candidates.map { Suite(name: $0.name, candidate: $0, checks: []) }
        for check in result.checks {
            if let index = suites.firstIndex(where: { $0.name == check.candidate }) {
                suites[index].checks.append(check)
            } else {
                suites.append(Suite(name: check.candidate, candidate: nil, checks: [check]))
            }
        }
        return suites
    }

    private static func writeDocument(_ result: RunResult, _ xml: XMLDocumentWriter) throws {
        let suites = suites(of: result)
        try xml.start("testsuites")
        try xml.attribute("name", result.suite.name)
        try xml.attribute("tests", String(suites.reduce(0) { $0 + $1.tests }))
        try xml.attribute("failures", String(suites.reduce(0) { $0 + $1.tally.failed }))
        try xml.attribute("errors", String(suites.reduce(0) { $0 + $1.errors }))
        try xml.attribute("time", time(result.durationSeconds))
        for suite in suites {
            try writeSuite(suite, result: result, xml)
        }
        try xml.end()
    }

    private static func writeSuite(_ suite: Suite, result: RunResult, _ xml: XMLDocumentWriter) throws {
        try xml.start("testsuite")
        try xml.attribute("name", suite.name)
        try xml.attribute("tests", String(suite.tests))
        try xml.attribute("failures", String(suite.tally.failed))
        try xml.attribute("errors", String(suite.errors))
        try xml.attribute("skipped", String(suite.tally.skipped))
        try xml.attribute("time", time(suite.candidate?.training?.seconds ?? 0))
        try xml.attribute("timestamp", result.startedAt)

        let properties = suite.candidate.map(properties(of:)) ?? []
        if !properties.isEmpty {
            try xml.start("properties")
            for (name, value) in properties {
                try xml.start("property")
                try xml.attribute("name", name)
                try xml.attribute("value", value)
                try xml.end()
            }
            try xml.end()
        }

        let classname = "\(result.suite.name).\(suite.name)"
        if let runFailure = suite.runFailure {
            try xml.start("testcase")
            try xml.attribute("classname", classname)
            try xml.attribute("name", "run")
            try xml.attribute("time", time(0))
            try outcome("error", type: "run failed", message: runFailure, xml)
            try xml.end()
        }
        for check in suite.checks {
            try xml.start("testcase")
            try xml.attribute("classname", classname)
            try xml.attribute("name", check.name)
            try xml.attribute("time", time(0))
            switch check.status {
            case .passed: break
            case .failed: try outcome("failure", type: "check failed", message: check.message ?? check.name, xml)
            case .error: try outcome("error", type: "check error", message: check.message ?? "error", xml)
            case .skipped: try outcome("skipped", type: nil, message: check.message ?? "skipped", xml)
            }
            // What the reader should know beside the outcome (e.g. a margin the seed count cannot decide).
            let notes = (check.warnings ?? []).map { "warning: " + $0 }
                + (check.adjustedLevel != nil && check.status == .passed ? [check.message ?? ""] : [])
            if !notes.isEmpty {
                try xml.start("system-out")
                try xml.text(notes.joined(separator: "\n"))
                try xml.end()
            }
            try xml.end()
        }
        try xml.end()
    }

    private static func outcome(_ element: String, type: String?, message: String, _ xml: XMLDocumentWriter) throws {
        try xml.start(element)
        if let type { try xml.attribute("type", type) }
        try xml.attribute("message", message)
        if element != "skipped" { try xml.text(message) }
        try xml.end()
    }

    /// The candidate's identity and numbers, as (name, value) pairs in a fixed order.
    static func properties(of candidate: CandidateResult) -> [(String, String)] {
        var properties: [(String, String)] = [
            ("method", candidate.method),
            ("status", candidate.status.rawValue),
            ("config_hash", candidate.configHash),
            ("trainable_parameters", String(candidate.trainableParameters)),
            ("base_weight_bytes", String(candidate.baseWeightBytes)),
        ]
        if let error = candidate.error { properties.append(("error", error)) }
        do {
            // A candidate has one task's metrics; the other's are absent.
            for column in TestMetricColumn.classification + TestMetricColumn.generation {
                guard let metric = column.value(candidate) else { continue }
                properties.append((column.key, number(metric.value)))
                properties.append((column.key + ".ci_low", number(metric.low)))
                properties.append((column.key + ".ci_high", number(metric.high)))
                if let spread = metric.seeds {
                    properties.append((column.key + ".seed_sd", number(spread.sd)))
                    properties.append((column.key + ".seed_min", number(spread.min)))
                    properties.append((column.key + ".seed_max", number(spread.max)))
                }
            }
        }
        for scores in candidate.perClassMetrics ?? [] {
            for (kind, metric) in scores.metrics {
                let name = scores.checkName(kind)
                properties.append((name, number(metric.value)))
                properties.append((name + ".ci_low", number(metric.low)))
                properties.append((name + ".ci_high", number(metric.high)))
            }
            properties.append(("support[\(scores.label)]", String(scores.support)))
        }
        if let positive = candidate.positiveClass {
            properties.append(("positive_label", positive.label))
            for (name, metric) in [("roc_auc", positive.rocAUC), ("pr_auc", positive.prAUC)] {
                properties.append((name, number(metric.value)))
                properties.append((name + ".ci_low", number(metric.low)))
                properties.append((name + ".ci_high", number(metric.high)))
            }
            if let threshold = positive.threshold {
                properties.append(("decision_threshold", number(threshold.value)))
                properties.append(("decision_threshold.validation_f1", number(threshold.validationF1)))
            }
        }
        for (index, warning) in (candidate.warnings ?? []).enumerated() {
            properties.append(("warning.\(index + 1)", warning))
        }
        properties.append(("seeds", String(candidate.seedRuns.count)))
        if let training = candidate.training {
            properties += [
                ("training.seconds", number(training.seconds)),
                ("training.examples_per_s", number(training.examplesPerSecond)),
                ("training.peak_rss_bytes", String(training.peakRSSBytes)),
                ("training.epochs_run", String(training.epochsRun)),
                ("training.best_epoch", String(training.bestEpoch)),
            ]
        }
        for check in candidate.forgetting {
            properties.append(("forgetting.\(check.name).base", number(check.result.base)))
            properties.append(("forgetting.\(check.name).candidate", number(check.result.candidate)))
            properties.append(("forgetting.\(check.name).absolute_drop", number(check.result.absoluteDrop)))
        }
        if let overfitting = candidate.overfitting {
            properties.append(("overfitting.loss_gap", number(overfitting.gapAtBestEpoch.lossGap)))
            properties.append(("overfitting.accuracy_gap", number(overfitting.gapAtBestEpoch.accuracyGap)))
        }
        for setting in candidate.settings.sorted(by: { $0.key < $1.key }) {
            properties.append(("settings.\(setting.key)", setting.value))
        }
        return properties
    }

    /// Full precision: the shortest text that reads back as the same Double.
    private static func number(_ value: Double) -> String { String(value) }

    /// Seconds with three decimals, never negative (the schema's SUREFIRE_TIME has no sign or exponent).
    static func time(_ seconds: Double) -> String {
        String(format: "%.3f", seconds.isFinite && seconds > 0 ? seconds : 0)
    }
}

/// libxml2's xmlTextWriter over an in-memory buffer, with Swift strings and thrown errors.
final class XMLDocumentWriter {
    private let writer: xmlTextWriterPtr

    private init(writer: xmlTextWriterPtr) {
        self.writer = writer
    }

    /// Runs `body` between the XML declaration and the end of the document; returns the bytes.
    static func build(_ body: (XMLDocumentWriter) throws -> Void) throws -> Data {
        guard let buffer = xmlBufferCreate() else { throw XMLWriteError("cannot allocate an XML buffer") }
        defer { xmlBufferFree(buffer) }
        guard let writer = xmlNewTextWriterMemory(buffer, 0) else { throw XMLWriteError("cannot create an XML writer") }
        let document = XMLDocumentWriter(writer: writer)
        do {
            try document.check(xmlTextWriterSetIndent(writer, 1), "set indentation")
            try document.check(xmlTextWriterSetIndentString(writer, "  "), "set indentation")
            try document.check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil), "start the document")
            try body(document)
            try document.check(xmlTextWriterEndDocument(writer), "end the document")
        } catch {
            xmlFreeTextWriter(writer)
            throw error
        }
        xmlFreeTextWriter(writer)  // flushes into the buffer
        guard let content = xmlBufferContent(buffer) else { throw XMLWriteError("empty XML buffer") }
        return Data(bytes: content, count: Int(xmlBufferLength(buffer)))
    }

    func start(_ element: String) throws {
        try check(Self.withXMLChars(element) { xmlTextWriterStartElement(writer, $0) }, "start <\(element)>")
    }

    func end() throws {
        try check(xmlTextWriterEndElement(writer), "end an element")
    }

    func attribute(_ name: String, _ value: String) throws {
        let result = Self.withXMLChars(name) { name in
            Self.withXMLChars(Self.xmlSafe(value)) { value in xmlTextWriterWriteAttribute(writer, name, value) }
        }
        try check(result, "write attribute \(name)")
    }

    func text(_ content: String) throws {
        try check(Self.withXMLChars(Self.xmlSafe(content)) { xmlTextWriterWriteString(writer, $0) }, "write text")
    }

    private func check(_ result: Int32, _ action: String) throws {
        if result < 0 { throw XMLWriteError("libxml2 could not \(action)") }
    }

    private static func withXMLChars<R>(_ text: String, _ body: (UnsafePointer<xmlChar>) -> R) -> R {
        text.withCString { pointer in
            pointer.withMemoryRebound(to: xmlChar.self, capacity: text.utf8.count + 1, body)
        }
    }

    /// Characters XML 1.0 cannot carry at all (control characters but tab, newline and carriage
    /// return; U+FFFE, U+FFFF) become U+FFFD, so a stray byte in a message cannot break the file.
    static func xmlSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !isAllowed($0) }) else { return text }
        var safe = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            safe.append(isAllowed(scalar) ? scalar : "\u{FFFD}")
        }
        return String(safe)
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}

struct XMLWriteError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
