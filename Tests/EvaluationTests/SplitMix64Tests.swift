import Evaluation
import XCTest

/// SplitMix64 and its bounded draw against the Python reimplementation in the fixture.
final class SplitMix64Tests: XCTestCase {
    func testRawOutputsMatchTheReference() throws {
        let cases = try EvaluationFixtures.load().splitmix64.raw
        XCTAssertEqual(cases.first?.seed, 1234567)
        XCTAssertEqual(cases.first?.outputs.prefix(3), ["6457827717110365317", "3203168211198807973", "9817491932198370423"])
        for reference in cases {
            var generator = SplitMix64(seed: reference.seed)
            XCTAssertEqual(reference.outputs.map { _ in String(generator.next()) }, reference.outputs, "seed \(reference.seed)")
        }
    }

    func testBoundedDrawsMatchTheReference() throws {
        for reference in try EvaluationFixtures.load().splitmix64.bounded {
            let bound = try XCTUnwrap(UInt64(reference.bound))
            var generator = SplitMix64(seed: reference.seed)
            let draws = reference.draws.map { _ in String(generator.next(below: bound)) }
            XCTAssertEqual(draws, reference.draws, "seed \(reference.seed) bound \(bound)")
        }
    }
}
