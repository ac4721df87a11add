import Foundation
import Kernels
@testable import Model
import TestSupport
import XCTest

/// The decoder's training forward and backward (`LlamaTrainingGraph`): every parameter's gradient
/// against central finite differences on a tiny random model (tied and untied head), and the loss
/// and gradients against PyTorch (fixtures from scripts/fixtures/make_decoder_training_fixture.py).
final class LlamaTrainingTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    /// A model with random weights: matrices N(0, 0.3²), norms 1 + N(0, 0.1²).
    static func randomModel(tied: Bool, seed: UInt64 = 11) -> (LlamaConfig, [String: [Float]]) {
        let config = LlamaConfig(vocabSize: 13, hiddenSize: 8, intermediateSize: 12, layers: 2, heads: 2, kvHeads: 1, headDim: 4,
                                 ropeTheta: 10_000, rmsNormEps: 1e-5, contextLength: 32, tiedEmbeddings: tied)
        var state = seed
        func normal() -> Float {
            func uniform() -> Double {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Double(state >> 11) + 0.5) / Double(1 << 53)
            }
            return Float((-2 * Foundation.log(uniform())).squareRoot() * Foundation.cos(2 * Double.pi * uniform()))
        }
        var parameters: [String: [Float]] = [:]
        var sites = (0..<config.layers).flatMap { LlamaWeights.layerSites($0, config) }
            + [LlamaWeights.embeddingSite(config), LlamaWeights.finalNormSite(config)]
        if !tied { sites.append(LlamaWeights.lmHeadSite(config)) }
        for site in sites {
            let count = site.shape.reduce(1, *)
            parameters[site.huggingFace] = site.shape.count == 1 ? (0..<count).map { _ in 1 + 0.1 * normal() } : (0..<count).map { _ in 0.3 * normal() }
        }
        return (config, parameters)
    }

    static func model(_ config: LlamaConfig, _ parameters: [String: [Float]]) throws -> LlamaModel {
        let weights = try LlamaWeights.load(config, read: { site throws(ModelInputError) in .dense(parameters[site.huggingFace]!) },
                                            hasLMHead: !config.tiedEmbeddings)
        return LlamaModel(config: config, weights: weights, source: URL(fileURLWithPath: "/random-llama"))
    }

    /// Two sequences of different lengths (so one is padded), learning from token 2 and token 1 on.
    static let batch = [LanguageModelingExample(ids: [3, 5, 7, 1, 2, 12], firstTarget: 2),
                        LanguageModelingExample(ids: [4, 4, 9, 0], firstTarget: 1)]

    func testEveryGradientMatchesFiniteDifferences() throws {
        for tied in [true, false] {
            let (config, parameters) = Self.randomModel(tied: tied)
            let graph = try LlamaTrainingGraph(model: Self.model(config, parameters))
            let pass = try graph.lossAndGradients(Self.batch)
            let (targets, gradients) = (pass.targets, pass.gradients)
            XCTAssertEqual(try graph.loss(Self.batch).loss, pass.loss, "the forward alone gives the same loss")
            XCTAssertEqual(targets, 4 + 3)
            XCTAssertEqual(Set(gradients.keys), Set(parameters.keys), "every parameter has a gradient")
            var perturbed = parameters
            let step: Float = 1e-3
            for (name, values) in parameters.sorted(by: { $0.key < $1.key }) {
                let analytic = try XCTUnwrap(gradients[name])
                XCTAssertEqual(analytic.count, values.count, name)
                var worst = 0.0, largest = 0.0
                for i in values.indices {
                    perturbed[name]![i] = values[i] + step
                    let plus = try LlamaTrainingGraph(model: Self.model(config, perturbed)).loss(Self.batch).loss
                    perturbed[name]![i] = values[i] - step
                    let minus = try LlamaTrainingGraph(model: Self.model(config, perturbed)).loss(Self.batch).loss
                    perturbed[name]![i] = values[i]
                    let numeric = (plus - minus) / (2 * Double(step))
                    worst = max(worst, abs(numeric - Double(analytic[i])))
                    largest = max(largest, abs(numeric))
                }
                XCTAssertLessThan(worst, 0.01 * largest + 1e-4, "\(name) (tied \(tied)): max |numeric − analytic| \(worst), largest \(largest)")
            }
        }
    }

    /// LoRA on every linear layer (B not zero, so A has a gradient too): the adapters' gradients
    /// against finite differences, the base frozen (no gradient of its own), and the merged
    /// weights giving the adapted model's loss.
    func testLoRAGradientsMatchFiniteDifferences() throws {
        let (config, parameters) = Self.randomModel(tied: true)
        let model = try Self.model(config, parameters)
        var lora = try LlamaLoRA(config: config, rank: 2, alpha: 4, targets: LlamaLinear.allCases, seed: 3)
        var generator = SeededGenerator(seed: 9)
        for name in lora.tensors.keys where name.contains("lora_B") { lora.tensors[name] = lora.tensors[name]!.map { _ in 0.2 * generator.nextNormal() } }
        let graph = try LlamaTrainingGraph(model: model)
        let pass = try graph.lossAndGradients(Self.batch, adapter: lora)
        XCTAssertEqual(Set(pass.gradients.keys), Set(lora.tensors.keys), "only the adapters train")
        XCTAssertEqual(lora.tensors.count, 2 * 7 * config.layers)
        let merged = LlamaModel(config: config, weights: lora.merged(into: model.weights, config: config), source: model.source)
        XCTAssertEqual(try LlamaTrainingGraph(model: merged).loss(Self.batch).loss, pass.loss, accuracy: 1e-5)
        XCTAssertNotEqual(try graph.loss(Self.batch).loss, pass.loss, "the adapters change the model")
        var perturbed = lora
        let step: Float = 1e-3
        for (name, values) in lora.tensors.sorted(by: { $0.key < $1.key }) {
            let analytic = try XCTUnwrap(pass.gradients[name])
            var worst = 0.0, largest = 0.0
            for i in values.indices {
                perturbed.tensors[name]![i] = values[i] + step
                let plus = try graph.loss(Self.batch, adapter: perturbed).loss
                perturbed.tensors[name]![i] = values[i] - step
                let minus = try graph.loss(Self.batch, adapter: perturbed).loss
                perturbed.tensors[name]![i] = values[i]
                let numeric = (plus - minus) / (2 * Double(step))
                worst = max(worst, abs(numeric - Double(analytic[i])))
                largest = max(largest, abs(numeric))
            }
            XCTAssertLessThan(worst, 0.01 * largest + 1e-4, "\(name): max |numeric − analytic| \(worst), largest \(largest)")
        }
    }

    /// LoRA dropout: with a fixed seed the masks are fixed, so the loss is a function of A and B
    /// whose gradient finite differences check; a different seed drops other elements; without a
    /// seed (validation) nothing is dropped.
    func testLoRADropoutGradientsMatchFiniteDifferences() throws {
        let (config, parameters) = Self.randomModel(tied: true)
        let model = try Self.model(config, parameters)
        var lora = try LlamaLoRA(config: config, rank: 2, alpha: 4, targets: [.query, .value, .down], seed: 3)
        var generator = SeededGenerator(seed: 4)
        for name in lora.tensors.keys where name.contains("lora_B") { lora.tensors[name] = lora.tensors[name]!.map { _ in 0.2 * generator.nextNormal() } }
        lora.dropout = 0.3
        let graph = try LlamaTrainingGraph(model: model)
        let pass = try graph.lossAndGradients(Self.batch, adapter: lora, dropoutSeed: 11)
        XCTAssertEqual(try graph.loss(Self.batch, adapter: lora, dropoutSeed: 11).loss, pass.loss, accuracy: 1e-6, "the same masks")
        XCTAssertNotEqual(try graph.loss(Self.batch, adapter: lora, dropoutSeed: 12).loss, pass.loss, "other masks")
        var undropped = lora
        undropped.dropout = 0
        XCTAssertEqual(try graph.loss(Self.batch, adapter: lora).loss, try graph.loss(Self.batch, adapter: undropped).loss,
                       "no seed, no dropout")
        var perturbed = lora
        let step: Float = 1e-2
        for (name, values) in lora.tensors.sorted(by: { $0.key < $1.key }) {
            let largest = pass.gradients[name]!.map(abs).max()!
            for index in stride(from: 0, to: values.count, by: max(1, values.count / 5)) {
                perturbed.tensors[name]![index] = values[index] + step
                let plus = try graph.loss(Self.batch, adapter: perturbed, dropoutSeed: 11).loss
                perturbed.tensors[name]![index] = values[index] - step
                let minus = try graph.loss(Self.batch, adapter: perturbed, dropoutSeed: 11).loss
                perturbed.tensors[name]![index] = values[index]
                let numeric = (plus - minus) / Double(2 * step)
                XCTAssertEqual(Double(pass.gradients[name]![index]), numeric, accuracy: 0.01 * Double(largest) + 1e-4, "\(name)[\(index)]")
            }
        }
    }

    func testBadTargetsAndQuantisedWeightsAreRefused() throws {
        let (config, parameters) = Self.randomModel(tied: true)
        let graph = try LlamaTrainingGraph(model: Self.model(config, parameters))
        XCTAssertThrowsError(try graph.lossAndGradients([LanguageModelingExample(ids: [1, 2], firstTarget: 0)])) { error in
            XCTAssertEqual("\(error)", "/random-llama: sequence 0: first target 0 is outside 1...2 (position 0 has no context to predict it from)")
        }
        XCTAssertThrowsError(try graph.lossAndGradients([LanguageModelingExample(ids: [1, 13], firstTarget: 1)])) { error in
            XCTAssertTrue("\(error)".contains("outside the vocabulary of 13"), "\(error)")
        }
        let quantised = try LlamaModel.load(TestPaths.decoderModel())
        XCTAssertThrowsError(try LlamaTrainingGraph(model: quantised)) { error in
            XCTAssertTrue("\(error)".contains("training needs the language-model head in fp32"), "\(error)")
        }
        // With the embedding in fp32 an adapter may train over the blocks; every weight may not.
        let blocks = LlamaModel(config: quantised.config, weights: quantised.weights.withFloatEmbedding(), source: quantised.source)
        XCTAssertThrowsError(try LlamaTrainingGraph(model: blocks).lossAndGradients([LanguageModelingExample(ids: [20, 21], firstTarget: 1)])) { error in
            XCTAssertTrue("\(error)".contains("fine-tuning every weight needs fp32 weights"), "\(error)")
        }
    }

    /// QLoRA over the GGUF file's own 4-bit blocks is LoRA over the weights they decode to: the
    /// same loss and adapter gradients as over the fp32 copy (decoding is bit-identical; only the
    /// products' panels differ), on SmolLM2 with adapters on every linear of every layer.
    func testLoRAOverGGUFBlocksEqualsLoRAOverTheDecodedWeights() throws {
        let native = try LlamaModel.load(TestPaths.decoderModel())
        let blocks = LlamaModel(config: native.config, weights: native.weights.withFloatEmbedding(), source: native.source)
        let dense = try LlamaModel.load(TestPaths.decoderModel(), storage: .float32)
        XCTAssertLessThan(blocks.weights.byteCount, dense.weights.byteCount / 2)
        var lora = try LlamaLoRA(config: native.config, rank: 4, alpha: 8, targets: LlamaLinear.allCases, seed: 5)
        var generator = SeededGenerator(seed: 6)
        for name in lora.tensors.keys where name.contains("lora_B") { lora.tensors[name] = lora.tensors[name]!.map { _ in 0.01 * generator.nextNormal() } }
        let batch = [LanguageModelingExample(ids: [504, 3458, 282, 4649, 314, 7042, 30, 216], firstTarget: 3),
                     LanguageModelingExample(ids: [1, 9690, 198, 2683, 359], firstTarget: 4)]
        let overBlocks = try LlamaTrainingGraph(model: blocks).lossAndGradients(batch, adapter: lora)
        let overDense = try LlamaTrainingGraph(model: dense).lossAndGradients(batch, adapter: lora)
        XCTAssertEqual(overBlocks.loss, overDense.loss, accuracy: 1e-5)
        XCTAssertEqual(Set(overBlocks.gradients.keys), Set(lora.tensors.keys))
        for (name, reference) in overDense.gradients {
            let scale = reference.map { abs(Double($0)) }.max() ?? 0
            let worst = zip(overBlocks.gradients[name]!, reference).map { abs(Double($0) - Double($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-4 * scale, "\(name): max |Δ| \(worst), largest \(scale)")
        }
    }
}

/// Loss and gradients against PyTorch (`LlamaForCausalLM(labels=…).loss.backward()`, fp32, eager
/// attention, prompt and padding labels −100).
final class LlamaTrainingParityTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    static func fixture(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent("decoder/\(name)"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func batch(_ fixture: [String: Any]) throws -> [LanguageModelingExample] {
        try XCTUnwrap(fixture["sequences"] as? [[String: Any]]).map {
            LanguageModelingExample(ids: ($0["ids"] as! [Int]).map(Int32.init), firstTarget: $0["first_target"] as! Int)
        }
    }

    func testTinyModelEveryGradientMatchesPyTorch() throws {
        let fixture = try Self.fixture("training_tiny.json")
        let model = try LlamaModel.load(TestPaths.fixtures.appendingPathComponent("decoder/tiny_llama"))
        let pass = try LlamaTrainingGraph(model: model).lossAndGradients(Self.batch(fixture))
        let (loss, targets, gradients) = (pass.loss, pass.targets, pass.gradients)
        XCTAssertEqual(targets, fixture["targets"] as? Int)
        XCTAssertEqual(loss, try XCTUnwrap(fixture["loss"] as? Double), accuracy: 1e-5)
        let expected = try XCTUnwrap(fixture["gradients"] as? [String: [Double]])
        XCTAssertEqual(Set(gradients.keys), Set(expected.keys))
        for (name, reference) in expected {
            let ours = try XCTUnwrap(gradients[name], name)
            XCTAssertEqual(ours.count, reference.count, name)
            let scale = reference.map(abs).max() ?? 0
            let worst = zip(ours, reference).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-3 * scale + 1e-7, "\(name): max |Δ| \(worst), largest \(scale)")
        }
    }

    /// SmolLM2 from its GGUF (decoded to fp32): the loss on the verbaliser tokens of two prompts and
    /// the gradients of every tensor of layers 0, 15 and 29, the embedding and the final norm —
    /// each tensor's norm and 256 of its values.
    func testSmolLM2GradientsMatchPyTorch() throws {
        let fixture = try Self.fixture("training_smollm2.json")
        let model = try LlamaModel.load(TestPaths.decoderModel(), storage: .float32)
        let pass = try LlamaTrainingGraph(model: model).lossAndGradients(Self.batch(fixture))
        let (loss, targets, gradients) = (pass.loss, pass.targets, pass.gradients)
        XCTAssertEqual(targets, fixture["targets"] as? Int)
        XCTAssertEqual(loss, try XCTUnwrap(fixture["loss"] as? Double), accuracy: 1e-4)
        let expected = try XCTUnwrap(fixture["gradients"] as? [String: [String: Any]])
        XCTAssertEqual(expected.count, 2 + 3 * 9)
        for (name, reference) in expected {
            let ours = try XCTUnwrap(gradients[name], name)
            let norm = (ours.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
            let referenceNorm = try XCTUnwrap(reference["norm"] as? Double)
            XCTAssertEqual(norm, referenceNorm, accuracy: 1e-3 * referenceNorm, "\(name): gradient norm")
            let indices = try XCTUnwrap(reference["indices"] as? [Int]), values = try XCTUnwrap(reference["values"] as? [Double])
            let scale = values.map(abs).max() ?? 0
            let worst = zip(indices, values).map { abs(Double(ours[$0]) - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-3 * scale + 1e-9, "\(name): max |Δ| \(worst) over 256 values, largest \(scale)")
        }
    }
}

/// A LoRA adapter saved for llama.cpp (`adapter_model.gguf`): the layout llama.cpp's loader checks,
/// read back by evalharness's own GGUF reader.
final class LlamaCppAdapterExportTests: XCTestCase {
    func testLoRAAdapterGGUFHoldsAAndThePermutedB() throws {
        let (config, _) = LlamaTrainingTests.randomModel(tied: true)
        var lora = try LlamaLoRA(config: config, rank: 2, alpha: 6, targets: LlamaLinear.allCases, seed: 3)
        // B starts at zero: give it values so that the row order can be seen.
        for name in lora.tensors.keys where name.hasSuffix("lora_B.weight") {
            lora.tensors[name] = lora.tensors[name]!.indices.map { Float($0) + 0.25 }
        }
        let (metadata, tensors) = try XCTUnwrap(lora.llamaCppAdapter(config: config))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: url) }
        try GGUFWriter.encode(metadata: metadata, tensors: tensors).write(to: url)
        let file = try GGUFFile(contentsOf: url)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.value("general.type"), .string("adapter"))
        XCTAssertEqual(file.value("general.architecture"), .string("llama"))
        XCTAssertEqual(file.value("adapter.type"), .string("lora"))
        XCTAssertEqual(file.value("adapter.lora.alpha"), .float32(6))
        XCTAssertEqual(file.tensors.count, 2 * 7 * config.layers)
        for layer in 0..<config.layers {
            for target in LlamaLinear.allCases {
                let site = LlamaWeights.layerSites(layer, config).first { $0.huggingFace.hasSuffix("." + target.modulePath + ".weight") }!
                let (out, inFeatures) = target.shape(config)
                let a = try XCTUnwrap(file.tensors.first { $0.name == site.gguf + ".lora_a" })
                let b = try XCTUnwrap(file.tensors.first { $0.name == site.gguf + ".lora_b" })
                // ggml's ne: A [in, r], B [r, out] — what llama.cpp's loader requires of a weight [in, out].
                XCTAssertEqual(a.dimensions, [inFeatures, 2])
                XCTAssertEqual(b.dimensions, [2, out])
                XCTAssertEqual(a.type, .f32)
                XCTAssertEqual(a.offset % 32, 0)
                XCTAssertEqual(file.floats(a), lora.lowRank(layer: layer, target)!.a)
                // Un-permuting B's rows as a GGUF's q/k weights are un-permuted on load gives PEFT's B back.
                let stored = file.floats(b)
                let b0 = lora.lowRank(layer: layer, target)!.b
                if let heads = site.permutedHeads {
                    XCTAssertNotEqual(stored, b0, "\(site.gguf): permuted")
                    XCTAssertEqual(LlamaWeights.unpermute(stored, heads: heads, columns: 2), b0)
                } else {
                    XCTAssertEqual(stored, b0)
                }
            }
        }
        // Prompt tuning has no llama.cpp adapter.
        XCTAssertNil(LlamaPromptTuning(virtualTokens: 2, values: [Float](repeating: 0, count: 2 * config.hiddenSize))
            .llamaCppAdapter(config: config))
    }
}
