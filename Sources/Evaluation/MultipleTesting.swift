/// Family-wise error control over a run's checks (suite key `comparison.multiple_testing`).
///
/// A check decided on an interval is a one-sided test: non-inferiority rejects "the candidate is
/// worse by more than the margin", `min … bound: ci_low` rejects "the metric is below the minimum"
/// (and `max … bound: ci_high` the mirror). Passing means rejecting. With many such checks, one of
/// them passes by luck more often than the per-check level says; Holm's (1979) step-down procedure
/// keeps the chance that *any* check passes wrongly at the per-check level α = (1 − confidence)/2:
/// sort the m checks' one-sided p-values p₍₁₎ ≤ … ≤ p₍ₘ₎, pass check (k) while p₍ₖ₎ ≤ α/(m − k + 1),
/// and fail it and every later one at the first k where that does not hold.
///
/// The price is power: each check is decided at a smaller level, so a candidate that is truly
/// non-inferior fails more often (more false fails). Checks on point values (plain `min`/`max`)
/// are not tests and are left alone; so are skipped and errored checks.
public enum MultipleTesting: String, Sendable, Equatable, CaseIterable, Codable {
    case none, holm

    /// Re-decides the checks that carry a p-value with Holm's procedure at one-sided level `level`;
    /// each gets its adjusted level, and the message says it.
    public static func applyHolm(to results: inout [CheckResult], level: Double) {
        let family = results.indices.filter {
            results[$0].pValue != nil && (results[$0].status == .passed || results[$0].status == .failed)
        }
        let m = family.count
        guard m > 0 else { return }
        // Stable order by p-value: ties keep suite order, so the decisions are reproducible.
        let order = family.enumerated().sorted { a, b in
            let pa = results[a.element].pValue!, pb = results[b.element].pValue!
            return pa != pb ? pa < pb : a.offset < b.offset
        }.map(\.element)
        var stillRejecting = true
        for (rank, index) in order.enumerated() {
            let adjusted = level / Double(m - rank)
            let p = results[index].pValue!
            stillRejecting = stillRejecting && p <= adjusted
            let wasPassed = results[index].passed
            results[index].adjustedLevel = adjusted
            results[index].passed = stillRejecting
            results[index].status = stillRejecting ? .passed : .failed
            var note = "Holm-adjusted one-sided level \(Gate.formatMeasured4(adjusted)) (rank \(rank + 1) of \(m), p \(Gate.formatMeasured4(p)))"
            if wasPassed && !stillRejecting { note += ": passes unadjusted, fails after the correction" }
            results[index].message = (results[index].message ?? "") + "; " + note
        }
    }
}
