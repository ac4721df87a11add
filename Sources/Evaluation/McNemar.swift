import Foundation

/// McNemar's exact test of two classifiers on the same examples.
///
/// Of the examples where exactly one classifier is right, b are those only the candidate gets
/// right and c those only the baseline gets right. Under the null hypothesis (equal accuracy)
/// b ~ Binomial(b + c, ½), and the two-sided exact p-value is
///
///     p = min(1, 2 · Σ_{i=0}^{min(b,c)} C(b+c, i) · 0.5^(b+c)),   p = 1 when b + c = 0,
///
/// as statsmodels' `mcnemar(table, exact=True)` and scipy's `binomtest(b, b+c, 0.5)` give.
public enum McNemar {
    /// The exact two-sided p-value for discordant counts b and c (each ≥ 0).
    ///
    /// Computed as `2 · t_k · Σ_{i≤k} t_i/t_k` with k = min(b, c) and t_i = C(n, i)·2⁻ⁿ: the largest
    /// term t_k is formed in log space (`lgamma`), the ratios by the recurrence
    /// t_{i−1}/t_i = i / (n − i + 1), so n of many thousands neither overflows nor underflows
    /// before the final `exp`.
    public static func exactPValue(b: Int, c: Int) -> Double {
        precondition(b >= 0 && c >= 0, "counts must be non-negative")
        let n = b + c
        let k = min(b, c)
        guard 2 * k < n else {
            return 1  // b == c: the tail holds at least half the mass.
        }
        let logHalf: Double = -log(2.0)
        let logLargestTerm: Double = logBinomialCoefficient(n, k) + Double(n) * logHalf
        var ratio = 1.0
        var sum = 1.0
        var i = k
        while i > 0 && ratio >= sum * 1e-17 {
            ratio *= Double(i) / Double(n - i + 1)
            sum += ratio
            i -= 1
        }
        return min(1, exp(logLargestTerm + log(sum) - logHalf))
    }

    /// ln C(n, k) = ln n! − ln k! − ln (n−k)!, by `lgamma`.
    private static func logBinomialCoefficient(_ n: Int, _ k: Int) -> Double {
        let logN: Double = lgamma(Double(n + 1))
        let logK: Double = lgamma(Double(k + 1))
        let logRest: Double = lgamma(Double(n - k + 1))
        return logN - logK - logRest
    }

    /// The test from per-example correctness of the candidate and the baseline (same examples,
    /// same order).
    public static func test(candidateCorrect: [Bool], baselineCorrect: [Bool]) -> McNemarResult {
        precondition(
            !candidateCorrect.isEmpty && candidateCorrect.count == baselineCorrect.count,
            "both classifiers need the same non-empty list of examples")
        var candidateOnly = 0
        var baselineOnly = 0
        for (candidate, baseline) in zip(candidateCorrect, baselineCorrect) where candidate != baseline {
            if candidate {
                candidateOnly += 1
            } else {
                baselineOnly += 1
            }
        }
        return McNemarResult(
            exampleCount: candidateCorrect.count,
            candidateOnlyCorrect: candidateOnly,
            baselineOnlyCorrect: baselineOnly,
            accuracyDifference: Double(candidateOnly - baselineOnly) / Double(candidateCorrect.count),
            pValue: exactPValue(b: candidateOnly, c: baselineOnly))
    }
}

/// The outcome of `McNemar.test`.
public struct McNemarResult: Codable, Equatable, Sendable {
    /// Number of paired examples n.
    public let exampleCount: Int
    /// b: examples the candidate gets right and the baseline wrong.
    public let candidateOnlyCorrect: Int
    /// c: examples the baseline gets right and the candidate wrong.
    public let baselineOnlyCorrect: Int
    /// Candidate accuracy − baseline accuracy = (b − c) / n.
    public let accuracyDifference: Double
    /// The exact two-sided p-value, see `McNemar`.
    public let pValue: Double

    enum CodingKeys: String, CodingKey {
        case exampleCount = "example_count"
        case candidateOnlyCorrect = "b"
        case baselineOnlyCorrect = "c"
        case accuracyDifference = "accuracy_difference"
        case pValue = "p_value"
    }
}
