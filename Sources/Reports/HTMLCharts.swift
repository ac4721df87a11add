import Foundation

/// Inline SVG charts for the HTML report: no script, no external resource, text escaped.
/// Each chart has a `<title>` and an aria-label; the numbers are also in the report's tables.
enum SVGChart {
    /// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies (yellow left
    /// out: too pale on white). Candidates keep their colour in every chart.
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
    static let trainColor = "#0072B2"
    static let validationColor = "#D55E00"

    // MARK: Scales and ticks

    struct Scale {
        let domain: (Double, Double)
        let range: (Double, Double)

        func callAsFunction(_ value: Double) -> Double {
            let span = domain.1 - domain.0
            guard span != 0 else { return (range.0 + range.1) / 2 }
            return range.0 + (value - domain.0) / span * (range.1 - range.0)
        }
    }

    /// About `count` round tick values (steps of 1, 2 or 5 × 10^k) covering [low, high].
    static func ticks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
        guard low.isFinite, high.isFinite, high > low else { return [low] }
        let step = niceStep((high - low) / Double(max(count, 1)))
        let first = (low / step).rounded(.up)
        let last = (high / step).rounded(.down)
        guard last >= first else { return [low, high] }
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    static func niceStep(_ rough: Double) -> Double {
        let exponent = (log10(rough)).rounded(.down)
        let base = pow(10, exponent)
        let fraction = rough / base
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * base
    }

    /// The smallest round number ≥ value (for an axis that starts at 0).
    static func niceCeiling(_ value: Double) -> Double {
        guard value.isFinite, value > 0 else { return 1 }
        let step = niceStep(value / 5)
        return (value / step).rounded(.up) * step
    }

    /// Tick label: as few decimals as the step needs.
    static func tickLabel(_ value: Double, step: Double, signed: Bool = false) -> String {
        let decimals = max(0, min(4, Int((-log10(step)).rounded(.up))))
        return signed ? Format.signed(value, decimals) : Format.fixed(value, decimals)
    }

    /// A coordinate with one decimal, enough for a screen and short in the file.
    static func c(_ value: Double) -> String {
        Format.fixed(value.isFinite ? value : 0, 1)
    }

    static func open(width: Int, height: Int, label: String) -> String {
        "<svg class=\"chart\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" "
            + "role=\"img\" aria-label=\"\(Format.html(label))\" preserveAspectRatio=\"xMinYMin meet\">"
            + "<title>\(Format.html(label))</title>"
    }

    static func text(_ content: String, x: Double, y: Double, anchor: String = "start", className: String? = nil,
                     extra: String = "") -> String {
        let classAttribute = className.map { " class=\"\($0)\"" } ?? ""
        return "<text x=\"\(c(x))\" y=\"\(c(y))\" text-anchor=\"\(anchor)\"\(classAttribute)\(extra)>\(Format.html(content))</text>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, className: String) -> String {
        "<line x1=\"\(c(x1))\" y1=\"\(c(y1))\" x2=\"\(c(x2))\" y2=\"\(c(y2))\" class=\"\(className)\"/>"
    }

    /// Shortens a label to `limit` characters with an ellipsis (the full text goes in a tooltip).
    static func shortened(_ label: String, limit: Int) -> String {
        label.count <= limit ? label : String(label.prefix(limit - 1)) + "…"
    }

    // MARK: Loss curves

    /// Training (solid, circles) and validation (dashed, squares) loss per epoch, with the kept
    /// epoch marked. `yMax` is shared by all candidates so the panels compare.
    static func lossCurves(history: [(train: Double, validation: Double)], keptEpoch: Int?, yMax: Double,
                           label: String) -> String {
        let width = 380.0, height = 230.0
        let left = 48.0, right = 14.0, top = 30.0, bottom = 38.0
        let epochs = history.count
        let x = Scale(domain: (1, Double(max(epochs, 1))), range: (left, width - right))
        let y = Scale(domain: (0, yMax), range: (height - bottom, top))
        var svg = open(width: Int(width), height: Int(height), label: label)

        let yTicks = ticks(0, yMax, count: 4)
        let yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : yMax
        for tick in yTicks {
            svg += line(left, y(tick), width - right, y(tick), className: "grid")
            svg += text(tickLabel(tick, step: yStep), x: left - 6, y: y(tick) + 4, anchor: "end", className: "tick")
        }
        let xStep = max(1, Int((Double(epochs) / 8).rounded(.up)))
        for epoch in stride(from: 1, through: max(epochs, 1), by: xStep) {
            svg += line(x(Double(epoch)), height - bottom, x(Double(epoch)), height - bottom + 4, className: "axis")
            svg += text(String(epoch), x: x(Double(epoch)), y: height - bottom + 16, anchor: "middle", className: "tick")
        }
        svg += line(left, height - bottom, width - right, height - bottom, className: "axis")
        svg += line(left, top, left, height - bottom, className: "axis")
        svg += text("epoch", x: (left + width - right) / 2, y: height - 6, anchor: "middle", className: "axis-label")
        svg += text("loss", x: 12, y: (top + height - bottom) / 2, anchor: "middle", className: "axis-label",
                    extra: " transform=\"rotate(-90 12 \(c((top + height - bottom) / 2)))\"")

        if let keptEpoch, keptEpoch >= 0, keptEpoch < epochs {
            let keptX = x(Double(keptEpoch + 1))
            svg += line(keptX, top, keptX, height - bottom, className: "marker")
            let nearRightEdge = keptX > width - right - 30
            svg += text("kept", x: nearRightEdge ? keptX - 4 : keptX + 4, y: top + 10,
                        anchor: nearRightEdge ? "end" : "start", className: "note")
        }

        func series(_ values: [Double], color: String, dashed: Bool, square: Bool) -> String {
            let points = values.enumerated().map { (x(Double($0.offset + 1)), y(min($0.element, yMax))) }
            var out = ""
            if points.count > 1 {
                let path = points.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\""
                    + (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>"
            }
            for point in points {
                out += square
                    ? "<rect x=\"\(c(point.0 - 3.5))\" y=\"\(c(point.1 - 3.5))\" width=\"7\" height=\"7\" fill=\"\(color)\"/>"
                    : "<circle cx=\"\(c(point.0))\" cy=\"\(c(point.1))\" r=\"3.5\" fill=\"\(color)\"/>"
            }
            return out
        }
        svg += series(history.map(\.train), color: trainColor, dashed: false, square: false)
        svg += series(history.map(\.validation), color: validationColor, dashed: true, square: true)

        // Legend: line style and marker, not colour alone.
        svg += "<g class=\"legend\">"
        svg += "<line x1=\"\(c(left))\" y1=\"12\" x2=\"\(c(left + 22))\" y2=\"12\" stroke=\"\(trainColor)\" stroke-width=\"2\"/>"
        svg += "<circle cx=\"\(c(left + 11))\" cy=\"12\" r=\"3.5\" fill=\"\(trainColor)\"/>"
        svg += text("train", x: left + 28, y: 16)
        svg += "<line x1=\"\(c(left + 80))\" y1=\"12\" x2=\"\(c(left + 102))\" y2=\"12\" stroke=\"\(validationColor)\" "
            + "stroke-width=\"2\" stroke-dasharray=\"6 4\"/>"
        svg += "<rect x=\"\(c(left + 87.5))\" y=\"8.5\" width=\"7\" height=\"7\" fill=\"\(validationColor)\"/>"
        svg += text("validation", x: left + 108, y: 16)
        svg += "</g></svg>"
        return svg
    }

    // MARK: Metric bars

    struct Bar {
        let label: String
        let color: String
        let value: Double
        let low: Double
        let high: Double
    }

    /// Horizontal bars from 0 with confidence-interval whiskers, one row per candidate; dashed
    /// lines at the gate's thresholds.
    static func metricBars(title: String, bars: [Bar], domainMax: Double, thresholds: [(value: Double, label: String)],
                           digits: Int = 3) -> String {
        let width = 560.0, rowHeight = 30.0
        // Room for a second row of threshold labels when two thresholds are close.
        let labelWidth = 150.0, right = 70.0, top = thresholds.count > 1 ? 38.0 : 26.0, bottom = 30.0
        let height = top + rowHeight * Double(max(bars.count, 1)) + bottom
        let x = Scale(domain: (0, domainMax), range: (labelWidth, width - right))
        var svg = open(width: Int(width), height: Int(height), label: title)

        let xTicks = ticks(0, domainMax, count: 5)
        let step = xTicks.count > 1 ? xTicks[1] - xTicks[0] : domainMax
        for tick in xTicks {
            svg += line(x(tick), top - 4, x(tick), height - bottom, className: "grid")
            svg += text(tickLabel(tick, step: step), x: x(tick), y: height - bottom + 16, anchor: "middle", className: "tick")
        }
        svg += line(labelWidth, height - bottom, width - right, height - bottom, className: "axis")

        for (row, bar) in bars.enumerated() {
            let center = top + rowHeight * (Double(row) + 0.5)
            svg += "<g><title>\(Format.html("\(bar.label): \(Format.fixed(bar.value, digits)) (CI \(Format.fixed(bar.low, digits))–\(Format.fixed(bar.high, digits)))"))</title>"
            svg += text(shortened(bar.label, limit: 20), x: labelWidth - 8, y: center + 4, anchor: "end", className: "row-label")
            let end = x(min(max(bar.value, 0), domainMax))
            svg += "<rect x=\"\(c(labelWidth))\" y=\"\(c(center - 8))\" width=\"\(c(max(end - labelWidth, 0)))\" height=\"16\" "
                + "fill=\"\(bar.color)\" fill-opacity=\"0.8\" rx=\"2\"/>"
            let low = x(min(max(bar.low, 0), domainMax)), high = x(min(max(bar.high, 0), domainMax))
            svg += line(low, center, high, center, className: "whisker")
            svg += line(low, center - 6, low, center + 6, className: "whisker")
            svg += line(high, center - 6, high, center + 6, className: "whisker")
            // Values in a column at the right, clear of whiskers and threshold lines.
            svg += text(Format.fixed(bar.value, digits), x: width - 6, y: center + 4, anchor: "end", className: "value")
            svg += "</g>"
        }
        // Labels of thresholds closer than a label's width alternate between two rows.
        var previous: (position: Double, row: Int)? = nil
        for threshold in thresholds.sorted(by: { $0.value < $1.value }) where threshold.value >= 0 && threshold.value <= domainMax {
            let position = x(threshold.value)
            let row = previous.map { position - $0.position < 64 ? 1 - $0.row : 0 } ?? 0
            previous = (position, row)
            svg += line(position, top - 6, position, height - bottom, className: "threshold")
            svg += text(threshold.label, x: position, y: top - 10 - Double(row) * 12, anchor: "middle", className: "note")
        }
        svg += "</svg>"
        return svg
    }

    // MARK: Learning versus forgetting

    struct Point {
        let label: String
        let color: String
        let x: Double
        let y: Double
    }

    /// One labelled point per candidate: accuracy gain (x) against forgetting (y). Better is
    /// lower right.
    static func scatter(points: [Point], xLabel: String, yLabel: String, signedX: Bool, title: String) -> String {
        let width = 660.0, height = 380.0
        let left = 70.0, right = 30.0, top = 20.0, bottom = 56.0
        func padded(_ values: [Double]) -> (Double, Double) {
            var low = min(values.min() ?? 0, 0), high = max(values.max() ?? 0, 0)
            if high - low < 1e-9 { high += 0.01; low -= 0.01 }
            let pad = (high - low) * 0.15
            return (low - pad, high + pad)
        }
        let xDomain = padded(points.map(\.x)), yDomain = padded(points.map(\.y))
        let x = Scale(domain: xDomain, range: (left, width - right))
        let y = Scale(domain: yDomain, range: (height - bottom, top))
        var svg = open(width: Int(width), height: Int(height), label: title)

        let xTicks = ticks(xDomain.0, xDomain.1, count: 6), yTicks = ticks(yDomain.0, yDomain.1, count: 5)
        let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1, yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
        for tick in xTicks {
            svg += line(x(tick), top, x(tick), height - bottom, className: "grid")
            svg += text(tickLabel(tick, step: xStep, signed: signedX), x: x(tick), y: height - bottom + 16,
                        anchor: "middle", className: "tick")
        }
        for tick in yTicks {
            svg += line(left, y(tick), width - right, y(tick), className: "grid")
            svg += text(tickLabel(tick, step: yStep), x: left - 6, y: y(tick) + 4, anchor: "end", className: "tick")
        }
        svg += "<rect x=\"\(c(left))\" y=\"\(c(top))\" width=\"\(c(width - left - right))\" height=\"\(c(height - top - bottom))\" class=\"frame\"/>"
        if xDomain.0 < 0 && xDomain.1 > 0 { svg += line(x(0), top, x(0), height - bottom, className: "zero") }
        if yDomain.0 < 0 && yDomain.1 > 0 { svg += line(left, y(0), width - right, y(0), className: "zero") }
        svg += text(xLabel, x: (left + width - right) / 2, y: height - 14, anchor: "middle", className: "axis-label")
        let middle = (top + height - bottom) / 2
        svg += text(yLabel, x: 16, y: middle, anchor: "middle", className: "axis-label",
                    extra: " transform=\"rotate(-90 16 \(c(middle)))\"")
        svg += text("better ↘ (more gain, less forgetting)", x: width - right - 8, y: height - bottom - 8,
                    anchor: "end", className: "note")

        // Labels: try right, left, above, below; keep the first spot that overlaps nothing placed.
        var placed: [(x0: Double, y0: Double, x1: Double, y1: Double)] = []
        for point in points {
            let px = x(point.x), py = y(point.y)
            placed.append((px - 8, py - 8, px + 8, py + 8))
        }
        var labels = ""
        for point in points {
            let px = x(point.x), py = y(point.y)
            let name = shortened(point.label, limit: 28)
            let textWidth = Double(name.count) * 6.8
            let options: [(Double, Double, String)] = [
                (px + 11, py + 4, "start"), (px - 11, py + 4, "end"),
                (px, py - 13, "middle"), (px, py + 21, "middle"),
                (px + 11, py + 18, "start"), (px + 11, py - 10, "start"),
            ]
            var chosen = options[0]
            for option in options {
                let x0 = option.2 == "start" ? option.0 : option.2 == "end" ? option.0 - textWidth : option.0 - textWidth / 2
                let box = (x0: x0, y0: option.1 - 11, x1: x0 + textWidth, y1: option.1 + 3)
                let inside = box.x0 >= left && box.x1 <= width - right && box.y0 >= top && box.y1 <= height - bottom
                let free = !placed.contains { $0.x0 < box.x1 && box.x0 < $0.x1 && $0.y0 < box.y1 && box.y0 < $0.y1 }
                if inside && free {
                    chosen = option
                    placed.append(box)
                    break
                }
            }
            labels += text(name, x: chosen.0, y: chosen.1, anchor: chosen.2, className: "point-label")
        }
        for point in points {
            svg += "<g><title>\(Format.html("\(point.label): gain \(Format.signed(point.x)), forgetting \(Format.fixed(point.y))"))</title>"
            svg += "<circle cx=\"\(c(x(point.x)))\" cy=\"\(c(y(point.y)))\" r=\"7\" fill=\"\(point.color)\" stroke=\"#fff\" stroke-width=\"2\"/></g>"
        }
        svg += labels + "</svg>"
        return svg
    }
}
