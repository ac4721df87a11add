import Foundation
import Kernels
import XCTest

/// The vectorised exp/erf against libm, and GELU against its definition.
final class FastMathTests: XCTestCase {
    func testExpMatchesLibmToTwoUlpsRelative() {
        var worst: Float = 0
        var x: Float = -87
        while x < 87.9 {
            let lanes = FloatVector((0..<16).map { x + Float($0) * 0.0007 })
            let ours = FastMath.exp(lanes)
            for i in 0..<16 {
                let reference = expf(lanes[i])
                worst = max(worst, abs(ours[i] - reference) / reference)
            }
            x += 0.0113
        }
        XCTAssertLessThan(worst, 4e-7, "max relative error \(worst)")
        XCTAssertEqual(FastMath.exp(FloatVector(repeating: -1000))[0], 0)
    }

    func testErfMatchesLibm() {
        var worst: Float = 0
        var x: Float = -6
        while x < 6 {
            let lanes = FloatVector((0..<16).map { x + Float($0) * 0.0003 })
            let ours = FastMath.erf(lanes)
            for i in 0..<16 { worst = max(worst, abs(ours[i] - erff(lanes[i]))) }
            x += 0.0049
        }
        XCTAssertLessThan(worst, 5e-7, "max absolute error \(worst)")
    }

    func testGeluVectorAndScalarPathsAgreeWithDefinition() {
        let n = 37 // 2 vectors + a scalar tail
        let input = (0..<n).map { Float($0 - 18) * 0.37 }
        var out = [Float](repeating: 0, count: n)
        geluForward(out: &out, inp: input, count: n)
        for i in 0..<n {
            let x = Double(input[i])
            let reference = 0.5 * x * (1 + Foundation.erf(x / 2.0.squareRoot()))
            XCTAssertEqual(Double(out[i]), reference, accuracy: 2e-6, "x = \(x)")
        }
    }

    func testSoftmaxVectorAndTailPathsMatchTheDefinition() {
        for n in [1, 5, 16, 37, 64] {
            let input: [Float] = (0..<n).map { (i: Int) -> Float in Float(i % 7) * 1.3 - Float(i % 3) * 2.1 }
            var x = input
            softmaxInPlace(&x, count: n)
            let maxValue = input.map(Double.init).max()!
            let exps = input.map { Foundation.exp(Double($0) - maxValue) }
            let total = exps.reduce(0, +)
            for i in 0..<n { XCTAssertEqual(Double(x[i]), exps[i] / total, accuracy: 1e-6, "n = \(n), i = \(i)") }
        }
        XCTAssertEqual(horizontalSum(FloatVector((0..<16).map(Float.init))), 120)
    }
}
