import Evaluation
import Foundation
import XCTest

/// Every classification case of the fixture against scikit-learn's numbers.
final class ClassificationParityTests: XCTestCase {
    func testEveryCaseMatchesScikitLearn() throws {
        let cases = try EvaluationFixtures.load().classification
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for reference in cases {
            let name = reference.name
            let report = ClassificationMetrics.compute(
                labels: reference.labels, predicted: reference.predicted,
                probabilities: reference.probabilities, classCount: reference.class_count)

            XCTAssertEqual(report.exampleCount, reference.labels.count, name)
            XCTAssertEqual(report.classCount, reference.class_count, name)
            assertClose(report.accuracy, reference.accuracy, "\(name) accuracy")
            XCTAssertEqual(report.confusionMatrix, reference.confusion_matrix, name)
            XCTAssertEqual(report.perClass.map(\.label), Array(0..<reference.class_count), name)
            XCTAssertEqual(report.perClass.map(\.support), reference.support, name)
            for scores in report.perClass {
                let c = scores.label
                assertClose(scores.precision, reference.precision[c], "\(name) precision[\(c)]")
                assertClose(scores.recall, reference.recall[c], "\(name) recall[\(c)]")
                assertClose(scores.f1, reference.f1[c], "\(name) f1[\(c)]")
                XCTAssertEqual(scores.predictedCount, reference.confusion_matrix.reduce(0) { $0 + $1[c] }, name)
            }
            for (average, actual, expected) in [
                ("macro", report.macro, reference.macro), ("micro", report.micro, reference.micro),
                ("weighted", report.weighted, reference.weighted),
            ] {
                assertClose(actual.precision, expected.precision, "\(name) \(average) precision")
                assertClose(actual.recall, expected.recall, "\(name) \(average) recall")
                assertClose(actual.f1, expected.f1, "\(name) \(average) f1")
            }
            assertClose(report.logLoss, reference.log_loss, relative: 1e-7, "\(name) log loss")
            assertClose(report.expectedCalibrationError, reference.ece, "\(name) ece")
        }
    }

    func testFixtureCoversTheEdgeCases() throws {
        let cases = Dictionary(uniqueKeysWithValues: try EvaluationFixtures.load().classification.map { ($0.name, $0) })
        let neverPredicted = try XCTUnwrap(cases["class_never_predicted"])
        XCTAssert(neverPredicted.labels.contains(3) && !neverPredicted.predicted.contains(3))
        let absent = try XCTUnwrap(cases["class_absent_from_labels_but_predicted"])
        XCTAssert(!absent.labels.contains(2) && absent.predicted.contains(2))
        XCTAssertEqual(try XCTUnwrap(cases["perfect"]).accuracy, 1)
        XCTAssertEqual(try XCTUnwrap(cases["all_wrong"]).accuracy, 0)
        XCTAssert(try XCTUnwrap(cases["exact_zero_one_probabilities"]).probabilities.joined().allSatisfy { $0 == 0 || $0 == 1 })
        XCTAssertEqual(Set(cases.values.map(\.class_count)), [2, 3, 4, 5])
    }

    /// A class in neither labels nor predictions has zeros but does not pull the macro average down.
    func testClassAbsentEverywhereIsLeftOutOfTheMacroAverage() {
        let report = ClassificationMetrics.compute(
            labels: [0, 1, 1], predicted: [0, 1, 0],
            probabilities: [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]], classCount: 3)
        let absent = report.perClass[2]
        XCTAssertEqual([absent.precision, absent.recall, absent.f1], [0, 0, 0])
        XCTAssertEqual([absent.support, absent.predictedCount], [0, 0])
        // Class 0: P = 1/2, R = 1, F1 = 2/3; class 1: P = 1, R = 1/2, F1 = 2/3.
        XCTAssertEqual(report.macro.precision, 0.75)
        XCTAssertEqual(report.macro.recall, 0.75)
        XCTAssertEqual(report.macro.f1, 2.0 / 3.0, accuracy: 1e-15)
    }

    func testLogLossClipsExactZeroAndOne() {
        XCTAssertEqual(LogLoss.epsilon, 2.220446049250313e-16)
        XCTAssertEqual(LogLoss.compute(labels: [0], probabilities: [[0, 1]]), -log(2.220446049250313e-16))
        XCTAssertEqual(LogLoss.compute(labels: [1], probabilities: [[0, 1]]), -log(1 - 2.220446049250313e-16))
        XCTAssertEqual(LogLoss.compute(labels: [0, 1], probabilities: [[0.5, 0.5], [0.75, 0.25]]),
                       -(log(0.5) + log(0.25)) / 2, accuracy: 1e-15)
    }

    func testReportEncodesWithSnakeCaseKeys() throws {
        let report = ClassificationMetrics.compute(
            labels: [0, 1], predicted: [0, 0], probabilities: [[0.9, 0.1], [0.6, 0.4]], classCount: 2)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), [
            "example_count", "class_count", "accuracy", "per_class", "macro", "micro", "weighted",
            "confusion_matrix", "log_loss", "ece",
        ])
        let perClass = try XCTUnwrap(object["per_class"] as? [[String: Any]])
        XCTAssertEqual(Set(perClass[0].keys), ["class", "precision", "recall", "f1", "support", "predicted_count"])
        XCTAssertEqual(try JSONDecoder().decode(ClassificationReport.self, from: JSONEncoder().encode(report)), report)
    }
}
