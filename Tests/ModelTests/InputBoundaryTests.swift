import Foundation
import Kernels
import Model
import XCTest

/// The validation boundary: sizes from files and flags are checked — with overflow checks and
/// against the machine's memory — before any buffer is sized or any kernel runs.
final class InputBoundaryTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("InputBoundaryTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: folder)
    }

    /// A tiny model's weights written in Hugging Face's names, optionally edited first.
    private func weightsFile(_ config: BertConfig, edit: (inout [(name: String, shape: [Int], values: [Float])]) -> Void = { _ in }) throws -> SafeTensorsFile {
        var tensors = EncoderParameters.random(config: config, seed: 3).namedTensors()
        edit(&tensors)
        let url = folder.appendingPathComponent("model-\(UUID().uuidString).safetensors")
        try SafeTensorsWriter.write(tensors, to: url)
        return try SafeTensorsFile(contentsOf: url)
    }

    private func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testCheckedCountBecomesNilOnOverflowAndStaysNil() {
        XCTAssertEqual(CheckedCount.product(3, 4, 5).value, 60)
        XCTAssertEqual((CheckedCount(Int.max) + 1).value, nil)
        XCTAssertEqual((CheckedCount.product(1 << 32, 1 << 32) + 0).value, nil)
        XCTAssertEqual((CheckedCount.product(1 << 32, 1 << 32) * 0).value, nil, "an overflow is not undone by later steps")
        XCTAssertEqual((CheckedCount(Int.max) * 1).value, Int.max)
    }

    func testParameterCountMatchesTheLayoutAndOverflowIsDetected() {
        let tiny = BertConfig.tiny()
        XCTAssertEqual(EncoderParameterLayout.checkedCount(config: tiny).value, EncoderParameterLayout(config: tiny).totalCount)
        let huge = BertConfig(hiddenSize: 1 << 30, numHiddenLayers: Int(Int32.max), numAttentionHeads: 1)
        XCTAssertNil(EncoderParameterLayout.checkedCount(config: huge).value)
    }

    func testLoadingRoundTripsThroughHuggingFaceNames() throws {
        let config = BertConfig.tiny()
        let original = EncoderParameters.random(config: config, seed: 3)
        let loaded = try EncoderParameters.load(from: try weightsFile(config), config: config)
        XCTAssertEqual(loaded.storage.array, original.storage.array)
    }

    /// A config with a billion layers is refused by the bytes it would need, before the table of
    /// its tensors (sixteen billion entries) is even built.
    func testAConfigThatNeedsMoreMemoryThanTheMachineIsRefusedByItsBytes() throws {
        var config = BertConfig.tiny()
        let file = try weightsFile(config)
        config.numHiddenLayers = 1_000_000_000
        let text = message { _ = try EncoderParameters.load(from: file, config: config) }
        XCTAssertTrue(text.hasPrefix(file.url.path + ": loading the "), text)
        XCTAssertTrue(text.contains("parameters config.json describes needs at least") && text.contains("TiB; this machine has"), text)
    }

    /// A config that fits the machine but not the file names the first tensor the file lacks.
    func testAConfigThatDisagreesWithTheWeightsNamesTheMissingTensor() throws {
        var config = BertConfig.tiny()
        let file = try weightsFile(config)
        config.numHiddenLayers = 1000
        XCTAssertEqual(message { _ = try EncoderParameters.load(from: file, config: config) },
                       "\(file.url.path): tensor \"encoder.layer.2.attention.self.query.weight\" not found (also tried \"bert.encoder.layer.2.attention.self.query.weight\")")
    }

    func testTheBudgetIsTheMachinesMemoryUnlessGiven() throws {
        let config = BertConfig.tiny()
        XCTAssertEqual(MemoryBudget().availableBytes, ProcessInfo.processInfo.physicalMemory)
        let text = message { _ = try EncoderParameters.load(from: try weightsFile(config), config: config,
                                                             budget: MemoryBudget(availableBytes: 1000)) }
        XCTAssertTrue(text.contains("needs at least 7.4 KiB; this machine has 1000 bytes"), text)
    }

    func testNonFiniteWeightsAreRefusedByTensorAndIndex() throws {
        let config = BertConfig.tiny()
        for bad in [Float.nan, .infinity, -.infinity] {
            let file = try weightsFile(config) { tensors in
                let index = tensors.firstIndex { $0.name == "encoder.layer.1.intermediate.dense.weight" }!
                tensors[index].values[2 * 8 + 5] = bad  // row 2, column 5 of (16, 8)
            }
            XCTAssertEqual(message { _ = try EncoderParameters.load(from: file, config: config) },
                           "\(file.url.path): tensor \"encoder.layer.1.intermediate.dense.weight\" holds a non-finite value (\(bad)) at index [2, 5]; weights must be finite numbers")
        }
    }

    func testBatchShapesAreCheckedAgainstPositionsAnd32BitRows() {
        let config = BertConfig.tiny()  // 32 positions
        XCTAssertEqual(message { try config.checkBatchShape(batch: 4, tokens: 32, source: "--seq") }, "no error")
        XCTAssertEqual(message { try config.checkBatchShape(batch: 4, tokens: 33, source: "--seq") },
                       "--seq: 33 tokens exceed the model's 32 positions (max_position_embeddings)")
        XCTAssertEqual(message { try config.checkBatchShape(batch: 4, tokens: 20, virtualTokens: 20, source: "x.yaml: candidates.prompt") },
                       "x.yaml: candidates.prompt: 20 tokens plus 20 virtual tokens exceed the model's 32 positions (max_position_embeddings)")
        XCTAssertEqual(message { try config.checkBatchShape(batch: Int.max, tokens: 2, source: "--batch") },
                       "--batch: batch 9223372036854775807 × 2 tokens is more rows than a 32-bit matrix dimension holds (2147483647)")
        XCTAssertTrue(message { try config.checkBatchShape(batch: 0, tokens: 2, source: "--batch") }.contains("at least one sequence"))
    }

    func testAHugeBatchIsRefusedWithTheBytesItNeeds() {
        let miniLM = BertConfig(vocabSize: 30522, hiddenSize: 384, numHiddenLayers: 6, numAttentionHeads: 12,
                                intermediateSize: 1536, maxPositionEmbeddings: 512)
        let budget = MemoryBudget(availableBytes: 24 << 30)
        let fits = MemoryBudget.encoderBytes(config: miniLM, batch: 32, tokens: 128, training: true)
        XCTAssertEqual(message { try budget.require(fits, for: "training", source: "--batch") }, "no error")
        XCTAssertGreaterThan(fits.value!, EncoderParameterLayout.checkedCount(config: miniLM).value! * 4)
        let huge = MemoryBudget.encoderBytes(config: miniLM, batch: 100_000_000, tokens: 64, training: false)
        XCTAssertEqual(message { try budget.require(huge, for: "inference on batch 100000000 × seq 64", source: "--batch") },
                       "--batch: inference on batch 100000000 × seq 64 needs at least \(MemoryBudget.format(huge.value!)); this machine has 24.0 GiB")
        let overflowing = MemoryBudget.encoderBytes(config: miniLM, batch: Int.max / 2, tokens: 512, training: true)
        XCTAssertNil(overflowing.value)
        XCTAssertTrue(message { try budget.require(overflowing, for: "training", source: "--batch") }.contains("the size overflows"))
        // Full fine-tuning adds gradients and two AdamW moments for every weight.
        let lora = MemoryBudget.encoderBytes(config: miniLM, batch: 8, tokens: 64, training: true)
        let full = MemoryBudget.encoderBytes(config: miniLM, batch: 8, tokens: 64, training: true, trainsAllWeights: true)
        XCTAssertEqual(full.value! - lora.value!, 3 * 4 * EncoderParameterLayout.checkedCount(config: miniLM).value!)
    }

    func testByteCountsAreWrittenInBinaryUnits() {
        XCTAssertEqual(MemoryBudget.format(1000), "1000 bytes")
        XCTAssertEqual(MemoryBudget.format(1536), "1.5 KiB")
        XCTAssertEqual(MemoryBudget.format(UInt64(24) << 30), "24.0 GiB")
        XCTAssertEqual(MemoryBudget.format(Int.max), "8.0 EiB")
    }

    func testVocabularyMayBeSmallerThanTheEmbeddingTableButNotLarger() {
        let config = BertConfig.tiny()  // 50 rows
        XCTAssertEqual(message { try config.checkVocabulary(tokenCount: 50, file: "v.txt") }, "no error")
        XCTAssertEqual(message { try config.checkVocabulary(tokenCount: 40, file: "v.txt") }, "no error")
        XCTAssertEqual(message { try config.checkVocabulary(tokenCount: 51, file: "v.txt") },
                       "v.txt: vocabulary: has 51 tokens but the model's embedding table has 50 rows (config.json vocab_size); token ids would index past it")
    }

    func testModelFilesThatAreFoldersAreNamedAsSuch() throws {
        let directory = folder.appendingPathComponent("model.safetensors")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        XCTAssertEqual(message { _ = try SafeTensorsFile(contentsOf: directory) }, "\(directory.path): cannot read the file: is a folder, not a file")
        XCTAssertEqual(message { _ = try BertConfig.load(from: directory) }, "\(directory.path): cannot read the file: is a folder, not a file")
        let missing = folder.appendingPathComponent("config.json")
        XCTAssertEqual(message { _ = try BertConfig.load(from: missing) }, "\(missing.path): cannot read the file: no such file")
    }
}
