/// Spearman's rank correlation, as `scipy.stats.spearmanr(x, y).statistic`.
///
/// Each vector is replaced by its ranks 1…n, tied values all receiving the mean of the ranks
/// they span (scipy's `rankdata(method="average")`); ρ is the Pearson correlation of the two
/// rank vectors: Σ(rx − r̄x)(ry − r̄y) / √(Σ(rx − r̄x)² · Σ(ry − r̄y)²).
public enum SpearmanCorrelation {
    /// ρ in [−1, 1], or nil when it is undefined: fewer than two pairs, or a constant vector
    /// (where scipy returns NaN).
    ///
    /// - Precondition: `x` and `y` have the same length and contain no NaN.
    public static func coefficient(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "x and y must have the same length")
        precondition(!x.contains(where: \.isNaN) && !y.contains(where: \.isNaN), "NaN has no rank")
        guard x.count >= 2 else {
            return nil
        }
        let rankX = averageRanks(x)
        let rankY = averageRanks(y)
        let meanRank = Double(x.count + 1) / 2  // the mean of any average-rank vector
        var covariance = 0.0
        var varianceX = 0.0
        var varianceY = 0.0
        for (rx, ry) in zip(rankX, rankY) {
            covariance += (rx - meanRank) * (ry - meanRank)
            varianceX += (rx - meanRank) * (rx - meanRank)
            varianceY += (ry - meanRank) * (ry - meanRank)
        }
        guard varianceX > 0 && varianceY > 0 else {
            return nil
        }
        return max(-1, min(1, covariance / (varianceX * varianceY).squareRoot()))
    }

    /// Ranks 1…n of `values` in ascending order, ties sharing the mean of their ranks.
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = Array(repeating: 0.0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && values[order[end]] == values[order[start]] {
                end += 1
            }
            // Positions start..<end (0-based) hold ranks start+1 … end; their mean:
            let rank = Double(start + 1 + end) / 2
            for position in start..<end {
                ranks[order[position]] = rank
            }
            start = end
        }
        return ranks
    }
}
