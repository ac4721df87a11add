import Evaluation
import Foundation

/// `calibration.html` and the console table of `evalharness calibrate`: per candidate and gated
/// metric, the seed and test-sampling spread, and per seed count the A/A-safe margin and the
/// regression it catches. Self-contained like the run report; every name is escaped.
public enum CalibrationReport {
    /// The seed counts shown (the full table, 1…16, is in calibration.json).
    static func shownRows(_ metric: CalibrationResult.Metric) -> [CalibrationResult.Row] {
        metric.rows.filter { [1, 2, 3, 4, 5, 6, 8, 10, 12, 16].contains($0.seeds) }
    }

    public static func text(_ calibration: CalibrationResult) -> String {
        var out = "Calibration of \(calibration.suite): margins that keep an unchanged candidate's A/A false-fail rate "
            + "≤ \(Format.fixed(calibration.falseFailRate * 100, 0))% per check, and the regression caught with "
            + "\(Format.fixed(calibration.power * 100, 0))% power, by seeds per run\n"
        for candidate in calibration.candidates {
            for metric in candidate.metrics {
                out += "\n\(candidate.name) · \(metric.metric): seed sd \(Format.fixed(metric.seedSD, 4)), "
                    + "test-sampling sd \(Format.fixed(metric.testSD, 4)) (\(candidate.seedsTrained) seeds trained)\n"
                out += "  seeds   margin   detectable regression\n"
                for row in shownRows(metric) {
                    out += String(format: "  %5d   %6.3f   %6.3f\n", row.seeds, row.margin, row.detectableRegression)
                }
            }
        }
        return out
    }

    public static func html(_ calibration: CalibrationResult) -> String {
        func h(_ text: String) -> String { Format.html(text) }
        var body = ""
        for candidate in calibration.candidates {
            for metric in candidate.metrics {
                var rows = ""
                for row in shownRows(metric) {
                    rows += "<tr><td class=\"num\">\(row.seeds)</td><td class=\"num\">\(Format.fixed(row.margin))</td>"
                        + "<td class=\"num\">\(Format.fixed(row.detectableRegression))</td></tr>"
                }
                body += """
                <section><h2>\(h(candidate.name)) · \(h(metric.metric))</h2>
                <p>Seed-to-seed sd <b>\(Format.fixed(metric.seedSD, 4))</b> (values \(metric.seedValues.map { Format.fixed($0) }.joined(separator: ", "))); \
                test-sampling sd <b>\(Format.fixed(metric.testSD, 4))</b>; \(candidate.seedsTrained) seeds trained.</p>
                <table><thead><tr><th class="num">Seeds per run</th><th class="num">Smallest safe margin</th>\
                <th class="num">Regression caught (\(Format.fixed(calibration.power * 100, 0))%)</th></tr></thead>
                <tbody>\(rows)</tbody></table></section>

                """
            }
        }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(h(calibration.suite)) — evalharness calibration</title>
        <style>body{font:14px/1.5 system-ui,sans-serif;max-width:860px;margin:24px auto;padding:0 16px;color:#1d2733}
        table{border-collapse:collapse;margin:8px 0 20px}th,td{padding:4px 12px;border-bottom:1px solid #dde3ea;text-align:left}
        .num{text-align:right;font-variant-numeric:tabular-nums}h2{font-size:17px;margin-top:28px}</style></head>
        <body><h1>Calibration: \(h(calibration.suite))</h1>
        <p>What the gate can see. For a run with N seeds gated against a baseline with N other seeds of the same \
        configuration: the smallest <code>non_inferior_to: baseline</code> margin that an unchanged candidate fails \
        at most \(Format.fixed(calibration.falseFailRate * 100, 0))% of the time, and the smallest real regression that \
        margin catches \(Format.fixed(calibration.power * 100, 0))% of the time (\(Format.level(calibration.level)) intervals). \
        Method: suites/README.md, “Calibration”.</p>
        \(body)</body></html>

        """
    }

    public static func write(_ calibration: CalibrationResult, to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(calibration), to: directory.appendingPathComponent("calibration.json"))
        try AtomicFile.write(Data(html(calibration).utf8), to: directory.appendingPathComponent("calibration.html"))
    }
}
