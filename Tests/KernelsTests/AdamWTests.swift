import XCTest
@testable import Kernels

final class AdamWTests: XCTestCase {
    /// The 16-lane loop and its scalar tail give what the definition's scalar order of operations
    /// gives, bit for bit, over several steps (a count that leaves a tail in every worker's range).
    func testVectorisedUpdateEqualsTheScalarDefinition() {
        let N = 200_003
        var generator = SeededGenerator(seed: 7)
        var parameters = (0..<N).map { _ in generator.nextUniform() * 2 - 1 }
        var m = [Float](repeating: 0, count: N), v = m
        var expectedParameters = parameters, expectedM = m, expectedV = v
        let lr: Float = 3e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01
        for step in 1...3 {
            let gradients = (0..<N).map { _ in (generator.nextUniform() * 2 - 1) * 1e-2 }
            adamwUpdate(parameters: &parameters, gradients: gradients, firstMoment: &m, secondMoment: &v, count: N,
                        learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, step: step)
            let biasCorrection1 = 1 - Float(pow(Double(beta1), Double(step)))
            let biasCorrection2Sqrt = (1 - Float(pow(Double(beta2), Double(step)))).squareRoot()
            for i in 0..<N {
                let g = gradients[i]
                expectedParameters[i] *= 1 - lr * weightDecay
                expectedM[i] += (g - expectedM[i]) * (1 - beta1)
                expectedV[i] = expectedV[i] * beta2 + (1 - beta2) * g * g
                let denominator = expectedV[i].squareRoot() / biasCorrection2Sqrt + epsilon
                expectedParameters[i] -= lr / biasCorrection1 * (expectedM[i] / denominator)
            }
        }
        XCTAssertEqual(parameters, expectedParameters)
        XCTAssertEqual(m, expectedM)
        XCTAssertEqual(v, expectedV)
    }
}
