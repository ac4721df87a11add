import Foundation
@testable import Suites
import XCTest

/// Each class of mistake gives one exact message naming the file, the line and the field.
final class SuiteErrorTests: XCTestCase {
    /// Lines 1–10 of a valid suite; tests append or replace lines.
    static let header = """
    name: t
    model: {path: m}
    task:
      train: a.jsonl
      validation: b.jsonl
      test: c.jsonl
      labels: [neg, pos]
    candidates:
      - {name: full, method: full}
      - {name: prompt, method: prompt}
    """

    func message(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        expectSuiteError({ () throws(SuiteError) in try SuiteSpec.parse(yaml: yaml, path: "suites/x.yaml") }, file: file, line: line)?
            .description
    }

    func testHeaderIsValid() throws {
        XCTAssertEqual(try SuiteSpec.parse(yaml: Self.header, path: "suites/x.yaml").candidates.count, 2)
    }

    func testUnknownKeyWithSuggestion() {
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "  labels:", with: "  lables:")),
                       "suites/x.yaml:7: task.lables: unknown key; did you mean \"labels\"?")
        XCTAssertEqual(message(Self.header + "\ntraining: {epochs: 2, batchsize: 8}"),
                       "suites/x.yaml:11: training.batchsize: unknown key; did you mean \"batch_size\"?")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "model:", with: "modle:")),
                       "suites/x.yaml:2: modle: unknown key; did you mean \"model\"?")
    }

    func testUnknownKeyWithoutSuggestion() {
        XCTAssertEqual(message(Self.header + "\ncolour: red"),
                       "suites/x.yaml:11: colour: unknown key; expected one of name, description, seed, model, task, retention, training, candidates, checks, baseline, comparison, calibration")
    }

    func testWrongType() {
        let yaml = Self.header + """

          - name: lora
            method: lora
            rank: eight
        """
        XCTAssertEqual(message(yaml), "suites/x.yaml:13: candidates[2].rank: expected a positive integer, got \"eight\"")
        XCTAssertEqual(message(Self.header + "\n  - {name: lora, method: lora, rank: 0}"),
                       "suites/x.yaml:11: candidates[2].rank: expected a positive integer, got 0")
        XCTAssertEqual(message(Self.header + "\nseed: -1"),
                       "suites/x.yaml:11: seed: expected a non-negative integer below 2^64, got -1")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "{path: m}", with: "{path: m, max_length: 2000000}")),
                       "suites/x.yaml:2: model.max_length: expected an integer from 2 to 1048576, got 2000000")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "labels: [neg, pos]", with: "labels: neg")),
                       "suites/x.yaml:7: task.labels: expected a list of at least 2 distinct class names, or a mapping from the data's values to names, got \"neg\"")
        XCTAssertEqual(message(Self.header + "\ntraining: {learning_rate: fast}"),
                       "suites/x.yaml:11: training.learning_rate: expected a positive number, got \"fast\"")
        XCTAssertEqual(message(Self.header + "\ntraining: {dropout: 0.1}"),
                       "suites/x.yaml:11: training.dropout: expected a mapping with hidden, attention and classifier, got 0.1")
        XCTAssertEqual(message(Self.header + "\ntraining: {schedule: cosin}"),
                       "suites/x.yaml:11: training.schedule: expected one of linear, cosine, constant, got \"cosin\"; did you mean \"cosine\"?")
        XCTAssertEqual(message(Self.header + "\ntraining:\n  warmup_ratio: 1.5"),
                       "suites/x.yaml:12: training.warmup_ratio: expected a number from 0 up to (not including) 1, got 1.5")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "{name: full, method: full}", with: "{name: full, method: full, freeze_embeddings: maybe}")),
                       "suites/x.yaml:9: candidates[0].freeze_embeddings: expected true or false, got \"maybe\"")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "name: t", with: "name: my suite")),
                       "suites/x.yaml:1: name: expected a name of letters, digits, '.', '_' or '-', got \"my suite\"")
    }

    func testMissingRequiredField() {
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "  labels: [neg, pos]\n", with: "")),
                       "suites/x.yaml:3: task.labels: required field missing; expected a list of at least 2 distinct class names, or a mapping from the data's values to names")
        let noCandidates = Self.header.components(separatedBy: "\n").prefix(7).joined(separator: "\n")
        XCTAssertEqual(message(noCandidates), "suites/x.yaml:1: candidates: required field missing; expected a list of candidates")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "{path: m}", with: "{max_length: 64}")),
                       "suites/x.yaml:2: model.path: required field missing; expected the model folder (Hugging Face layout)")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "{name: full, method: full}", with: "{name: full}")),
                       "suites/x.yaml:9: candidates[0].method: required field missing; expected one of full, lora, qlora, prompt, base")
        // A key with no value is missing too.
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "train: a.jsonl", with: "train:")),
                       "suites/x.yaml:4: task.train: expected a .jsonl, .csv or .tsv file (or data: one file to split), got nothing")
    }

    func testDuplicateCandidateName() {
        XCTAssertEqual(message(Self.header + "\n  - {name: full, method: lora}"),
                       "suites/x.yaml:11: candidates[2].name: duplicate candidate name \"full\" (first used on line 9)")
    }

    /// Per-class metrics name a class of the task's labels, with a did-you-mean for a typo.
    func testPerClassCheckMetrics() throws {
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: \"recall[post]\", min: 0.7}"),
                       "suites/x.yaml:12: checks[0].metric: no class \"post\" in the task's labels; did you mean \"pos\"? (labels: neg, pos)")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: \"accuracy[pos]\", min: 0.7}"),
                       "suites/x.yaml:12: checks[0].metric: accuracy is not a per-class metric; per class there are precision[<label>], recall[<label>] and f1[<label>]")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - metric: recal[pos]\n    min: 0.7")?.contains("did you mean \"recall[pos]\"?"), true, "block style needs no quotes")
        let spec = try SuiteSpec.parse(yaml: Self.header + "\nchecks:\n  - {metric: \"recall[pos]\", min: 0.7, bound: ci_low}\n  - {metric: \"f1[neg]\", non_inferior_to: baseline, margin: 0.05}",
                                       path: "suites/x.yaml")
        XCTAssertEqual(spec.checks.map(\.metric), ["recall[pos]", "f1[neg]"])
    }

    /// A fraction written as a percentage is refused with the fraction it probably meant.
    func testPercentagesForFractionsAreRefused() {
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy, min: 80}"),
                       "suites/x.yaml:12: checks[0].min: accuracy is a fraction from 0 to 1, and min 80 is outside it; did you mean 0.8?")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: \"recall[pos]\", non_inferior_to: baseline, margin: 4}"),
                       "suites/x.yaml:12: checks[0].margin: recall[pos] is a fraction from 0 to 1, so a margin of 4 tolerates any loss; did you mean 0.04?")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: ece, max: -0.5}"),
                       "suites/x.yaml:12: checks[0].max: ece is a fraction from 0 to 1, and max -0.5 is outside it")
        XCTAssertNoThrow(try SuiteSpec.parse(yaml: Self.header + "\nchecks:\n  - {metric: log_loss, max: 2.5}\n  - {metric: training.seconds, max: 600}",
                                             path: "suites/x.yaml"))
    }

    func testUnknownCheckMetric() {
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: acuracy, min: 0.7}"),
                       "suites/x.yaml:12: checks[0].metric: unknown metric \"acuracy\"; did you mean \"accuracy\"? (known: accuracy, precision_macro, recall_macro, f1_macro, log_loss, ece, overfitting.loss_gap, overfitting.accuracy_gap, training.examples_per_s, training.seconds, training.peak_rss_bytes, precision[<label>], recall[<label>], f1[<label>], forgetting.<retention check>.<absolute_drop | relative_drop | candidate>)")
        let retention = "\nretention:\n  similarity:\n    - {name: lee, path: lee.jsonl}\nchecks:\n"
        XCTAssertEqual(message(Self.header + retention + "  - {metric: forgetting.similarity:leee.absolute_drop, max: 0.1}"),
                       "suites/x.yaml:15: checks[0].metric: no retention check named \"similarity:leee\"; did you mean \"similarity:lee\"? (defined: similarity:lee)")
        XCTAssertEqual(message(Self.header + retention + "  - {metric: forgetting.similarity:lee.drop, max: 0.1}"),
                       "suites/x.yaml:15: checks[0].metric: unknown metric \"forgetting.similarity:lee.drop\"; forgetting metrics are forgetting.<similarity:NAME | probe:NAME | lm:NAME>.<absolute_drop | relative_drop | candidate>")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: forgetting.probe:wordnet.absolute_drop, max: 0.1}"),
                       "suites/x.yaml:12: checks[0].metric: no retention check named \"probe:wordnet\" (the suite defines no retention checks)")
    }

    func testCheckNamingUnknownCandidate() {
        XCTAssertEqual(message(Self.header + "\n  - {name: lora, method: lora}\nchecks:\n  - {metric: accuracy, min: 0.7, candidates: [full, lorra]}"),
                       "suites/x.yaml:13: checks[0].candidates[1]: no candidate named \"lorra\"; did you mean \"lora\"? (candidates: full, prompt, lora)")
    }

    func testBadMethod() {
        XCTAssertEqual(message(Self.header + "\n  - {name: lora, method: lorra}"),
                       "suites/x.yaml:11: candidates[2].method: expected one of full, lora, qlora, prompt, base, got \"lorra\"; did you mean \"lora\"?")
        XCTAssertEqual(message(Self.header + "\n  - {name: adapter, method: adapter}"),
                       "suites/x.yaml:11: candidates[2].method: expected one of full, lora, qlora, prompt, base, got \"adapter\"")
    }

    func testInitTextMissing() {
        let yaml = Self.header + """

          - name: prompt-text
            method: prompt
            init: text
        """
        XCTAssertEqual(message(yaml),
                       "suites/x.yaml:13: candidates[2].init_text: required when init is text; expected the text whose token embeddings start the prompt")
        XCTAssertEqual(message(Self.header + "\n  - {name: p2, method: prompt, init_text: hello}"),
                       "suites/x.yaml:11: candidates[2].init_text: only used with init: text (init is vocab)")
    }

    func testMethodOptionOnWrongMethod() {
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "{name: full, method: full}", with: "{name: full, method: full, rank: 8}")),
                       "suites/x.yaml:9: candidates[0].rank: only used with method lora or qlora (this candidate's method is full)")
        XCTAssertEqual(message(Self.header + "\n  - {name: lora, method: lora, double_quantization: true}"),
                       "suites/x.yaml:11: candidates[2].double_quantization: only used with method qlora (this candidate's method is lora)")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "{name: prompt, method: prompt}", with: "{name: prompt, method: prompt, dropout: 0.1}")),
                       "suites/x.yaml:10: candidates[1].dropout: a number is the LoRA dropout, only used with method lora or qlora; to override the training dropouts write a mapping with hidden, attention, classifier")
        XCTAssertEqual(message(Self.header + "\n  - {name: lora, method: lora, target_modules: [query, vaule]}"),
                       "suites/x.yaml:11: candidates[2].target_modules[1]: unknown module \"vaule\"; expected query, key, value, attention.output.dense, intermediate.dense, output.dense (an encoder), q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (a decoder) or all-linear; did you mean \"value\"?")
        XCTAssertEqual(message(Self.header + "\n  - {name: lora, method: lora, target_modules: [all-linear, query]}"),
                       "suites/x.yaml:11: candidates[2].target_modules[0]: all-linear stands alone; it already names every linear layer")
    }

    /// Names become folder names: "." and ".." would be the output folder itself or its parent.
    func testDotNamesAreRejected() {
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "name: full", with: "name: ..")),
                       "suites/x.yaml:9: candidates[0].name: \"..\" is not a usable name: names become folder names, and dots alone name a folder's self or parent")
        XCTAssertNotNil(message(Self.header.replacingOccurrences(of: "name: t\n", with: "name: .\n")))
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "name: full", with: "name: .lora")),
                       "suites/x.yaml:9: candidates[0].name: \".lora\" is not a usable name: names become folder names and may not start with '.' (hidden folders hold evalharness's partial outputs)")
        XCTAssertNoThrow(try SuiteSpec.parse(yaml: Self.header.replacingOccurrences(of: "name: full", with: "name: full.v2"), path: "suites/x.yaml"))
    }

    /// An alias bomb in key position is refused before the YAML library expands it (it would take
    /// minutes: were it reached, this test would hang rather than fail); aliases as values still work.
    func testAliasKeysAreRefusedQuickly() {
        var bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...8 { bomb += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        XCTAssertEqual(message(bomb + "? *a8\n: boom\n"),
                       "suites/x.yaml:10: a YAML alias (*name) is used as a mapping key; suites do not allow alias keys (they can expand without bound)")
        XCTAssertEqual(message(bomb + "*a8 : boom\n"),
                       "suites/x.yaml:10: a YAML alias (*name) is used as a mapping key; suites do not allow alias keys (they can expand without bound)")
        let many = (0..<1_001).map { "k\($0): *a" }.joined(separator: "\n")
        XCTAssertEqual(message("a: &a 1\n" + many), "suites/x.yaml:1002: uses more than 1000 YAML aliases (*name); write the values out or use fewer")
        // Values that merely contain '*' or quote it are not aliases; an alias as a value is fine.
        let withAlias = Self.header.replacingOccurrences(of: "name: t\n", with: "name: t\ndescription: &d \"a *b: c\"\n")
            + "\nbaseline: *d\n"
        XCTAssertEqual(try SuiteSpec.parse(yaml: withAlias, path: "suites/x.yaml").baseline, "a *b: c")
    }

    func testCheckShapes() {
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy}"),
                       "suites/x.yaml:12: checks[0]: expected one of min, max or non_inferior_to")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy, min: 0.5, max: 0.9}"),
                       "suites/x.yaml:12: checks[0]: give only one of min, max or non_inferior_to (got min and max); write one check for each")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy, non_inferior_to: prompt}"),
                       "suites/x.yaml:12: checks[0].margin: required field missing; expected the largest tolerated loss, a non-negative number")
        // A baseline check needs no `baseline:` key: `--baseline` may supply the run, and without one it is skipped.
        XCTAssertEqual(try SuiteSpec.parse(yaml: Self.header + "\nchecks:\n  - {metric: accuracy, non_inferior_to: baseline, margin: 0.01}",
                                           path: "suites/x.yaml").checks.count, 1)
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy, non_inferior_to: prompt, margin: 0.01, candidates: [prompt]}"),
                       "suites/x.yaml:12: checks[0].candidates[0]: \"prompt\" is the prompt reference itself; it cannot be non-inferior to itself")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: training.seconds, max: 60, bound: ci_high}"),
                       "suites/x.yaml:12: checks[0].bound: training.seconds has no confidence interval; ci_low and ci_high apply to accuracy, precision_macro, recall_macro, f1_macro, log_loss, ece and the per-class precision[<label>], recall[<label>], f1[<label>] (and roc_auc, pr_auc with positive_label)")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy, non_inferior_to: prompt, margin: 0.01, bound: ci_low}"),
                       "suites/x.yaml:12: checks[0].bound: not used with non_inferior_to (the decision uses the paired-bootstrap interval of the difference)")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy, non_inferior_to: promt, margin: 0.01}"),
                       "suites/x.yaml:12: checks[0].non_inferior_to: expected one of prompt, baseline, got \"promt\"; did you mean \"prompt\"?")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy, non_inferior_to: prompt, margin: -0.01}"),
                       "suites/x.yaml:12: checks[0].margin: expected a non-negative number, got -0.01")
        XCTAssertEqual(message(Self.header + "\nchecks:\n  - {metric: accuracy, min: 0.5, margin: 0.1}"),
                       "suites/x.yaml:12: checks[0].margin: only used with non_inferior_to")
        let noPrompt = Self.header.replacingOccurrences(of: "  - {name: prompt, method: prompt}", with: "  - {name: lora, method: lora}")
        XCTAssertEqual(message(noPrompt + "\nchecks:\n  - {metric: accuracy, non_inferior_to: prompt, margin: 0.01}"),
                       "suites/x.yaml:12: checks[0].non_inferior_to: needs a candidate with method: prompt; the suite has none")
        XCTAssertEqual(message(Self.header + "\n  - {name: prompt2, method: prompt}\nchecks:\n  - {metric: accuracy, non_inferior_to: prompt, margin: 0.01}"),
                       "suites/x.yaml:13: checks[0].non_inferior_to: is ambiguous: candidates prompt, prompt2 all use method prompt")
    }

    func testTaskMistakes() {
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "labels: [neg, pos]", with: "labels: [neg, pos, neg]")),
                       "suites/x.yaml:7: task.labels[2]: duplicate label \"neg\" (also class 0)")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "labels: [neg, pos]", with: "labels: [neg]")),
                       "suites/x.yaml:7: task.labels: expected at least 2 distinct class names, got 1")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "test: c.jsonl", with: "test: c.txt")),
                       "suites/x.yaml:6: task.test: cannot tell the format of \"c.txt\" from its extension; use .jsonl, .csv or .tsv, or set format: jsonl | csv | tsv")
        let explicit = try? SuiteSpec.parse(yaml: Self.header.replacingOccurrences(of: "test: c.jsonl", with: "test: c.txt\n  format: tsv"),
                                            path: "suites/x.yaml")
        XCTAssertEqual(explicit?.task.test, DataFile(path: "c.txt", format: .tsv))
        XCTAssertEqual(explicit?.task.train, DataFile(path: "a.jsonl", format: .tsv))
        XCTAssertEqual(message(Self.header + "\nretention:\n  similarity:\n    - {name: a.b, path: x.jsonl}"),
                       "suites/x.yaml:13: retention.similarity[0].name: expected a name of letters, digits, '_' or '-', got \"a.b\"")
        XCTAssertEqual(message(Self.header + "\nretention:\n  similarity:\n    - {name: a, path: x.jsonl}\n    - {name: a, path: y.jsonl}"),
                       "suites/x.yaml:14: retention.similarity[1].name: duplicate similarity set name \"a\" (also retention.similarity[0])")
        XCTAssertEqual(message(Self.header.replacingOccurrences(of: "labels: [neg, pos]", with: "labels: [neg, pos]\n  limit: {train: 10, tests: 5}")),
                       "suites/x.yaml:8: task.limit.tests: unknown key; did you mean \"test\"?")
    }

    func testYAMLSyntaxErrors() {
        XCTAssertEqual(message(Self.header + "\nchecks: [accuracy"),
                       "suites/x.yaml:12: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence on line 11)")
        XCTAssertEqual(message(Self.header + "\nname: again"),
                       "suites/x.yaml:11: name: duplicate key \"name\" in one mapping (first on line 1)")
        XCTAssertEqual(message(Self.header + "\n\tseed: 3"),
                       "suites/x.yaml:11: invalid YAML: found character that cannot start any token (while scanning for the next token on line 11); indent with spaces, not tabs")
        XCTAssertEqual(message(Self.header + "\n  - {name: x, method: lora, <<: {rank: 2}}"),
                       "suites/x.yaml:11: candidates[2].<<: YAML merge keys are not supported; write the keys out (settings shared by every candidate belong under training:)")
        XCTAssertEqual(message(""), "suites/x.yaml:1: the file is empty; expected a mapping with name, model, task and candidates")
        XCTAssertEqual(message("- a\n- b"), "suites/x.yaml:1: expected a mapping with name, model, task and candidates, got a list")
        let invalid = expectSuiteError { () throws(SuiteError) in
            try SuiteSpec.parse(data: Data([0x6E, 0x3A, 0x20, 0x0A, 0x61, 0xFF]), path: "suites/x.yaml")
        }
        XCTAssertEqual(invalid?.description, "suites/x.yaml:2: is not valid UTF-8")
    }
}
