import Foundation
@testable import Suites
import XCTest

/// The suite keys of a decoder model (label scoring, language modelling, `method: base`) and what
/// each model family refuses, each with its exact message.
final class DecoderSuiteSpecTests: XCTestCase {
    static let decoder = """
    name: d
    model: {path: models/x.gguf}
    task:
      train: a.jsonl
      validation: b.jsonl
      test: c.jsonl
      labels: [negative, positive]
      prompt: "Review: {text}\\nSentiment:"
      verbalizers: {positive: " good"}
    retention:
      language_modeling:
        - {name: news, path: n.jsonl, text_field: body, limit: 50}
    candidates:
      - {name: zero-shot, method: base}
    checks:
      - {metric: forgetting.lm:news.absolute_drop, max: 0.1}
    """

    func message(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        expectSuiteError({ () throws(SuiteError) in try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml") }, file: file, line: line)?
            .description
    }

    func testDecoderKeysParse() throws {
        let spec = try SuiteSpec.parse(yaml: Self.decoder, path: "suites/x.yaml")
        XCTAssertEqual(spec.task.prompt, "Review: {text}\nSentiment:")
        // Unnamed classes keep the default verbaliser: a space and the class name.
        XCTAssertEqual(spec.task.verbalizers, [" negative", " good"])
        XCTAssertFalse(spec.task.chat)
        XCTAssertEqual(spec.retention.languageModeling, [TextSetSpec(name: "news", file: DataFile("n.jsonl"), textField: "body", limit: 50)])
        XCTAssertEqual(spec.retention.checkNames, ["lm:news"])
        let base = try XCTUnwrap(spec.candidate(named: "zero-shot"))
        XCTAssertEqual(base.method, .base)
        XCTAssertFalse(base.method.trains)
        XCTAssertEqual(base.training.seeds, 1)
        // Nothing it trains with is part of what it is: the config hash is its method alone.
        XCTAssertEqual(base.settings, ["method": "base"])
        XCTAssertEqual(spec.modelFamily, .llamaDecoder)
        XCTAssertNoThrow(try spec.validate(for: .llamaDecoder))
    }

    func testDecoderKeyMistakes() {
        XCTAssertEqual(message(Self.decoder.replacingOccurrences(of: "Review: {text}", with: "Review: {txt}")),
                       "suites/x.yaml:8: task.prompt: the prompt must contain {text}, where each example's text goes (e.g. \"Review: {text}\\nSentiment:\")")
        XCTAssertEqual(message(Self.decoder.replacingOccurrences(of: "{positive: \" good\"}", with: "{postive: \" good\"}")),
                       "suites/x.yaml:9: task.verbalizers.postive: no class \"postive\" in the task's labels; did you mean \"positive\"? (labels: negative, positive)")
        XCTAssertEqual(message(Self.decoder.replacingOccurrences(of: "{positive: \" good\"}", with: "{positive: \" negative\"}")),
                       "suites/x.yaml:9: task.verbalizers: \"positive\" and \"negative\" share the verbaliser \" negative\"; each class needs its own")
        XCTAssertEqual(message(Self.decoder.replacingOccurrences(of: "{positive: \" good\"}", with: "[\" bad\", \" good\"]")),
                       "suites/x.yaml:9: task.verbalizers: expected a mapping from each label to its continuation, e.g. {negative: \" negative\", positive: \" positive\"}, got a list")
        XCTAssertEqual(message(Self.decoder.replacingOccurrences(of: "method: base}", with: "method: base, learning_rate: 0.1}")),
                       "suites/x.yaml:14: candidates[0].learning_rate: method base trains nothing (the model answers zero-shot); it takes only name and method")
        XCTAssertEqual(message(Self.decoder.replacingOccurrences(of: "lm:news", with: "lm:nwes")),
                       "suites/x.yaml:16: checks[0].metric: no retention check named \"lm:nwes\"; did you mean \"lm:news\"? (defined: lm:news)")
    }

    /// Each family refuses what only the other can do, naming the suite line.
    func testFamiliesRefuseWhatTheyCannotDo() throws {
        func refusal(_ yaml: String, _ family: ModelFamily) throws -> String? {
            let spec = try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml")
            return expectSuiteError({ () throws(SuiteError) in try spec.validate(for: family) })?.description
        }
        XCTAssertEqual(try refusal(Self.decoder, .bertEncoder),
                       "suites/x.yaml:8: task.prompt: only used with a decoder model (a GGUF file or a Llama folder); models/x.gguf is a BERT encoder, which classifies through a trained head")
        let encoderish = Self.decoder.replacingOccurrences(of: "  prompt: \"Review: {text}\\nSentiment:\"\n", with: "")
            .replacingOccurrences(of: "  verbalizers: {positive: \" good\"}\n", with: "")
        XCTAssertEqual(try refusal(encoderish, .bertEncoder),
                       "suites/x.yaml:9: retention.language_modeling: needs a decoder model (a causal language model); models/x.gguf is a BERT encoder: use retention.similarity or retention.probes")
        // Every method runs on a decoder; QLoRA's base is NF4 or, from a GGUF file, the file's own blocks.
        for method in ["{name: soft, method: prompt, init: text, init_text: Classify}", "{name: q, method: qlora, double_quantization: true}",
                       "{name: q, method: qlora, quantization: gguf}", "{name: full, method: full}"] {
            let yaml = Self.decoder.replacingOccurrences(of: "{name: zero-shot, method: base}", with: method)
            XCTAssertNoThrow(try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml").validate(for: .llamaDecoder), method)
        }
        let qlora = Self.decoder.replacingOccurrences(of: "{name: zero-shot, method: base}", with: "{name: q, method: qlora, quantization: gguf}")
        XCTAssertEqual(try SuiteSpec.parse(yaml: qlora, path: "suites/x.yaml").candidates[0].settings["quantization"], "gguf")
        XCTAssertEqual(try refusal(qlora.replacingOccurrences(of: "models/x.gguf", with: "models/llama-folder"), .llamaDecoder),
                       "suites/x.yaml:14: candidates[0].quantization: gguf trains over the blocks of a GGUF file; models/llama-folder is a folder of fp32 weights: use nf4")
        XCTAssertEqual(message(qlora.replacingOccurrences(of: "quantization: gguf}", with: "quantization: gguf, double_quantization: true}")),
                       "suites/x.yaml:14: candidates[0].double_quantization: quantises NF4 block scales; quantization gguf keeps the file's own blocks: leave it out")
        XCTAssertEqual(message(qlora.replacingOccurrences(of: "quantization: gguf", with: "quantization: q4")),
                       "suites/x.yaml:14: candidates[0].quantization: expected one of nf4, gguf, got \"q4\"")
        XCTAssertEqual(message(Self.decoder.replacingOccurrences(of: "{name: zero-shot, method: base}", with: "{name: l, method: lora, quantization: nf4}")),
                       "suites/x.yaml:14: candidates[0].quantization: only used with method qlora (this candidate's method is lora)")
        XCTAssertEqual(try refusal(qlora.replacingOccurrences(of: "  prompt: \"Review: {text}\\nSentiment:\"\n", with: "")
                                    .replacingOccurrences(of: "  verbalizers: {positive: \" good\"}\n", with: "")
                                    .replacingOccurrences(of: "  language_modeling:\n    - {name: news, path: n.jsonl, text_field: body, limit: 50}\n", with: "  probes: []\n")
                                    .replacingOccurrences(of: "checks:\n  - {metric: forgetting.lm:news.absolute_drop, max: 0.1}", with: ""), .bertEncoder),
                       "suites/x.yaml:11: candidates[0].quantization: chooses how a decoder's base is held; models/x.gguf is a BERT encoder, whose QLoRA base is always NF4")
        let lora = Self.decoder.replacingOccurrences(of: "{name: zero-shot, method: base}", with: "{name: lora, method: lora, target_modules: [q_proj, v_proj]}")
        XCTAssertNoThrow(try SuiteSpec.parse(yaml: lora, path: "suites/x.yaml").validate(for: .llamaDecoder))
        XCTAssertEqual(try refusal(lora.replacingOccurrences(of: "[q_proj, v_proj]", with: "[query, output.dense]"), .llamaDecoder),
                       "suites/x.yaml:14: candidates[0].target_modules: output.dense is an encoder's layer with no single counterpart in a Llama block; name the decoder's: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (query, key, value and attention.output.dense are taken as q_proj, k_proj, v_proj and o_proj)")
        XCTAssertNoThrow(try SuiteSpec.parse(yaml: lora.replacingOccurrences(of: "method: lora,", with: "method: lora, dropout: 0.1,"),
                                             path: "suites/x.yaml").validate(for: .llamaDecoder), "LoRA dropout trains on decoders too")
        let similarity = Self.decoder.replacingOccurrences(of: "  language_modeling:\n    - {name: news, path: n.jsonl, text_field: body, limit: 50}",
                                                           with: "  similarity:\n    - {name: news, path: n.jsonl}")
            .replacingOccurrences(of: "lm:news", with: "similarity:news")
        XCTAssertEqual(try refusal(similarity, .llamaDecoder),
                       "suites/x.yaml:11: retention.similarity: measures an encoder's sentence embeddings; models/x.gguf is a decoder: use retention.language_modeling (loss and perplexity on general text)")
        let baseOnEncoder = encoderish.replacingOccurrences(of: "  language_modeling:\n    - {name: news, path: n.jsonl, text_field: body, limit: 50}\n", with: "  probes: []\n")
            .replacingOccurrences(of: "checks:\n  - {metric: forgetting.lm:news.absolute_drop, max: 0.1}", with: "")
        XCTAssertEqual(try refusal(baseOnEncoder, .bertEncoder),
                       "suites/x.yaml:11: candidates[0].method: an encoder has no zero-shot answer (its classification head must be trained); method base needs a decoder model (a GGUF file or a Llama folder)")
    }

    func testZeroShotRetentionTasksParse() throws {
        let yaml = Self.decoder.replacingOccurrences(of: "    - {name: news, path: n.jsonl, text_field: body, limit: 50}\n", with: """
                - {name: news, path: n.jsonl, text_field: body, limit: 50}
              zero_shot:
                - name: topics
                  path: wordnet.jsonl
                  labels: {noun.person: person, noun.food: food}
                  prompt: "Definition: {text}\\nThis describes a kind of"
                  verbalizers: {food: " dish"}
                  limit: 40

            """).replacingOccurrences(of: "lm:news.absolute_drop", with: "zero_shot:topics.absolute_drop")
        let spec = try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml")
        XCTAssertEqual(spec.retention.zeroShot, [ZeroShotTaskSpec(
            name: "topics", file: DataFile("wordnet.jsonl"), labels: ["person", "food"], labelValues: ["noun.person", "noun.food"],
            prompt: "Definition: {text}\nThis describes a kind of", verbalizers: [" person", " dish"], limit: 40)])
        XCTAssertEqual(spec.retention.checkNames, ["lm:news", "zero_shot:topics"])
        XCTAssertNoThrow(try spec.validate(for: .llamaDecoder))
        var onEncoder = spec
        onEncoder.retention.languageModeling = []
        for key in ["task.prompt", "task.verbalizers"] { onEncoder.lines[key] = nil }
        XCTAssertEqual(expectSuiteError({ () throws(SuiteError) in try onEncoder.validate(for: .bertEncoder) })?.description,
                       "suites/x.yaml:13: retention.zero_shot: needs a decoder model (label scoring); models/x.gguf is a BERT encoder, which has no zero-shot answer: use retention.probes")
        XCTAssertEqual(message(yaml.replacingOccurrences(of: "Definition: {text}", with: "Definition:")),
                       "suites/x.yaml:17: retention.zero_shot[0].prompt: the prompt must contain {text}, where each example's text goes (e.g. \"Review: {text}\\nSentiment:\")")
        XCTAssertEqual(message(yaml.replacingOccurrences(of: "{food: \" dish\"}", with: "{meal: \" dish\"}")),
                       "suites/x.yaml:18: retention.zero_shot[0].verbalizers.meal: no class \"meal\" in the task's labels (labels: person, food)")
    }

    func testFamilyIsToldFromThePath() throws {
        XCTAssertEqual(ModelFamily.of(modelPath: "models/SmolLM2.Q4_1.GGUF"), .llamaDecoder)
        XCTAssertEqual(ModelFamily.of(modelPath: "models/missing-folder"), .bertEncoder)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("family-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"model_type": "bert"}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
        XCTAssertEqual(ModelFamily.of(modelPath: folder.path), .bertEncoder)
        try Data(#"{"model_type": "llama", "hidden_size": 64}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
        XCTAssertEqual(ModelFamily.of(modelPath: folder.path), .llamaDecoder)
        try Data("not json".utf8).write(to: folder.appendingPathComponent("config.json"))
        XCTAssertEqual(ModelFamily.of(modelPath: folder.path), .bertEncoder, "the encoder loader reports a broken config.json")
    }
}
