import Foundation
import XCTest

/// Tests/Fixtures/evaluation/cases.json, made by scripts/fixtures/make_evaluation_fixture.py with
/// scikit-learn, scipy and statsmodels; found from this file's path rather than as a resource.
struct EvaluationFixtures: Decodable {
    static func load() throws -> EvaluationFixtures {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/evaluation/cases.json")
        return try JSONDecoder().decode(EvaluationFixtures.self, from: Data(contentsOf: url))
    }

    struct Averaged: Decodable {
        let precision: Double
        let recall: Double
        let f1: Double
    }

    struct Classification: Decodable {
        let name: String
        let class_count: Int
        let labels: [Int]
        let predicted: [Int]
        let probabilities: [[Double]]
        let accuracy: Double
        let precision: [Double]
        let recall: [Double]
        let f1: [Double]
        let support: [Int]
        let macro: Averaged
        let micro: Averaged
        let weighted: Averaged
        let confusion_matrix: [[Int]]
        let log_loss: Double
        let ece: Double
    }

    struct Spearman: Decodable {
        let name: String
        let x: [Double]
        let y: [Double]
        let rho: Double
    }

    struct McNemarCase: Decodable {
        let b: Int
        let c: Int
        let p_value: Double
    }

    /// 64-bit values are written as decimal strings.
    struct SplitMix: Decodable {
        struct Raw: Decodable {
            let seed: UInt64
            let outputs: [String]
        }

        struct Bounded: Decodable {
            let seed: UInt64
            let bound: String
            let draws: [String]
        }

        let raw: [Raw]
        let bounded: [Bounded]
    }

    let classification: [Classification]
    let spearman: [Spearman]
    let mcnemar: [McNemarCase]
    let splitmix64: SplitMix
}

/// |actual − expected| ≤ relative · max(|actual|, |expected|) (so an expected 0 must be exactly 0).
func assertClose(
    _ actual: Double, _ expected: Double, relative: Double = 1e-9, _ message: @autoclosure () -> String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    let tolerance = relative * max(abs(actual), abs(expected))
    XCTAssert(
        abs(actual - expected) <= tolerance,
        "\(message()): \(actual) vs expected \(expected) (difference \(actual - expected))", file: file, line: line)
}
