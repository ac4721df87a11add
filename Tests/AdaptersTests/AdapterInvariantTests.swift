import Adapters
import Kernels
import Model
import XCTest

/// The invariants every adapter must keep, on a tiny random configuration: a fresh adapter
/// reproduces the base exactly, merged LoRA equals unmerged, zero virtual tokens equal the base,
/// and LoRA gradients match finite differences (with adapter dropout on).
final class AdapterInvariantTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    let config = BertConfig(vocabSize: 30, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2,
                            intermediateSize: 24, maxPositionEmbeddings: 24)
    let batch = TokenBatch(sequences: [[2, 5, 9, 7, 3], [2, 11, 3]])

    func hidden(_ encoder: BertEncoder) -> [Float] {
        encoder.forward(batch)
        return encoder.meanPooledLastHiddenState()
    }

    func testFreshLoRAReproducesTheBaseExactly() throws {
        let base = EncoderParameters.random(config: config, seed: 1)
        let reference = hidden(BertEncoder(parameters: base))
        let adapter = LoRAAdapter(configuration: try LoRAConfiguration(rank: 4, alpha: 8, targets: config.linearSites.sites), config: config, seed: 2)
        XCTAssertEqual(hidden(BertEncoder(parameters: base, adapter: adapter)), reference, "B = 0, so the output must be bit-identical")
    }

    func testMergedLoRAEqualsUnmerged() throws {
        let base = EncoderParameters.random(config: config, seed: 1)
        let adapter = LoRAAdapter(configuration: try LoRAConfiguration(rank: 4, alpha: 8, targets: config.linearSites.sites), config: config, seed: 2)
        var generator = SeededGenerator(seed: 3)
        for i in 0..<adapter.parameters.count { adapter.parameters.pointer[i] = 0.3 * generator.nextNormal() }
        let unmerged = hidden(BertEncoder(parameters: base, adapter: adapter))
        let merged = base.copy()
        adapter.merge(into: merged)
        let mergedOutput = hidden(BertEncoder(parameters: merged))
        XCTAssertNotEqual(unmerged, hidden(BertEncoder(parameters: base)), "a non-zero adapter must change the output")
        let worst = zip(unmerged, mergedOutput).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(worst, 1e-5)
    }

    func testZeroVirtualTokensReproduceTheBase() throws {
        let base = EncoderParameters.random(config: config, seed: 1)
        let adapter = try PromptTuningAdapter(configuration: try PromptTuningConfiguration(virtualTokens: 0, initialization: .randomVocabulary), base: base, tokenizer: nil, seed: 4)
        XCTAssertEqual(hidden(BertEncoder(parameters: base, adapter: adapter)), hidden(BertEncoder(parameters: base)))
    }

    func testPromptTokensAreExcludedFromMeanPooling() throws {
        let base = EncoderParameters.random(config: config, seed: 1)
        let adapter = try PromptTuningAdapter(configuration: try PromptTuningConfiguration(virtualTokens: 3, initialization: .randomVocabulary), base: base, tokenizer: nil, seed: 4)
        let encoder = BertEncoder(parameters: base, adapter: adapter)
        encoder.forward(batch)
        XCTAssertEqual(encoder.activations.tokens, 3 + 5)
        XCTAssertEqual(encoder.activations.lengths[1], 3 + 3)
        // Pool by hand over positions 3 ..< 3 + length.
        let pooled = encoder.meanPooledLastHiddenState()
        let C = config.hiddenSize, T = encoder.activations.tokens
        for c in 0..<C {
            var sum: Float = 0
            for t in 3..<6 { sum += encoder.activations.lastHiddenState[(1 * T + t) * C + c] }
            XCTAssertEqual(pooled[C + c], sum / 3, accuracy: 1e-6)
        }
    }

    func testLoRAGradientsMatchFiniteDifferencesWithDropout() throws {
        let base = EncoderParameters.random(config: config, seed: 1)
        let adapter = LoRAAdapter(configuration: try LoRAConfiguration(rank: 2, alpha: 4, dropout: 0.25, targets: config.linearSites.sites),
                                  config: config, seed: 2)
        var generator = SeededGenerator(seed: 3)
        for i in 0..<adapter.parameters.count { adapter.parameters.pointer[i] = 0.3 * generator.nextNormal() }
        let head = ClassificationHead(hiddenSize: config.hiddenSize, classCount: 2)
        for i in 0..<head.parameters.count { head.parameters.pointer[i] = 0.3 * generator.nextNormal() }
        let model = SequenceClassifier(encoder: BertEncoder(parameters: base, adapter: adapter), head: head)
        let labels: [Int32] = [1, 0]
        let dropout = DropoutSettings(hidden: 0, attention: 0, seed: 17)
        func loss() -> Double { model.loss(batch, labels: labels, dropout: dropout, classifierDropout: 0) }
        _ = loss()
        adapter.gradients.zero()
        model.backward(encoderGradients: nil, headGradients: FloatBuffer(count: head.parameters.count), trainPooler: false)
        var worst = 0.0
        for i in 0..<adapter.parameters.count {
            let saved = adapter.parameters.pointer[i]
            adapter.parameters.pointer[i] = saved + 2e-3
            let plus = loss()
            adapter.parameters.pointer[i] = saved - 2e-3
            let minus = loss()
            adapter.parameters.pointer[i] = saved
            let numeric = (plus - minus) / 4e-3, exact = Double(adapter.gradients.pointer[i])
            worst = max(worst, abs(numeric - exact) / max(1e-2, abs(numeric) + abs(exact)))
        }
        XCTAssertLessThan(worst, 2e-2, "worst relative error \(worst)")
    }
}

/// QLoRA: the 4-bit base takes at most 16 % of the fp32 bytes, the NF4 round trip stays close to
/// the base, and a fresh QLoRA equals the dequantised base exactly.
final class QLoRATests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testQuantizedBaseIsSmallAndFreshAdapterEqualsDequantizedBase() throws {
        let config = BertConfig(vocabSize: 30, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 2,
                                intermediateSize: 128, maxPositionEmbeddings: 24)
        let base = EncoderParameters.random(config: config, seed: 1)
        let batch = TokenBatch(sequences: [[2, 5, 9, 7, 3], [2, 11, 3]])
        for doubleQuantize in [false, true] {
            let adapter = QLoRAAdapter(configuration: try LoRAConfiguration(rank: 4, alpha: 8, targets: config.linearSites.sites(.query, .value)), base: base,
                                       doubleQuantize: doubleQuantize, seed: 2)
            let ratio = Double(adapter.quantizedBaseBytes) / Double(adapter.fullPrecisionBaseBytes)
            XCTAssertLessThanOrEqual(ratio, 0.16, "4-bit base bytes / fp32 bytes")
            // The same forward with the base weights replaced by their dequantised copies.
            let dequantized = base.copy()
            for tensor in EncoderParameterLayout.Tensor.allCases where tensor.isLinearWeight {
                for layer in 0..<config.numHiddenLayers {
                    let weight = adapter.linearWeight(tensor, layer: layer, base: base.pointer(tensor, layer: layer))
                    dequantized.pointer(tensor, layer: layer).update(from: weight, count: base.layout.count(of: tensor))
                }
            }
            let qlora = BertEncoder(parameters: base, adapter: adapter)
            qlora.forward(batch)
            let reference = BertEncoder(parameters: dequantized)
            reference.forward(batch)
            XCTAssertEqual(qlora.meanPooledLastHiddenState(), reference.meanPooledLastHiddenState())
            // Weight reconstruction: relative Frobenius error of NF4 on Gaussian weights is about 0.1.
            let range = base.layout.range(of: .qkvWeight)
            let original = Array(base.storage.array[range]), restored = Array(dequantized.storage.array[range])
            let error = zip(original, restored).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }.squareRoot()
            let norm = original.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
            XCTAssertGreaterThan(error, 0, "quantisation must actually change the weights")
            XCTAssertLessThan(error / norm, 0.12, "NF4 relative reconstruction error")
        }
    }
}
