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
        let data = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent("decoder/lora_tiny.json"))
        let fixture = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let batch = try XCTUnwrap(fixture["sequences"] as? [[String: Any]]).map {
            LanguageModelingExample(ids: ($0["ids"] as! [Int]).map(Int32.init), firstTarget: $0["first_target"] as! Int)
        }
        let settings = try XCTUnwrap(fixture["lora"] as? [String: Any])
        let targets = try (settings["targets"] as! [String]).map { try XCTUnwrap(LlamaLinear(rawValue: $0)) }
        let initial = try XCTUnwrap(fixture["initial"] as? [String: [Double]])
        let lora = LlamaLoRA(rank: settings["r"] as! Int, alpha: Float(settings["alpha"] as! Double), targets: targets,
                             tensors: initial.mapValues { $0.map(Float.init) })
        let model = try LlamaModel.load(TestPaths.fixtures.appendingPathComponent("decoder/tiny_llama"))
        let pass = try LlamaTrainingGraph(model: model).lossAndGradients(batch, lora: lora)
        XCTAssertEqual(pass.loss, try XCTUnwrap(fixture["loss"] as? Double), accuracy: 1e-5)
        let gradients = try XCTUnwrap(fixture["gradients"] as? [String: [Double]])
        XCTAssertEqual(Set(pass.gradients.keys), Set(gradients.keys))
        for (name, reference) in gradients {
            let scale = reference.map(abs).max() ?? 0
            let worst = zip(pass.gradients[name]!, reference).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-3 * scale, "\(name): max |Δ| \(worst), largest \(scale)")
        }

        let adamw = try XCTUnwrap(fixture["adamw"] as? [String: Any])
        let optimizer = try XCTUnwrap(adamw["settings"] as? [String: Any])
        let tuning = try DecoderFineTuning(model: model, lora: lora, settings: AdamWSettings(
            learningRate: Float(optimizer["lr"] as! Double), weightDecay: Float(optimizer["weight_decay"] as! Double)),
            maxGradientNorm: optimizer["max_grad_norm"] as! Double)
        XCTAssertEqual(tuning.trainableParameterCount, initial.values.reduce(0) { $0 + $1.count })
        let losses = try XCTUnwrap(adamw["losses"] as? [Double]), norms = try XCTUnwrap(adamw["grad_norms"] as? [Double])
        for step in 0..<10 {
            let (loss, norm, _) = try tuning.step(batch)
            XCTAssertEqual(loss, losses[step], accuracy: 1e-5, "loss at step \(step + 1)")
            XCTAssertEqual(norm, norms[step], accuracy: 1e-4 * norms[step], "gradient norm at step \(step + 1)")
        }
        let final = try XCTUnwrap(adamw["final"] as? [String: [Double]])
        for (name, reference) in final {
            let worst = zip(tuning.lora!.tensors[name]!, reference).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(name): max |Δ| \(worst) after 10 steps")
        }
        // The base never moved.
        XCTAssertEqual(try LlamaModel.load(TestPaths.fixtures.appendingPathComponent("decoder/tiny_llama")).weights.layers[0].query.floats,
                       model.weights.layers[0].query.floats)
    }
}
