/// An element or byte count computed with overflow checks: once any step overflows, the count is
/// `nil` from then on. Sizes that come from files and flags (hidden size, layers, batch, tokens)
/// pass through this before any buffer is sized, because the release build does not trap on
/// overflow: a wrapped product would size a buffer too small and kernels would write past it.
public struct CheckedCount: Sendable, Equatable, ExpressibleByIntegerLiteral {
    /// The count, or nil when it does not fit in an `Int`.
    public let value: Int?

    public init(_ value: Int) { self.value = value }
    public init(integerLiteral value: Int) { self.value = value }
    private init(overflowed: Void) { value = nil }
    public static let overflow = CheckedCount(overflowed: ())

    public static func * (a: CheckedCount, b: CheckedCount) -> CheckedCount {
        guard let x = a.value, let y = b.value else { return .overflow }
        let (product, overflowed) = x.multipliedReportingOverflow(by: y)
        return overflowed ? .overflow : CheckedCount(product)
    }

    public static func + (a: CheckedCount, b: CheckedCount) -> CheckedCount {
        guard let x = a.value, let y = b.value else { return .overflow }
        let (sum, overflowed) = x.addingReportingOverflow(y)
        return overflowed ? .overflow : CheckedCount(sum)
    }

    public static func * (a: CheckedCount, b: Int) -> CheckedCount { a * CheckedCount(b) }
    public static func * (a: Int, b: CheckedCount) -> CheckedCount { CheckedCount(a) * b }
    public static func + (a: CheckedCount, b: Int) -> CheckedCount { a + CheckedCount(b) }

    /// The product of `factors`, checked.
    public static func product(_ factors: Int...) -> CheckedCount { product(factors) }
    public static func product(_ factors: [Int]) -> CheckedCount {
        factors.reduce(CheckedCount(1)) { $0 * $1 }
    }
}
