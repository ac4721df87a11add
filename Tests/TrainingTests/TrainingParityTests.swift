import Adapters
import Foundation
import Kernels
import Model
import Training
import TestSupport
import XCTest

/// Parity with PyTorch + PEFT on the real all-MiniLM-L6-v2 with a classification head, from
/// Tests/Fixtures/training (scripts/fixtures/make_training_fixture.py; dropout off): the loss, the
/// gradients of selected tensors in every layer (relative error ≤ 1e-3) and the losses of 10
/// AdamW steps (≤ 1e-4 relative), for full fine-tuning, LoRA and prompt tuning.
final class TrainingParityTests: XCTestCase {
    nonisolated(unsafe) static var cachedBase: (EncoderParameters, SafeTensorsFile)?

    override func setUp() { Parallel.configure(threads: 2) }

    struct Fixture {
        let json: [String: Any]
        let batch: TokenBatch
        let labels: [Int32]
        func file(_ name: String) throws -> SafeTensorsFile {
            try SafeTensorsFile(contentsOf: TestPaths.fixtures.appendingPathComponent("training/\(name)"))
        }
        func testCase(_ name: String) -> [String: Any] { (json["cases"] as! [String: Any])[name] as! [String: Any] }
    }

    func loadFixture() throws -> Fixture {
        let json = try TestPaths.json("training/batch.json")
        let ids = (json["input_ids"] as! [Any]).map { ($0 as! [Any]).int32s }
        return Fixture(json: json, batch: TokenBatch(sequences: ids), labels: (json["labels"] as! [Any]).int32s)
    }

    func base() throws -> (EncoderParameters, SafeTensorsFile) {
        if let cached = Self.cachedBase { return cached }
        let directory = try TestPaths.realModel()
        let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        let parameters = try EncoderParameters.load(from: file, config: try BertConfig.load(from: directory.appendingPathComponent("config.json")))
        Self.cachedBase = (parameters, file)
        return (parameters, file)
    }

    /// A head with the checkpoint's pooler and the fixture's classifier.
    func head(_ fixture: Fixture, file: SafeTensorsFile, config: BertConfig) throws -> ClassificationHead {
        let head = try ClassificationHead.load(from: file, config: config, classCount: 2, seed: 0)
        let initial = try fixture.file("head_init.safetensors")
        head.classifierWeight.update(from: try initial.floats("classifier.weight"), count: 2 * config.hiddenSize)
        head.classifierBias.update(from: try initial.floats("classifier.bias"), count: 2)
        return head
    }

    func adamw(_ testCase: [String: Any]) -> AdamWSettings {
        let a = testCase["adamw"] as! [String: Any]
        let betas = (a["betas"] as! [Any]).floats
        return AdamWSettings(learningRate: Float((a["lr"] as! NSNumber).doubleValue), beta1: betas[0], beta2: betas[1],
                             epsilon: Float((a["eps"] as! NSNumber).doubleValue),
                             weightDecay: Float((a["weight_decay"] as! NSNumber).doubleValue))
    }

    /// max |ours − reference| / max |reference| over a tensor.
    func relativeError(_ ours: [Float], _ reference: [Float]) -> Double {
        precondition(ours.count == reference.count)
        let scale = reference.map { abs(Double($0)) }.max() ?? 0
        let worst = zip(ours, reference).map { abs(Double($0) - Double($1)) }.max() ?? 0
        return scale == 0 ? worst : worst / scale
    }

    /// Runs 10 AdamW steps on the fixture batch and compares each step's loss.
    func checkSteps(_ model: TrainableModel, _ fixture: Fixture, case name: String) {
        let testCase = fixture.testCase(name)
        let expected = (testCase["step_losses"] as! [Any]).map { ($0 as! NSNumber).doubleValue }
        let optimizer = AdamWOptimizer(tensors: model.trainable, settings: adamw(testCase))
        var worst = 0.0
        for (step, reference) in expected.enumerated() {
            optimizer.zeroGradients()
            let loss = model.lossAndGradients(fixture.batch, labels: fixture.labels, dropout: .off, classifierDropout: 0)
            worst = max(worst, abs(loss - reference) / abs(reference))
            XCTAssertLessThanOrEqual(abs(loss - reference) / abs(reference), 1e-4, "\(name) step \(step + 1): \(loss) vs \(reference)")
            optimizer.update()
        }
        print("\(name): 10 AdamW step losses, max relative error \(worst)")
    }

    func testFullFineTuningMatchesPyTorch() throws {
        let fixture = try loadFixture()
        let (baseParameters, file) = try base()
        let model = try TrainableModel(method: .full(freezeEmbeddings: false), base: baseParameters,
                                       head: try head(fixture, file: file, config: baseParameters.config), tokenizer: nil, seed: 0)
        let testCase = fixture.testCase("full")
        let loss = model.lossAndGradients(fixture.batch, labels: fixture.labels, dropout: .off, classifierDropout: 0)
        let expectedLoss = (testCase["loss"] as! NSNumber).doubleValue
        XCTAssertEqual(loss, expectedLoss, accuracy: 1e-5 * expectedLoss)

        // Gradients by Hugging Face name: the encoder's in the checkpoint's layout, then the head's.
        var ours: [String: (shape: [Int], values: [Float])] = [:]
        for tensor in EncoderParameters(layout: baseParameters.layout, storage: model.encoderGradients!.storage).namedTensors() {
            ours[tensor.name] = (tensor.shape, tensor.values)
        }
        let C = baseParameters.config.hiddenSize, head = model.headGradients.array
        ours["pooler.dense.weight"] = ([C, C], Array(head[0..<(C * C)]))
        ours["pooler.dense.bias"] = ([C], Array(head[(C * C)..<(C * C + C)]))
        ours["classifier.weight"] = ([2, C], Array(head[(C * C + C)..<(C * C + C + 2 * C)]))
        ours["classifier.bias"] = ([2], Array(head[(C * C + C + 2 * C)...]))

        let gradients = try fixture.file("full_grads.safetensors")
        let slices = testCase["grad_slices"] as! [String: [String: Any]]
        var worst = 0.0, worstName = ""
        for (name, slice) in slices {
            let reference = try gradients.floats(name)
            let (shape, values) = try XCTUnwrap(ours[name], "no gradient for \(name)")
            let selected: [Float]
            if let rows = slice["rows"] as? [Any] {
                let width = shape.dropFirst().reduce(1, *)
                selected = rows.int32s.flatMap { values[(Int($0) * width)..<(Int($0) * width + width)] }
            } else {
                selected = values
            }
            let error = relativeError(selected, reference)
            if error > worst { worst = error; worstName = name }
            XCTAssertLessThanOrEqual(error, 1e-3, name)
        }
        print("full: loss \(loss) vs \(expectedLoss); \(slices.count) gradient tensors, worst relative error \(worst) (\(worstName))")

        let fresh = try TrainableModel(method: .full(freezeEmbeddings: false), base: baseParameters,
                                       head: try self.head(fixture, file: file, config: baseParameters.config), tokenizer: nil, seed: 0)
        checkSteps(fresh, fixture, case: "full")
    }

    func makeLoRA(_ fixture: Fixture, base: EncoderParameters, file: SafeTensorsFile) throws -> TrainableModel {
        let configuration = try LoRAConfiguration(rank: 8, alpha: 16, dropout: 0, targets: base.config.linearSites.sites(.query, .value))
        let model = try TrainableModel(method: .lora(configuration), base: base,
                                       head: try head(fixture, file: file, config: base.config), tokenizer: nil, seed: 0)
        let initial = try fixture.file("lora_init.safetensors")
        let adapter = try XCTUnwrap(model.lora)
        for entry in adapter.peftLayout {
            let values = try initial.floats(entry.name, shape: entry.shape)
            (adapter.parameters.pointer + entry.offset).update(from: values, count: values.count)
        }
        return model
    }

    func testLoRAMatchesPEFT() throws {
        let fixture = try loadFixture()
        let (baseParameters, file) = try base()
        let model = try makeLoRA(fixture, base: baseParameters, file: file)
        let testCase = fixture.testCase("lora")
        let loss = model.lossAndGradients(fixture.batch, labels: fixture.labels, dropout: .off, classifierDropout: 0)
        let expectedLoss = (testCase["loss"] as! NSNumber).doubleValue
        XCTAssertEqual(loss, expectedLoss, accuracy: 1e-5 * expectedLoss)

        let gradients = try fixture.file("lora_grads.safetensors")
        let adapter = model.lora!
        var worst = 0.0
        for entry in adapter.peftLayout {
            let ours = Array(UnsafeBufferPointer(start: adapter.gradients.pointer + entry.offset, count: entry.shape.reduce(1, *)))
            let error = relativeError(ours, try gradients.floats(entry.name, shape: entry.shape))
            worst = max(worst, error)
            XCTAssertLessThanOrEqual(error, 1e-3, entry.name)
        }
        let C = baseParameters.config.hiddenSize
        let head = model.headGradients.array
        let classifier = Array(head[(C * C + C)..<(C * C + C + 2 * C)])
        XCTAssertLessThanOrEqual(relativeError(classifier, try gradients.floats("base_model.model.classifier.weight")), 1e-3)
        print("lora: loss \(loss) vs \(expectedLoss); worst LoRA gradient relative error \(worst)")

        checkSteps(try makeLoRA(fixture, base: baseParameters, file: file), fixture, case: "lora")
    }

    func makePrompt(_ fixture: Fixture, base: EncoderParameters, file: SafeTensorsFile) throws -> TrainableModel {
        let model = try TrainableModel(method: .prompt(try PromptTuningConfiguration(virtualTokens: 4, initialization: .randomVocabulary)), base: base,
                                       head: try head(fixture, file: file, config: base.config), tokenizer: nil, seed: 0)
        let initial = try fixture.file("prompt_init.safetensors").floats("prompt_embeddings")
        model.prompt!.parameters.pointer.update(from: initial, count: initial.count)
        return model
    }

    func testPromptTuningMatchesPEFT() throws {
        let fixture = try loadFixture()
        let (baseParameters, file) = try base()
        let model = try makePrompt(fixture, base: baseParameters, file: file)
        let testCase = fixture.testCase("prompt")
        let loss = model.lossAndGradients(fixture.batch, labels: fixture.labels, dropout: .off, classifierDropout: 0)
        let expectedLoss = (testCase["loss"] as! NSNumber).doubleValue
        XCTAssertEqual(loss, expectedLoss, accuracy: 1e-5 * expectedLoss)
        let gradients = try fixture.file("prompt_grads.safetensors")
        let error = relativeError(model.prompt!.gradients.array, try gradients.floats("prompt_embeddings"))
        XCTAssertLessThanOrEqual(error, 1e-3)
        print("prompt: loss \(loss) vs \(expectedLoss); prompt gradient relative error \(error)")
        checkSteps(try makePrompt(fixture, base: baseParameters, file: file), fixture, case: "prompt")
    }
}
