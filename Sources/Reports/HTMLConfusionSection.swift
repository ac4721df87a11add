import Evaluation

/// The report's confusion matrices: a table of counts and row percentages up to
/// `confusionTableClassLimit` classes, a heat-map with a legend past it, sized to fit a grid card,
/// a full row, or the printed page.
extension HTMLReportPage {
    // MARK: Confusion matrices

    /// Up to this many classes a confusion matrix is a table of counts and row percentages; past
    /// it, a heat map coloured by row share (counts in tooltips, and in the cells where they fit).
    private static let confusionTableClassLimit = 8

    /// Room for a figure in a grid card and in a full grid row, on a 1280-px screen and on an
    /// A4/Letter page at the print style's sizes (CSS px, inside the figure's padding).
    private static let confusionRoom = (card: 360.0, row: 1150.0, printRow: 660.0)

    func confusionSection() -> String {
        var figures = ""
        for candidate in result.candidates where candidate.status == .ok {
            guard let report = candidate.report else { continue }
            let matrix = report.confusionMatrix
            let heading = "<h3>\(swatch(candidate))\(h(candidate.name))</h3>"
            // With several seeds the matrix pools every seed's predictions: say so, with one seed's count.
            let seeds = max(candidate.completedSeedRuns.count, 1)
            let facts = seeds == 1
                ? "\(Format.grouped(report.exampleCount)) test examples, accuracy \(Format.fixed(report.accuracy))."
                : "\(Format.grouped(report.exampleCount / seeds)) test examples × \(seeds) seeds, pooled; accuracy \(Format.fixed(report.accuracy))."
            if matrix.count <= Self.confusionTableClassLimit {
                figures += "<figure class=\"\(confusionTableFigureClasses(classCount: matrix.count))\">\(heading)"
                    + "<div class=\"confusion-wrap\">\(confusionTable(matrix))</div>"
                    + "<figcaption>\(facts) Percentages are of each true class (row); blue cells are correct, "
                    + "orange cells confusions.</figcaption></figure>\n"
            } else {
                figures += "<figure class=\"matrix heat full-row\">\(heading)\(confusionLegend())"
                    + confusionHeatMap(matrix)
                    + "<figcaption>\(facts) Rows are the true classes, columns the predicted ones, numbered as the rows. "
                    + "Each cell is coloured by its share of the true class: blue on the diagonal (correct), orange off it "
                    + "(confusions), grey for none. Point at a cell for its count.</figcaption></figure>\n"
            }
        }
        guard !figures.isEmpty else {
            return section("confusion", "Confusion matrices", "<p class=\"note\">No candidate produced predictions.</p>")
        }
        return section("confusion", "Confusion matrices", "<div class=\"grid\">\n\(figures)</div>")
    }

    /// A cell's fill: blue on the diagonal, orange off it, more opaque the larger its share of the
    /// true class (0.1 for the smallest non-zero share up to 0.9 for all of it; none for no example).
    private func confusionFill(row: Int, column: Int, count: Int, share: Double) -> (alpha: Double, rgb: String) {
        (count == 0 ? 0 : 0.1 + 0.8 * min(max(share, 0), 1), row == column ? "0,114,178" : "213,94,0")
    }

    /// The classes of a small matrix's figure: a full grid row when the table is wider than a grid
    /// card, and column headings written vertically where horizontal ones would not fit the row
    /// (on screen, or only on the printed page). Widths are estimated from the labels' lengths;
    /// labels wrap only between words (never inside one), so the longest word is what must fit.
    private func confusionTableFigureClasses(classCount: Int) -> String {
        let labels = (0..<classCount).map(labelName)
        // Row headings wrap between words past ~22 characters' width, column headings past ~14.
        let rowHeading = labels.map { max(confusionLongestWord($0), min(confusionTextWidth($0), 22)) }.max() ?? 0
        let columnHeadings = labels.map { max(confusionLongestWord($0), min(confusionTextWidth($0), 14)) }
        func width(chPixels: Double, cell: Double, padding: Double) -> Double {
            max(rowHeading, 8) * chPixels + padding
                + columnHeadings.reduce(0) { $0 + max(cell, $1 * chPixels + padding) }
        }
        // Bold headings: 12 px on screen (cells ≥ 64 px), 8.5–9 px printed (cells ≥ 48 px).
        let screen = width(chPixels: 8.4, cell: 64, padding: 18)
        let printed = width(chPixels: 6.2, cell: 48, padding: 10)
        var classes = ["matrix"]
        if screen > Self.confusionRoom.card { classes.append("full-row") }
        if screen > Self.confusionRoom.row {
            classes.append("vertical-heads")
        } else if printed > Self.confusionRoom.printRow {
            classes.append("vertical-heads-print")
        }
        return classes.joined(separator: " ")
    }

    /// Up to `confusionTableClassLimit` classes: counts and row percentages in every cell.
    private func confusionTable(_ matrix: [[Int]]) -> String {
        var table = "<table class=\"confusion\"><thead><tr><th class=\"axis\">true ↓ · predicted →</th>"
        for column in matrix.indices {
            table += "<th scope=\"col\">\(h(labelName(column)))</th>"
        }
        table += "</tr></thead><tbody>"
        for (row, counts) in matrix.enumerated() {
            let total = counts.reduce(0, +)
            table += "<tr><th scope=\"row\">\(h(labelName(row)))</th>"
            for (column, count) in counts.enumerated() {
                let share = total > 0 ? Double(count) / Double(total) : 0
                let fill = confusionFill(row: row, column: column, count: count, share: share)
                let ink = fill.alpha > 0.5 ? "#fff" : "#1f2430"
                let mark = row == column ? "correct" : "confused"
                table += "<td style=\"background:rgba(\(fill.rgb),\(Format.fixed(fill.alpha, 2)));color:\(ink)\" "
                    + "title=\"\(mark): \(h(labelName(row))) → \(h(labelName(column)))\">"
                    + "<span class=\"count\">\(Format.grouped(count))</span>"
                    + "<span class=\"share\">\(Format.fixed(100 * share, 1))%</span></td>"
            }
            table += "</tr>"
        }
        return table + "</tbody></table>"
    }

    /// Past `confusionTableClassLimit` classes: a heat map that fills the width of a grid row
    /// (fixed layout, so it can never be wider than its card). Rows name the true classes in full
    /// and number them; columns carry the numbers only (the full label is each heading's tooltip).
    /// Counts are in every cell's tooltip, and written in the cells only when they fit: a class on
    /// the table for the screen (`counts`) and one for print (`print-counts`).
    private func confusionHeatMap(_ matrix: [[Int]]) -> String {
        let classCount = matrix.count
        let labels = (0..<classCount).map(labelName)
        let longestWord = labels.map(confusionLongestWord).max() ?? 1
        let longestLabel = labels.map { confusionTextWidth($0) }.max() ?? 1
        // The label column, in ch of the table's font: the longest label up to 26 ch (longer ones
        // wrap between words), at least the longest word, at most 40 ch (a longer word is cut
        // with an ellipsis; the row's tooltip has it whole).
        let labelWidth = min(max(longestWord, min(longestLabel, 26), 6), 40) * 1.05 + 1.5
        let indexWidth = Double(String(classCount).count) + 1.4
        let maxCell = 46.0
        // Estimated cell width on a 1280-px screen (12-px table font, ch ≈ 6.7 px) and on a printed
        // page (8-px table font, ch ≈ 4.45 px).
        let screenCell = min(maxCell, (Self.confusionRoom.row - (labelWidth + indexWidth) * 7.6) / Double(classCount))
        let printCell = (Self.confusionRoom.printRow - (labelWidth + indexWidth) * 5.1) / Double(classCount)
        let digits = String(matrix.flatMap { $0 }.max() ?? 0).count
        var classes = ["heatmap"]
        if Double(digits) * 6.2 + 4 <= screenCell { classes.append("counts") }
        if Double(digits) * 4.1 + 2 <= printCell { classes.append("print-counts") }

        var table = "<div class=\"confusion-wrap heatmap-wrap\" style=\"max-width:calc(\(Format.fixed(labelWidth + indexWidth, 1))ch + "
            + "\(classCount * Int(maxCell))px)\"><table class=\"\(classes.joined(separator: " "))\">"
            + "<colgroup><col style=\"width:\(Format.fixed(labelWidth, 1))ch\"><col style=\"width:\(Format.fixed(indexWidth, 1))ch\">"
            + "<col span=\"\(classCount)\"></colgroup>"
            + "<thead><tr><th class=\"axis\" colspan=\"2\" scope=\"col\">true ↓ · predicted →</th>"
        for column in 0..<classCount {
            table += "<th scope=\"col\" title=\"predicted \(column + 1): \(h(labels[column]))\">\(column + 1)</th>"
        }
        table += "</tr></thead><tbody>"
        for (row, counts) in matrix.enumerated() {
            let total = counts.reduce(0, +)
            table += "<tr><th scope=\"row\" class=\"label\" title=\"\(h(labels[row]))\">\(h(labels[row]))</th>"
                + "<th scope=\"row\" class=\"index\">\(row + 1)</th>"
            for (column, count) in counts.enumerated() {
                let share = total > 0 ? Double(count) / Double(total) : 0
                let fill = confusionFill(row: row, column: column, count: count, share: share)
                var cell = row == column ? "diag" : "off"
                if fill.alpha > 0.55 { cell += " dark" }
                let tip = "\(h(labels[row])) → \(h(labels[column])): \(Format.grouped(count)) of \(Format.grouped(total))"
                    + (total > 0 ? " (\(Format.fixed(100 * share, 1)) %)" : "")
                if count == 0 {
                    table += "<td class=\"\(cell) none\" title=\"\(tip)\"></td>"
                } else {
                    table += "<td class=\"\(cell)\" style=\"background:rgba(\(fill.rgb),\(Format.fixed(fill.alpha, 2)))\" "
                        + "title=\"\(tip)\">\(Format.grouped(count))</td>"
                }
            }
            table += "</tr>"
        }
        return table + "</tbody></table></div>"
    }

    /// The heat map's key: both colour ramps against the share of the true class, and the grey
    /// of an empty cell.
    private func confusionLegend() -> String {
        func ramp(_ kind: String, _ name: String) -> String {
            "<span class=\"key\"><span class=\"name\">\(name)</span><span class=\"scale\"><span class=\"ramp \(kind)\"></span>"
                + "<span class=\"ticks\"><span>0 %</span><span>50 %</span><span>100 %</span></span></span></span>"
        }
        return "<div class=\"heat-legend\" role=\"note\">"
            + ramp("correct", "correct (diagonal)") + ramp("confused", "confused (off the diagonal)")
            + "<span class=\"key\"><span class=\"swatch-none\"></span><span class=\"name\">none</span></span>"
            + "<span class=\"of\">share of the true class (row)</span></div>"
    }

    /// A generous estimate of `text`'s width in `ch` (the width of "0" in its font): narrow
    /// letters and punctuation count less, capitals and wide letters more, other scripts 1.6.
    private func confusionTextWidth<Text: StringProtocol>(_ text: Text) -> Double {
        text.reduce(0) { width, character in
            if "iljtfr.,:;'!|()[]{} ".contains(character) { return width + 0.6 }
            if "mwMW@%".contains(character) { return width + 1.5 }
            if character.isUppercase { return width + 1.25 }
            return width + (character.isASCII ? 1.0 : 1.6)
        }
    }

    /// The estimated width of a label's longest word: labels wrap only between words.
    private func confusionLongestWord(_ label: String) -> Double {
        label.split(whereSeparator: \.isWhitespace).map { confusionTextWidth($0) }.max() ?? 0
    }

    private func labelName(_ index: Int) -> String {
        result.labels.indices.contains(index) ? result.labels[index] : "class \(index)"
    }
}
