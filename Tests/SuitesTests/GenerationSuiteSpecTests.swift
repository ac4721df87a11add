import Foundation
@testable import Suites
import XCTest

/// `task.type: generation`: its keys, what it refuses (classes, classification metrics, an
/// encoder) with exact messages, and its data (answers as a string or a list).
final class GenerationSuiteSpecTests: XCTestCase {
    static let suite = """
    name: g
    model: {path: models/x.gguf}
    task:
      type: generation
      train: a.jsonl
      validation: b.jsonl
      test: c.jsonl
      answer_field: word
      max_new_tokens: 6
      prompt: "Define: {text}"
      chat: true
    candidates:
      - {name: zero-shot, method: base}
      - {name: lora, method: lora}
    checks:
      - {metric: exact_match, min: 0.2, bound: ci_low}
      - {metric: perplexity, max: 30}
      - {metric: token_f1, non_inferior_to: baseline, margin: 0.02}
    """

    func message(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        expectSuiteError({ () throws(SuiteError) in try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml") }, file: file, line: line)?
            .description
    }

    func testGenerationTaskParses() throws {
        let spec = try SuiteSpec.parse(yaml: Self.suite, path: "suites/x.yaml")
        XCTAssertEqual(spec.task.generation, GenerationSettings(answerField: "word", maxNewTokens: 6))
        XCTAssertEqual(spec.task.labels, [])
        XCTAssertTrue(spec.task.chat)
        XCTAssertEqual(spec.checks.map(\.metric), ["exact_match", "perplexity", "token_f1"])
        XCTAssertNoThrow(try spec.validate(for: .llamaDecoder))
        let defaults = try SuiteSpec.parse(yaml: Self.suite.replacingOccurrences(of: "  answer_field: word\n  max_new_tokens: 6\n", with: ""),
                                           path: "suites/x.yaml")
        XCTAssertEqual(defaults.task.generation, GenerationSettings(answerField: "answer", maxNewTokens: 32))
    }

    func testGenerationMistakes() throws {
        XCTAssertEqual(message(Self.suite.replacingOccurrences(of: "  chat: true\n", with: "  chat: true\n  labels: [a, b]\n")),
                       "suites/x.yaml:12: task.labels: a generation task has no classes: its records carry answers (answer_field); leave labels out")
        XCTAssertEqual(message(Self.suite.replacingOccurrences(of: "type: generation", with: "type: classification\n  labels: [a, b]")),
                       "suites/x.yaml:9: task.answer_field: only used with type: generation")
        XCTAssertEqual(message(Self.suite.replacingOccurrences(of: "type: generation", with: "type: summarization")),
                       "suites/x.yaml:4: task.type: expected one of classification, generation, got \"summarization\"")
        XCTAssertEqual(message(Self.suite.replacingOccurrences(of: "max_new_tokens: 6", with: "max_new_tokens: 0")),
                       "suites/x.yaml:9: task.max_new_tokens: expected an integer from 1 to 4096, got 0")
        XCTAssertEqual(message(Self.suite.replacingOccurrences(of: "metric: perplexity", with: "metric: accuracy")),
                       "suites/x.yaml:17: checks[1].metric: accuracy measures a classification; a generation task's test metrics are exact_match, token_f1, answer_loss, perplexity")
        XCTAssertEqual(message(Self.suite.replacingOccurrences(of: "metric: perplexity", with: "metric: perplexty")),
                       "suites/x.yaml:17: checks[1].metric: unknown metric \"perplexty\"; did you mean \"perplexity\"? (known: exact_match, token_f1, answer_loss, perplexity, overfitting.loss_gap, overfitting.accuracy_gap, training.examples_per_s, training.seconds, training.peak_rss_bytes, forgetting.<retention check>.<absolute_drop | relative_drop | candidate>)")
        XCTAssertEqual(message(Self.suite.replacingOccurrences(of: "min: 0.2, bound", with: "min: 20, bound")),
                       "suites/x.yaml:16: checks[0].min: exact_match is a fraction from 0 to 1, and min 20 is outside it; did you mean 0.2?")
        XCTAssertEqual(message(Self.suite.replacingOccurrences(of: "{metric: perplexity, max: 30}", with: "{metric: training.seconds, max: 30, bound: ci_high}")),
                       "suites/x.yaml:17: checks[1].bound: training.seconds has no confidence interval; ci_low and ci_high apply to exact_match, token_f1, answer_loss, perplexity")
        // An encoder classifies through a head: it cannot generate.
        let spec = try SuiteSpec.parse(yaml: Self.suite.replacingOccurrences(of: "  prompt: \"Define: {text}\"\n  chat: true\n", with: ""),
                                       path: "suites/x.yaml")
        XCTAssertEqual(expectSuiteError({ () throws(SuiteError) in try spec.validate(for: .bertEncoder) })?.description,
                       "suites/x.yaml:4: task.type: a generation task needs a decoder model (a GGUF file or a Llama folder) to generate answers; models/x.gguf is a BERT encoder, which classifies")
    }

    func testAnswersAreAStringOrAList() throws {
        let folder = try TemporaryDirectory()
        let good = try folder.write("good.jsonl", """
        {"id": "1", "text": "a large stream", "word": "river"}
        {"id": "2", "text": "a feline", "word": ["cat", "true cat"]}
        """)
        var task = TaskSpec(train: DataFile(good), validation: DataFile(good), test: DataFile(good), labels: [])
        task.generation = GenerationSettings(answerField: "word")
        let data = try TaskData.load(task)
        XCTAssertEqual(data.test.map(\.answers), [["river"], ["cat", "true cat"]])
        XCTAssertEqual(data.labels, [])
        XCTAssertEqual(data.splits.test, [2], "one count per split: a generation task has no classes")
        for (line, expected) in [
            (#"{"id": "1", "text": "t", "word": ""}"#, "empty answer"),
            (#"{"id": "1", "text": "t", "word": ["cat", ""]}"#, "answer 2 of the list is empty"),
            (#"{"id": "1", "text": "t", "word": 3}"#, "expected an answer (a string) or a list of accepted answers (strings), got a number"),
            (#"{"id": "1", "text": "t", "word": ["cat", 3]}"#, "expected an answer (a string) or a list of accepted answers (strings), got an array or object"),
            (#"{"id": "1", "text": "t", "answer": "cat"}"#, "missing; the record has keys answer, id, text"),
        ] {
            let bad = try folder.write("bad.jsonl", line + "\n")
            task.test = DataFile(bad)
            XCTAssertEqual(expectSuiteError({ () throws(SuiteError) in try TaskData.load(task) })?.description, "\(bad):1: word: \(expected)")
        }
    }
}
