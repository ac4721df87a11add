import Evaluation
import Foundation
import XCTest

final class OverfittingAnalysisTests: XCTestCase {
    private func history(train: [Double], validation: [Double]) -> [EpochRecord] {
        zip(train, validation).map { trainLoss, validationLoss in
            EpochRecord(trainLoss: trainLoss, validationLoss: validationLoss,
                        trainAccuracy: 1 - trainLoss / 2, validationAccuracy: 1 - validationLoss / 2)
        }
    }

    func testPersistentDivergence() throws {
        let run = history(train: [1.0, 0.7, 0.5, 0.35, 0.25], validation: [0.9, 0.75, 0.7, 0.78, 0.85])
        let report = OverfittingAnalysis.analyze(history: run)
        XCTAssertEqual(report.divergence?.epoch, 3)
        XCTAssertEqual(report.divergence?.persisted, true)
        XCTAssertEqual(report.epochCount, 5)
        XCTAssertEqual(report.bestValidationLossEpoch, 2)
        XCTAssertEqual(report.gapAtBestEpoch.epoch, 2)
        XCTAssertEqual(report.gapAtBestEpoch.lossGap, 0.2, accuracy: 1e-12)
        XCTAssertEqual(report.finalGap.epoch, 4)
        XCTAssertEqual(report.finalGap.lossGap, 0.6, accuracy: 1e-12)
        XCTAssertEqual(report.finalGap.accuracyGap, 0.3, accuracy: 1e-12)
    }

    func testTransientRiseDoesNotPersist() {
        // Rises at epoch 2 (0.8 → 0.85) while training improves, then falls below 0.8 again.
        let run = history(train: [1.0, 0.8, 0.6, 0.5, 0.4], validation: [0.9, 0.8, 0.85, 0.7, 0.65])
        let onset = OverfittingAnalysis.divergenceOnset(history: run)
        XCTAssertEqual(onset?.epoch, 2)
        XCTAssertEqual(onset?.persisted, false)
        XCTAssertEqual(OverfittingAnalysis.analyze(history: run).bestValidationLossEpoch, 4)
    }

    func testRiseAtTheLastEpochCountsAsPersisting() {
        let run = history(train: [1.0, 0.8, 0.6], validation: [0.9, 0.8, 0.81])
        let onset = OverfittingAnalysis.divergenceOnset(history: run)
        XCTAssertEqual(onset?.epoch, 2)
        XCTAssertEqual(onset?.persisted, true)
    }

    func testNoDivergence() {
        // Validation loss only falls.
        XCTAssertNil(OverfittingAnalysis.divergenceOnset(history: history(train: [1, 0.8, 0.6], validation: [1, 0.9, 0.85])))
        // Both losses rise together: not the overfitting pattern.
        XCTAssertNil(OverfittingAnalysis.divergenceOnset(history: history(train: [1, 1.1], validation: [0.9, 1.0])))
        // Equal validation loss is not a rise.
        XCTAssertNil(OverfittingAnalysis.divergenceOnset(history: history(train: [1, 0.9], validation: [0.9, 0.9])))
        let single = OverfittingAnalysis.analyze(history: history(train: [1], validation: [1.2]))
        XCTAssertNil(single.divergence)
        XCTAssertEqual(single.finalGap, single.gapAtBestEpoch)
    }

    func testGapAtAnEpoch() {
        let run = [EpochRecord(trainLoss: 0.3, validationLoss: 0.5, trainAccuracy: 0.95, validationAccuracy: 0.85)]
        let gap = OverfittingAnalysis.generalizationGap(history: run, epoch: 0)
        XCTAssertEqual(gap.lossGap, 0.2, accuracy: 1e-15)
        XCTAssertEqual(gap.accuracyGap, 0.1, accuracy: 1e-15)
    }

    func testHistoryDecodesFromSnakeCase() throws {
        let json = #"[{"train_loss": 0.5, "val_loss": 0.6, "train_accuracy": 0.8, "val_accuracy": 0.75}]"#
        let decoded = try JSONDecoder().decode([EpochRecord].self, from: Data(json.utf8))
        XCTAssertEqual(decoded, [EpochRecord(trainLoss: 0.5, validationLoss: 0.6, trainAccuracy: 0.8, validationAccuracy: 0.75)])
    }

    func testForgettingReport() throws {
        let report = ForgettingReport(base: 0.8, candidate: 0.7)
        XCTAssertEqual(report.absoluteDrop, 0.1, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(report.relativeDrop), 0.125, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(ForgettingReport(base: -0.5, candidate: -0.6).relativeDrop), 0.2, accuracy: 1e-15)
        XCTAssertNil(ForgettingReport(base: 0, candidate: 0.1).relativeDrop)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["base", "candidate", "absolute_drop", "relative_drop"])
    }
}
