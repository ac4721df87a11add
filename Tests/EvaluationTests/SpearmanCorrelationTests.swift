import Evaluation
import XCTest

final class SpearmanCorrelationTests: XCTestCase {
    func testMatchesScipy() throws {
        for reference in try EvaluationFixtures.load().spearman {
            let rho = try XCTUnwrap(SpearmanCorrelation.coefficient(reference.x, reference.y), reference.name)
            assertClose(rho, reference.rho, reference.name)
        }
    }

    func testAverageRanksForTies() {
        // scipy.stats.rankdata([10, 20, 20, 5, 20]) = [2, 4, 4, 1, 4]
        XCTAssertEqual(SpearmanCorrelation.averageRanks([10, 20, 20, 5, 20]), [2, 4, 4, 1, 4])
        XCTAssertEqual(SpearmanCorrelation.averageRanks([3, 1, 3, 1]), [3.5, 1.5, 3.5, 1.5])
    }

    func testUndefinedCases() {
        XCTAssertNil(SpearmanCorrelation.coefficient([1], [2]))
        XCTAssertNil(SpearmanCorrelation.coefficient([1, 1, 1], [1, 2, 3]))
        XCTAssertEqual(SpearmanCorrelation.coefficient([1, 2, 3], [10, 20, 30]), 1)
    }
}
