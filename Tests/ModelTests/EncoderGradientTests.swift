import Kernels
import Model
import XCTest

/// The whole model (embeddings → encoder → head → cross-entropy) against central finite
/// differences on a tiny random configuration, with padding and with dropout on (fixed masks).
final class EncoderGradientTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    let config = BertConfig(vocabSize: 30, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2,
                            intermediateSize: 12, maxPositionEmbeddings: 16)
    let batch = TokenBatch(sequences: [[2, 5, 9, 7, 3], [2, 11, 3]])
    let labels: [Int32] = [1, 0]

    func makeModel(seed: UInt64) -> SequenceClassifier {
        let encoder = BertEncoder(parameters: EncoderParameters.random(config: config, seed: seed))
        let head = ClassificationHead(hiddenSize: config.hiddenSize, classCount: 3)
        var generator = SeededGenerator(seed: seed + 1)
        for i in 0..<head.parameters.count { head.parameters.pointer[i] = 0.3 * generator.nextNormal() }
        return SequenceClassifier(encoder: encoder, head: head)
    }

    func testFullModelGradientsMatchFiniteDifferences() {
        for dropout in [DropoutSettings.off, DropoutSettings(hidden: 0.2, attention: 0.2, seed: 99)] {
            let model = makeModel(seed: 3)
            let classifierDropout: Float = dropout == .off ? 0 : 0.2
            func loss() -> Double { model.loss(batch, labels: labels, dropout: dropout, classifierDropout: classifierDropout) }
            let encoderGradients = EncoderParameters(layout: model.encoder.parameters.layout)
            let headGradients = FloatBuffer(count: model.head.parameters.count)
            _ = loss()
            model.backward(encoderGradients: encoderGradients, headGradients: headGradients, trainPooler: true)

            checkAll("encoder (dropout \(dropout.hidden))", values: model.encoder.parameters.storage, analytic: encoderGradients.storage, loss: loss)
            checkAll("head (dropout \(dropout.hidden))", values: model.head.parameters, analytic: headGradients, loss: loss)
        }
    }

    /// Rows of embedding tables never looked up have zero gradient both ways; everything else is
    /// compared element by element.
    func checkAll(_ name: String, values: FloatBuffer, analytic: FloatBuffer, loss: () -> Double,
                  file: StaticString = #filePath, line: UInt = #line) {
        let step: Float = 1e-2
        var worst = 0.0, worstIndex = 0
        for i in 0..<values.count {
            let saved = values.pointer[i]
            values.pointer[i] = saved + step
            let plus = loss()
            values.pointer[i] = saved - step
            let minus = loss()
            values.pointer[i] = saved
            let numeric = (plus - minus) / (2 * Double(step))
            let exact = Double(analytic.pointer[i])
            let error = abs(numeric - exact) / max(1e-2, abs(numeric) + abs(exact))
            if error > worst { worst = error; worstIndex = i }
        }
        XCTAssertLessThan(worst, 2e-2, "\(name): worst relative error \(worst) at \(worstIndex)", file: file, line: line)
    }
}
