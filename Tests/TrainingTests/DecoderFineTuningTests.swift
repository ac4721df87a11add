import Foundation
import Kernels
import Model
import TestSupport
import Training
import XCTest

/// Full fine-tuning of a decoder against PyTorch: ten AdamW steps on the tiny Llama (every
/// parameter, the tied embedding once, gradients clipped to norm 1) give the same losses, gradient
/// norms and final weights as `torch.optim.AdamW` + `clip_grad_norm_`
/// (scripts/fixtures/make_decoder_adamw_fixture.py).
final class DecoderFineTuningTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testTenAdamWStepsMatchPyTorch() throws {
        let data = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent("decoder/adamw_tiny.json"))
        let fixture = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let batch = try XCTUnwrap(fixture["sequences"] as? [[String: Any]]).map {
            LanguageModelingExample(ids: ($0["ids"] as! [Int]).map(Int32.init), firstTarget: $0["first_target"] as! Int)
        }
        let settings = try XCTUnwrap(fixture["settings"] as? [String: Any])
        XCTAssertEqual(settings["steps"] as? Int, 10)
        let model = try LlamaModel.load(TestPaths.fixtures.appendingPathComponent("decoder/tiny_llama"))
        let tuning = try DecoderFineTuning(
            model: model, settings: AdamWSettings(learningRate: Float(settings["lr"] as! Double), weightDecay: Float(settings["weight_decay"] as! Double)),
            maxGradientNorm: settings["max_grad_norm"] as! Double)
        let losses = try XCTUnwrap(fixture["losses"] as? [Double]), norms = try XCTUnwrap(fixture["grad_norms"] as? [Double])
        for step in 0..<10 {
            let (loss, norm, _) = try tuning.step(batch)
            XCTAssertEqual(loss, losses[step], accuracy: 1e-4, "loss at step \(step + 1)")
            XCTAssertEqual(norm, norms[step], accuracy: 1e-4 * norms[step], "gradient norm at step \(step + 1)")
        }
        XCTAssertLessThan(losses[9], losses[0])
        let final = try XCTUnwrap(fixture["final"] as? [String: [Double]])
        var compared = 0
        var weights = model.weights
        weights.updateTensors(config: model.config) { name, values in
            guard let reference = final[name] else { return XCTFail("\(name) is not in the fixture") }
            XCTAssertEqual(values.count, reference.count, name)
            let worst = zip(values, reference).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(name): max |Δ| \(worst) after 10 steps")
            compared += 1
        }
        XCTAssertEqual(compared, final.count, "every parameter compared")
    }

    /// LoRA (r 4, alpha 8, q_proj and v_proj) on the tiny Llama against PEFT
    /// (scripts/fixtures/make_decoder_lora_fixture.py): the adapters' gradients from given A and B,
    /// then ten AdamW steps with clipping.
    func testLoRAGradientsAndTenStepsMatchPEFT() throws {
        let fixture = try Self.fixture("lora_tiny.json")
        let model = try Self.tinyModel()
        try Self.checkAgainstPEFT(model: model, adapter: try Self.lora(fixture, config: model.config), reference: fixture, batch: try Self.batch(fixture))
        // The base never moved.
        XCTAssertEqual(try Self.tinyModel().weights.layers[0].query.floats, model.weights.layers[0].query.floats)
    }

    /// QLoRA against bitsandbytes 0.50.2 + PEFT (scripts/fixtures/make_decoder_qlora_fixture.py):
    /// every linear weight of the tiny Llama quantised to NF4 byte for byte as `Linear4bit` holds
    /// it (with and without double quantisation), then the same LoRA as above over that 4-bit
    /// base: gradients and ten AdamW steps.
    func testQLoRAOverNF4MatchesBitsandbytesAndPEFT() throws {
        let fixture = try Self.fixture("qlora_tiny.json")
        let variants = try XCTUnwrap(fixture["variants"] as? [String: [String: Any]])
        XCTAssertEqual(Set(variants.keys), ["nf4", "nf4_double"])
        for (name, variant) in variants.sorted(by: { $0.key < $1.key }) {
            let doubleQuantize = try XCTUnwrap(variant["double_quant"] as? Bool)
            let fp32 = try Self.tinyModel()
            let weights = fp32.weights.quantizingLinearsToNF4(config: fp32.config, doubleQuantize: doubleQuantize)
            let model = LlamaModel(config: fp32.config, weights: weights, source: fp32.source)
            let quantized = try XCTUnwrap(variant["quantized"] as? [String: [String: Any]])
            XCTAssertEqual(quantized.count, 7 * fp32.config.layers)
            for layer in 0..<fp32.config.layers {
                for target in LlamaLinear.allCases {
                    let key = "model.layers.\(layer).\(target.modulePath).weight"
                    let reference = try XCTUnwrap(quantized[key], key)
                    guard case .nf4(let tensor, _, _) = target.weight(weights.layers[layer]) else { return XCTFail("\(key) is not NF4") }
                    XCTAssertEqual(tensor.packed, (reference["packed"] as! [Int]).map(UInt8.init), "\(name) \(key): packed codes")
                    if doubleQuantize {
                        XCTAssertEqual(tensor.doubleQuantized?.codes, (reference["absmax_codes"] as! [Int]).map(UInt8.init), "\(name) \(key)")
                        XCTAssertEqual(tensor.doubleQuantized?.absmax, (reference["nested_absmax"] as! [Double]).map(Float.init), "\(name) \(key)")
                        XCTAssertEqual(tensor.doubleQuantized?.offset, Float(reference["offset"] as! Double), "\(name) \(key)")
                    } else {
                        XCTAssertEqual(tensor.absmax, (reference["absmax"] as! [Double]).map(Float.init), "\(name) \(key): absmax")
                    }
                }
            }
            XCTAssertLessThan(weights.byteCount, fp32.weights.byteCount)
            try Self.checkAgainstPEFT(model: model, adapter: try Self.lora(fixture, config: model.config), reference: variant, batch: try Self.batch(fixture))
        }
    }

    /// Prompt tuning against PEFT's PROMPT_TUNING for CAUSAL_LM
    /// (scripts/fixtures/make_decoder_prompt_fixture.py): 4 virtual tokens before every sequence
    /// at positions 0–3, the prompt's gradient and ten AdamW steps; and inference with the prompt
    /// as the model's prefix gives PEFT's next-token distribution after each sequence.
    func testPromptTuningMatchesPEFT() throws {
        let fixture = try Self.fixture("prompt_tiny.json")
        let initial = try XCTUnwrap(fixture["initial"] as? [String: [Double]])
        let prompt = LlamaPromptTuning(virtualTokens: 4, values: try XCTUnwrap(initial[LlamaPromptTuning.tensorName]).map(Float.init))
        let model = try Self.tinyModel()
        let batch = try Self.batch(fixture)
        try Self.checkAgainstPEFT(model: model, adapter: prompt, reference: fixture, batch: batch)

        let prefixed = prompt.inferenceModel(model)
        XCTAssertEqual(prefixed.prefixTokens, 4)
        let scoring = try XCTUnwrap((fixture["scoring"] as? [String: Any])?["sequences"] as? [[String: Any]])
        for (example, reference) in zip(batch, scoring) {
            let logits = try prefixed.logits(example.ids)
            let V = model.config.vocabSize, last = example.ids.count - 1
            let expected = try XCTUnwrap(reference["logits"] as? [Double])
            let worst = zip(logits[(last * V)..<((last + 1) * V)], expected).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5, "logits after the prefixed sequence: max |Δ| \(worst)")
        }
        // Batched, every sequence gets the same prefix (run once, copied to each): the same logits as alone.
        let (states, T) = try prefixed.hiddenStates(batch.map(\.ids))
        let batched = prefixed.logits(ofRows: states, rows: batch.indices.map { $0 * T + batch[$0].ids.count - 1 })
        for (b, example) in batch.enumerated() {
            let alone = try prefixed.logits(example.ids)
            let V = model.config.vocabSize, last = example.ids.count - 1
            let worst = zip(batched[(b * V)..<((b + 1) * V)], alone[(last * V)..<((last + 1) * V)]).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5, "sequence \(b) batched vs alone: max |Δ| \(worst)")
        }
        // The positions after the prompt count towards the model's limit.
        XCTAssertThrowsError(try prefixed.logits([Int32](repeating: 5, count: prefixed.maxPositions - 3))) { error in
            XCTAssertTrue("\(error)".contains("with the 4 virtual tokens before it"), "\(error)")
        }
    }

    // MARK: Helpers

    static func fixture(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent("decoder/\(name)"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func tinyModel() throws -> LlamaModel {
        try LlamaModel.load(TestPaths.fixtures.appendingPathComponent("decoder/tiny_llama"))
    }

    static func batch(_ fixture: [String: Any]) throws -> [LanguageModelingExample] {
        try XCTUnwrap(fixture["sequences"] as? [[String: Any]]).map {
            LanguageModelingExample(ids: ($0["ids"] as! [Int]).map(Int32.init), firstTarget: $0["first_target"] as! Int)
        }
    }

    /// The fixture's LoRA settings with its initial A and B.
    static func lora(_ fixture: [String: Any], config: LlamaConfig) throws -> LlamaLoRA {
        let settings = try XCTUnwrap(fixture["lora"] as? [String: Any])
        let targets = try config.linearSites.sites(named: settings["targets"] as! [String])
        let initial = try XCTUnwrap(fixture["initial"] as? [String: [Double]])
        let configuration = try LoRAConfiguration(rank: settings["r"] as! Int, alpha: Float(settings["alpha"] as! Double), targets: targets)
        return LlamaLoRA(config: config, configuration: configuration, tensors: initial.mapValues { $0.map(Float.init) })
    }

    /// An adapter against a PEFT fixture: the loss and every gradient at the initial values, then
    /// ten AdamW steps with clipping on the same batch (losses, gradient norms, final tensors).
    static func checkAgainstPEFT(model: LlamaModel, adapter: any LlamaAdapter, reference: [String: Any],
                                 batch: [LanguageModelingExample], file: StaticString = #filePath, line: UInt = #line) throws {
        let pass = try LlamaTrainingGraph(model: model).lossAndGradients(batch, adapter: adapter)
        XCTAssertEqual(pass.loss, try XCTUnwrap(reference["loss"] as? Double), accuracy: 1e-5, file: file, line: line)
        let gradients = try XCTUnwrap(reference["gradients"] as? [String: [Double]])
        XCTAssertEqual(Set(pass.gradients.keys), Set(gradients.keys), "only the adapter trains", file: file, line: line)
        for (name, expected) in gradients {
            let scale = expected.map(abs).max() ?? 0
            let worst = zip(pass.gradients[name]!, expected).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-3 * scale, "\(name): max |Δ| \(worst), largest \(scale)", file: file, line: line)
        }

        let adamw = try XCTUnwrap(reference["adamw"] as? [String: Any])
        let optimizer = try XCTUnwrap(adamw["settings"] as? [String: Any])
        let tuning = try DecoderFineTuning(model: model, adapter: adapter, settings: AdamWSettings(
            learningRate: Float(optimizer["lr"] as! Double), weightDecay: Float(optimizer["weight_decay"] as! Double)),
            maxGradientNorm: optimizer["max_grad_norm"] as! Double)
        let final = try XCTUnwrap(adamw["final"] as? [String: [Double]])
        XCTAssertEqual(tuning.trainableParameterCount, final.values.reduce(0) { $0 + $1.count }, "the reference's trainable values",
                       file: file, line: line)
        let losses = try XCTUnwrap(adamw["losses"] as? [Double]), norms = try XCTUnwrap(adamw["grad_norms"] as? [Double])
        for step in 0..<10 {
            let (loss, norm, _) = try tuning.step(batch)
            XCTAssertEqual(loss, losses[step], accuracy: 1e-5, "loss at step \(step + 1)", file: file, line: line)
            XCTAssertEqual(norm, norms[step], accuracy: 1e-4 * norms[step], "gradient norm at step \(step + 1)", file: file, line: line)
        }
        XCTAssertEqual(Set(final.keys), Set(tuning.adapter!.tensors.keys), file: file, line: line)
        for (name, expected) in final {
            let worst = zip(tuning.adapter!.tensors[name]!, expected).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(name): max |Δ| \(worst) after 10 steps", file: file, line: line)
        }
    }
}
