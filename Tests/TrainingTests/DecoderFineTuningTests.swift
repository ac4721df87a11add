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
        let tuning = try DecoderFullFineTuning(
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
}
