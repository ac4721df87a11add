@testable import Evaluation
import XCTest

final class ExpectedCalibrationErrorTests: XCTestCase {
    /// Bins of width 1/15. A (conf 0.9, right) and B (conf 0.9, wrong) share bin 13
    /// (0.8667, 0.9333]: |1/2 − 0.9| = 0.4, weight 2/4. C (0.7, right) is alone in bin 10:
    /// |1 − 0.7| = 0.3, weight 1/4. D ([0.5, 0.5]: argmax is class 0, label 1, wrong) is alone in
    /// bin 7 (0.4667, 0.5333]: |0 − 0.5| = 0.5, weight 1/4. ECE = 0.2 + 0.075 + 0.125 = 0.4.
    func testHandComputedExample() {
        let ece = ExpectedCalibrationError.compute(
            labels: [0, 0, 1, 1],
            probabilities: [[0.9, 0.1], [0.1, 0.9], [0.3, 0.7], [0.5, 0.5]])
        XCTAssertEqual(ece, 0.4, accuracy: 1e-15)
    }

    func testPerfectlyCalibratedBinsGiveZero() {
        // Confidence 0.75 in one bin, three of four right.
        let ece = ExpectedCalibrationError.compute(
            labels: [0, 0, 0, 1], probabilities: Array(repeating: [0.75, 0.25], count: 4))
        XCTAssertEqual(ece, 0)
    }

    func testBinsAreOpenBelowAndClosedAbove() {
        XCTAssertEqual(ExpectedCalibrationError.binIndex(of: 0, binCount: 15), 0)
        XCTAssertEqual(ExpectedCalibrationError.binIndex(of: 1.0 / 15, binCount: 15), 0)
        XCTAssertEqual(ExpectedCalibrationError.binIndex(of: (1.0 / 15).nextUp, binCount: 15), 1)
        XCTAssertEqual(ExpectedCalibrationError.binIndex(of: 0.8, binCount: 15), 11)  // 0.8 == 12/15
        XCTAssertEqual(ExpectedCalibrationError.binIndex(of: 0.8.nextUp, binCount: 15), 12)
        XCTAssertEqual(ExpectedCalibrationError.binIndex(of: 1, binCount: 15), 14)
        for b in 1...15 {
            let edge = Double(b) / 15
            XCTAssertEqual(ExpectedCalibrationError.binIndex(of: edge, binCount: 15), b - 1, "edge \(b)")
            XCTAssertEqual(ExpectedCalibrationError.binIndex(of: edge.nextDown, binCount: 15), b - 1, "below edge \(b)")
        }
    }
}
