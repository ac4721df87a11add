import Foundation
import Model
import XCTest

/// The command-line tool on model folders and flags that are consistent enough to parse but ask
/// for something the kernels cannot do: each is refused with exit 2 and a sentence naming the
/// input, before any buffer is sized (the release build has no bounds checks to catch it later).
final class HostileModelTests: XCTestCase {
    /// A tiny random BERT (vocabulary 50, hidden 8, 2 layers, 32 positions) in Hugging Face's files,
    /// with `edit` applied to config.json's fields and the weights.
    private func tinyModel(config edit: [String: Any] = [:],
                           weights: (inout [(name: String, shape: [Int], values: [Float])]) -> Void = { _ in }) throws -> URL {
        let folder = try CommandLineTool.temporaryDirectory().appendingPathComponent("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = BertConfig.tiny()
        var fields: [String: Any] = [
            "model_type": "bert", "vocab_size": config.vocabSize, "hidden_size": config.hiddenSize,
            "num_hidden_layers": config.numHiddenLayers, "num_attention_heads": config.numAttentionHeads,
            "intermediate_size": config.intermediateSize, "max_position_embeddings": config.maxPositionEmbeddings,
        ]
        fields.merge(edit) { $1 }
        try JSONSerialization.data(withJSONObject: fields).write(to: folder.appendingPathComponent("config.json"))
        var tensors = EncoderParameters.random(config: config, seed: 5).namedTensors()
        let C = config.hiddenSize
        tensors.append(("pooler.dense.weight", [C, C], [Float](repeating: 0.01, count: C * C)))
        tensors.append(("pooler.dense.bias", [C], [Float](repeating: 0, count: C)))
        weights(&tensors)
        try SafeTensorsWriter.write(tensors, to: folder.appendingPathComponent("model.safetensors"))
        return folder
    }

    private func assertBadInput(_ arguments: [String], says fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try CommandLineTool.run(arguments)
        XCTAssertEqual(run.status, 2, run.stdout + run.stderr, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(run.stderr.contains(fragment), "\"\(run.stderr)\" should say \(fragment)", file: file, line: line)
        }
    }

    /// The benchmarks draw token ids from [1000, V): a vocabulary under 1,000 divided by zero.
    func testBenchmarksRunOnAVocabularySmallerThanAThousand() throws {
        let model = try tinyModel().path
        for arguments in [["bench", "inference", "--seq", "16", "--batch", "2", "--iterations", "1"],
                          ["bench", "train", "--method", "full", "--seq", "12", "--batch", "2", "--iterations", "1"],
                          ["bench", "train", "--method", "prompt", "--seq", "12", "--batch", "2", "--iterations", "1"]] {
            let run = try CommandLineTool.run(arguments + ["--model", model, "--json"])
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertTrue(run.stdout.contains("\"examples_per_s\""), run.stdout)
        }
    }

    func testSequencesLongerThanThePositionTableAreRefused() throws {
        let model = try tinyModel().path
        try assertBadInput(["bench", "inference", "--model", model, "--seq", "33"],
                           says: ["--batch/--seq: 33 tokens exceed the model's 32 positions (max_position_embeddings)"])
        try assertBadInput(["bench", "train", "--model", model, "--seq", "33"],
                           says: ["33 tokens exceed the model's 32 positions"])
        // Prompt tuning puts 20 virtual tokens in front.
        try assertBadInput(["bench", "train", "--model", model, "--method", "prompt", "--seq", "13"],
                           says: ["13 tokens plus 20 virtual tokens exceed the model's 32 positions"])
    }

    func testBatchesTheMachineCannotHoldAreRefusedWithTheirBytes() throws {
        let model = try tinyModel(config: ["max_position_embeddings": 512]) { tensors in
            let index = tensors.firstIndex { $0.name == "embeddings.position_embeddings.weight" }!
            tensors[index] = (tensors[index].name, [512, 8], [Float](repeating: 0.01, count: 512 * 8))
        }.path
        try assertBadInput(["bench", "inference", "--model", model, "--seq", "512", "--batch", "100000000"],
                           says: ["--batch/--seq: inference on batch 100000000 × seq 512 needs at least", "TiB; this machine has"])
        try assertBadInput(["bench", "train", "--model", model, "--seq", "512", "--batch", "10000000"],
                           says: ["training (lora) on batch 10000000 × seq 512 needs at least"])
    }

    func testAConfigDescribingTerabytesIsRefusedBeforeAllocating() throws {
        let model = try tinyModel(config: ["num_hidden_layers": 1_000_000_000])
        try assertBadInput(["bench", "inference", "--model", model.path],
                           says: ["model.safetensors: loading the", "parameters config.json describes needs at least", "TiB; this machine has"])
    }

    func testNonFiniteWeightsAreNamedAtLoad() throws {
        let model = try tinyModel { tensors in
            let index = tensors.firstIndex { $0.name == "encoder.layer.0.output.dense.weight" }!
            tensors[index].values[3] = .nan
        }
        try assertBadInput(["bench", "inference", "--model", model.path],
                           says: ["tensor \"encoder.layer.0.output.dense.weight\" holds a non-finite value (nan) at index [0, 3]"])
    }

    func testAFolderWhereTheWeightsFileShouldBeIsNamed() throws {
        let model = try tinyModel()
        let weights = model.appendingPathComponent("model.safetensors")
        try FileManager.default.removeItem(at: weights)
        try FileManager.default.createDirectory(at: weights, withIntermediateDirectories: true)
        try assertBadInput(["bench", "inference", "--model", model.path],
                           says: ["\(weights.path): cannot read the file: is a folder, not a file"])
    }
}
