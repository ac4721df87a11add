import Kernels
import XCTest

/// Central finite differences in Float64 around a Float32 function: the loss is L = Σ out ⊙ g for a
/// fixed random g, so dL/dout = g, and the analytic gradient from a backward kernel must match
/// (L(x + h) − L(x − h)) / 2h for every input element.
struct GradientCheck {
    var generator = SeededGenerator(seed: 7)

    mutating func random(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in scale * generator.nextNormal() }
    }

    /// Checks `analytic` (dL/dx) against finite differences of `loss` with respect to `x`.
    static func compare(
        _ name: String, x: inout [Float], analytic: [Float], step: Float = 1e-2,
        tolerance: Double = 1e-2, loss: ([Float]) -> Double,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(x.count, analytic.count, "\(name): gradient size", file: file, line: line)
        var worst = 0.0
        for i in x.indices {
            let saved = x[i]
            x[i] = saved + step
            let plus = loss(x)
            x[i] = saved - step
            let minus = loss(x)
            x[i] = saved
            let numeric = (plus - minus) / (2 * Double(step))
            let error = abs(numeric - Double(analytic[i])) / max(1, abs(numeric), abs(Double(analytic[i])))
            worst = max(worst, error)
        }
        XCTAssertLessThan(worst, tolerance, "\(name): max relative error \(worst)", file: file, line: line)
    }
}

func dot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}
