import Foundation
import Model
import XCTest

/// A decoder in a suite, as a user runs it: SmolLM2 answers movie-review sentiment zero-shot by
/// label scoring, with a language-modelling retention check; the numbers agree with the
/// `score` and `perplexity` commands, which take another path through the model.
final class DecoderSuiteRunTests: XCTestCase {
    static func suite(texts: String, checks: String) -> String {
        """
        name: decoder-tiny
        seed: 3
        model: {path: models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf, max_length: 96}
        task:
          train: data/vader/movie/train.jsonl
          validation: data/vader/movie/validation.jsonl
          test: data/vader/movie/test.jsonl
          labels: [negative, positive]
          positive_label: positive
          threshold: {optimize: f1}
          prompt: "Review: {text}\\nSentiment:"
          limit: {train: 10, validation: 16, test: 32}
        retention:
          language_modeling:
            - {name: news, path: \(texts)}
          zero_shot:
            - {name: same, path: data/vader/movie/test.jsonl, labels: [negative, positive], prompt: "Review: {text}\\nSentiment:", limit: 32}
        candidates:
          - {name: zero-shot, method: base}
        checks:
        \(checks)
        """
    }

    func testZeroShotSuiteAgreesWithScoreAndPerplexity() throws {
        let folder = try CommandLineTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let texts = folder.appendingPathComponent("news.jsonl")
        try """
        {"id": "a", "text": "The central bank left interest rates unchanged on Thursday, citing slower growth."}
        {"id": "b", "text": "Heavy rain flooded several streets in the old town overnight."}
        {"id": "c", "text": "The museum will reopen next spring after a two-year renovation."}
        """.write(to: texts, atomically: true, encoding: .utf8)
        let suite = folder.appendingPathComponent("suite.yaml")
        try Self.suite(texts: texts.path, checks: "  - {metric: accuracy, min: 0.5}\n  - {metric: forgetting.lm:news.absolute_drop, max: 0.0}")
            .write(to: suite, atomically: true, encoding: .utf8)
        let cache = folder.appendingPathComponent("cache").path
        let out = folder.appendingPathComponent("out")
        let run = try CommandLineTool.run(["compare", suite.path, "--out", out.path, "--cache", cache])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("zero-shot (base): evaluating (no training)"), run.stderr)

        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("results.json"))) as? [String: Any])
        let candidate = try XCTUnwrap((results["candidates"] as? [[String: Any]])?.first)
        XCTAssertEqual(candidate["method"] as? String, "base")
        XCTAssertEqual(candidate["trainable_parameters"] as? Int, 0)
        let seedRun = try XCTUnwrap((candidate["seed_runs"] as? [[String: Any]])?.first)
        let predictions = try XCTUnwrap(seedRun["predictions"] as? [[String: Any]])
        XCTAssertEqual(predictions.count, 32)
        let accuracy = Double(predictions.count { ($0["label"] as! Int) == ($0["predicted"] as! Int) }) / 32
        let metrics = try XCTUnwrap(candidate["metrics"] as? [String: Any])
        XCTAssertEqual((metrics["accuracy"] as? [String: Any])?["value"] as? Double, accuracy)
        XCTAssertGreaterThan(accuracy, 0.6, "SmolLM2 reads movie-review sentiment better than chance")

        // The first test example through `score`: one forward per continuation instead of one batched
        // forward per prompt, so the shares agree to rounding.
        let first = predictions[0]
        let testLines = try String(contentsOf: CommandLineTool.root.appendingPathComponent("data/vader/movie/test.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let text = try XCTUnwrap(testLines.first { ($0["id"] as? String) == (first["id"] as? String) }?["text"] as? String)
        let scored = try CommandLineTool.run(["score", "--prompt", "Review: \(text)\nSentiment:", "--continuation", " negative",
                                              "--continuation", " positive", "--json"])
        XCTAssertEqual(scored.status, 0, scored.stderr)
        let shares = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [[String: Any]]).map { $0["share"] as! Double }
        for (share, probability) in zip(shares, first["probabilities"] as! [Double]) {
            XCTAssertEqual(share, probability, accuracy: 1e-4)
        }

        // Retention: the base model's log-likelihood is minus the corpus loss `perplexity` reports;
        // a base candidate is the base model, so it forgets nothing.
        let forgetting = try XCTUnwrap((candidate["forgetting"] as? [[String: Any]])?.first)
        XCTAssertEqual(forgetting["name"] as? String, "lm:news")
        XCTAssertEqual(forgetting["measure"] as? String, "log_likelihood")
        let result = try XCTUnwrap(forgetting["result"] as? [String: Any])
        XCTAssertEqual(result["absolute_drop"] as? Double, 0)
        let perplexity = try CommandLineTool.run(["perplexity", texts.path, "--max-length", "128"])
        XCTAssertEqual(perplexity.status, 0, perplexity.stderr)
        let corpus = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(perplexity.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(result["base"] as? Double), -(corpus["loss"] as! Double), accuracy: 1e-9)
        // A zero-shot retention task on the task's own 32 test reviews, asked the same way: its base
        // accuracy is the share of the zero-shot row's predictions whose larger probability is the
        // true class (the task's own predictions use the F1-tuned threshold instead).
        let zeroShot = try XCTUnwrap((candidate["forgetting"] as? [[String: Any]])?.last)
        XCTAssertEqual(zeroShot["name"] as? String, "zero_shot:same")
        XCTAssertEqual(zeroShot["measure"] as? String, "accuracy")
        let argmaxAccuracy = Double(predictions.count { prediction in
            let probabilities = prediction["probabilities"] as! [Double]
            return (probabilities[1] > probabilities[0] ? 1 : 0) == prediction["label"] as! Int
        }) / 32
        XCTAssertEqual(try XCTUnwrap((zeroShot["result"] as? [String: Any])?["base"] as? Double), argmaxAccuracy, accuracy: 1e-12)
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("perplexity"), "the report states the language-modelling check as a perplexity too")

        // Unchanged suite, warm cache: nothing is scored again and the numbers are the same.
        let again = try CommandLineTool.run(["compare", suite.path, "--out", folder.appendingPathComponent("again").path, "--cache", cache])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("zero-shot: cached"), again.stderr)
        let rerun = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("again/results.json"))) as? [String: Any])
        XCTAssertEqual((rerun["candidates"] as? [[String: Any]])?.first?["metrics"] as? NSDictionary, metrics as NSDictionary)

        // A check the zero-shot model misses fails the gate; a check only an encoder has is refused.
        try Self.suite(texts: texts.path, checks: "  - {metric: accuracy, min: 0.99}").write(to: suite, atomically: true, encoding: .utf8)
        let failed = try CommandLineTool.run(["compare", suite.path, "--out", folder.appendingPathComponent("failed").path, "--cache", cache])
        XCTAssertEqual(failed.status, 1, failed.stderr)
        try Self.suite(texts: texts.path, checks: "  - {metric: accuracy, min: 0.5}")
            .replacingOccurrences(of: "  language_modeling:\n    - {name: news, path: \(texts.path)}",
                                  with: "  similarity:\n    - {name: lee, path: data/similarity/lee.jsonl}")
            .write(to: suite, atomically: true, encoding: .utf8)
        let refused = try CommandLineTool.run(["compare", suite.path, "--out", folder.appendingPathComponent("refused").path])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("retention.similarity: measures an encoder's sentence embeddings"), refused.stderr)
    }

    /// Every method on SmolLM2 in a suite — full fine-tuning, LoRA, QLoRA over NF4 and over the
    /// file's blocks, prompt tuning —: two steps on 16 completions each, then measured like the
    /// zero-shot row beside them; the zero-shot row is the untouched base model.
    func testFullFineTuningTrainsMeasuresAndIsCached() throws {
        let folder = try CommandLineTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let suite = folder.appendingPathComponent("suite.yaml")
        try """
        name: decoder-full
        seed: 5
        model: {path: models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf, max_length: 96}
        task:
          train: data/vader/movie/train.jsonl
          validation: data/vader/movie/validation.jsonl
          test: data/vader/movie/test.jsonl
          labels: [negative, positive]
          prompt: "Review: {text}\\nSentiment:"
          limit: {train: 16, validation: 8, test: 16}
        retention:
          language_modeling:
            - {name: nyt, path: data/vader/nyt/test.jsonl, limit: 8}
        training: {epochs: 1, batch_size: 8, learning_rate: 1e-5, warmup_ratio: 0}
        candidates:
          - {name: zero-shot, method: base}
          - {name: full, method: full}
          - {name: lora, method: lora, rank: 4, target_modules: [q_proj, v_proj], learning_rate: 1e-3}
          - {name: qlora, method: qlora, rank: 4, target_modules: [q_proj, v_proj], learning_rate: 1e-3}
          - {name: qlora-gguf, method: qlora, quantization: gguf, rank: 4, target_modules: [q_proj, v_proj], learning_rate: 1e-3}
          - {name: prompt, method: prompt, num_virtual_tokens: 8, init: text, init_text: "Is the review positive or negative?", learning_rate: 3e-2}
        """.write(to: suite, atomically: true, encoding: .utf8)
        let cache = folder.appendingPathComponent("cache").path
        let run = try CommandLineTool.run(["compare", suite.path, "--out", folder.appendingPathComponent("out").path, "--cache", cache])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(run.stderr.contains("warning"), run.stderr)
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("out/results.json"))) as? [String: Any])
        let candidates = try XCTUnwrap(results["candidates"] as? [[String: Any]])
        func drop(_ candidate: [String: Any]) -> Double? {
            ((candidate["forgetting"] as? [[String: Any]])?.first?["result"] as? [String: Any])?["absolute_drop"] as? Double
        }
        XCTAssertEqual(candidates.map { $0["status"] as? String }, ["ok", "ok", "ok", "ok", "ok", "ok"])
        // LoRA r 4 on q_proj (576 → 576) and v_proj (576 → 192) of 30 layers: 30 · (4·576 + 576·4 + 4·576 + 192·4).
        for lora in candidates[2...4] {
            XCTAssertEqual(lora["trainable_parameters"] as? Int, 230_400)
            XCTAssertNotEqual(drop(lora), 0, "trained adapters change the model")
        }
        // 8 virtual tokens of 576.
        XCTAssertEqual(candidates[5]["trainable_parameters"] as? Int, 4_608)
        XCTAssertNotEqual(drop(candidates[5]), 0, "the prompt comes before every text too")
        // The base each holds: every value in fp32 (LoRA); the 106,168,320 linear values in NF4 (half a byte
        // each + a float per 64) or in the file's Q4_1 (20 bytes per 32), beside the fp32 embedding (113,246,208
        // bytes) and norms (140,544).
        let bytes = candidates.map { $0["base_weight_bytes"] as? Int ?? 0 }
        XCTAssertEqual(bytes[2], 134_515_008 * 4)
        XCTAssertEqual(bytes[3], 106_168_320 * 9 / 16 + 113_246_208 + 140_544)
        XCTAssertEqual(bytes[4], 106_168_320 * 20 / 32 + 113_246_208 + 140_544)
        // Adapters are saved as PEFT CAUSAL_LM adapters (scripts/check_decoder_peft_roundtrip.py loads them in
        // transformers + peft), the fully fine-tuned model as a Llama folder.
        let adapters = folder.appendingPathComponent("out/adapters")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: adapters.path)), ["full", "lora", "qlora", "qlora-gguf", "prompt"])
        for (name, type) in [("lora", "LORA"), ("qlora", "LORA"), ("prompt", "PROMPT_TUNING")] {
            let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: adapters.appendingPathComponent("\(name)/adapter_config.json"))) as? [String: Any])
            XCTAssertEqual(config["peft_type"] as? String, type, name)
            XCTAssertEqual(config["task_type"] as? String, "CAUSAL_LM", name)
            let tensors = try SafeTensorsFile(contentsOf: adapters.appendingPathComponent("\(name)/adapter_model.safetensors")).entries
            XCTAssertEqual(tensors.count, name == "prompt" ? 1 : 4 * 30, name)
            // LoRA also as llama.cpp's adapter GGUF (scripts/check_decoder_llamacpp_lora.py loads it in llama.cpp).
            let gguf = adapters.appendingPathComponent("\(name)/adapter_model.gguf")
            XCTAssertEqual(FileManager.default.fileExists(atPath: gguf.path), name != "prompt", name)
            if name != "prompt" {
                let file = try GGUFFile(contentsOf: gguf)
                XCTAssertEqual(file.value("general.type"), .string("adapter"))
                XCTAssertEqual(file.tensors.count, 2 * 2 * 30, "A and B of q_proj and v_proj in 30 layers")
            }
        }
        let promptConfig = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: adapters.appendingPathComponent("prompt/adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(promptConfig["prompt_tuning_init"] as? String, "TEXT")
        XCTAssertEqual(promptConfig["num_virtual_tokens"] as? Int, 8)
        let full = candidates[1]
        XCTAssertEqual(full["trainable_parameters"] as? Int, 134_515_008)
        let training = try XCTUnwrap((full["seed_runs"] as? [[String: Any]])?.first?["training"] as? [String: Any])
        XCTAssertEqual(training["steps"] as? Int, 2)
        XCTAssertEqual(training["epochs_run"] as? Int, 1)
        XCTAssertEqual(drop(candidates[0]), 0, "the zero-shot row is the base model")
        XCTAssertNotEqual(drop(full), 0, "two steps on every weight move the language-modelling loss")
        XCTAssertNotNil((full["metrics"] as? [String: Any])?["accuracy"])
        // The saved Llama folder is the fine-tuned model: `score` reading it gives the full candidate's
        // probabilities for a test review.
        let prediction = try XCTUnwrap(((full["seed_runs"] as? [[String: Any]])?.first?["predictions"] as? [[String: Any]])?.first)
        let testLines = try String(contentsOf: CommandLineTool.root.appendingPathComponent("data/vader/movie/test.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let text = try XCTUnwrap(testLines.first { ($0["id"] as? String) == (prediction["id"] as? String) }?["text"] as? String)
        let scored = try CommandLineTool.run(["score", "--model", adapters.appendingPathComponent("full").path, "--prompt", "Review: \(text)\nSentiment:",
                                              "--continuation", " negative", "--continuation", " positive", "--json"])
        XCTAssertEqual(scored.status, 0, scored.stderr)
        let shares = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [[String: Any]]).map { $0["share"] as! Double }
        for (share, probability) in zip(shares, prediction["probabilities"] as! [Double]) {
            XCTAssertEqual(share, probability, accuracy: 1e-4)
        }
        // The GGUF's special tokens (bos 1, eos 2, pad 2) in the config and the generation config.
        for file in ["config.json", "generation_config.json"] {
            let saved = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: adapters.appendingPathComponent("full/\(file)"))) as? [String: Any])
            XCTAssertEqual([saved["bos_token_id"], saved["eos_token_id"], saved["pad_token_id"]].map { $0 as? Int }, [1, 2, 2], file)
        }

        let again = try CommandLineTool.run(["compare", suite.path, "--out", folder.appendingPathComponent("again").path, "--cache", cache])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("full: cached"), again.stderr)
        let rerun = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("again/results.json"))) as? [String: Any])
        XCTAssertEqual((rerun["candidates"] as? [[String: Any]])?[1]["metrics"] as? NSDictionary, full["metrics"] as? NSDictionary)
    }

    /// A generation task end to end: SmolLM2 as a reverse dictionary, zero-shot and with two LoRA
    /// steps. The batched greedy answers equal the `generate` command's for the same chat prompt,
    /// a reference's loss equals minus the `score` command's log-probability of it (with the end
    /// token), the metrics are the per-example scores' means, the reports show the answers, and a
    /// rerun gated against the first as its baseline is non-inferior (the same answers, cached).
    func testGenerationSuiteAnswersScoresAndGates() throws {
        let folder = try CommandLineTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let suite = folder.appendingPathComponent("suite.yaml")
        try """
        name: decoder-words-tiny
        seed: 7
        model: {path: models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf, max_length: 128}
        task:
          type: generation
          train: data/wordnet/words_train.jsonl
          validation: data/wordnet/words_validation.jsonl
          test: data/wordnet/words_test.jsonl
          prompt: "Which word has this dictionary definition? Answer with the word only.\\nDefinition: {text}"
          chat: true
          max_new_tokens: 5
          limit: {train: 16, validation: 8, test: 12}
        training: {epochs: 1, batch_size: 8, warmup_ratio: 0}
        candidates:
          - {name: zero-shot, method: base}
          - {name: lora, method: lora, rank: 4, target_modules: [q_proj, v_proj], learning_rate: 1e-3}
        checks:
          - {metric: token_f1, min: 0, bound: ci_low}
          - {metric: exact_match, non_inferior_to: baseline, margin: 0.05}
        """.write(to: suite, atomically: true, encoding: .utf8)
        let cache = folder.appendingPathComponent("cache").path
        let out = folder.appendingPathComponent("out")
        let stored = out.appendingPathComponent("results.json").path
        let run = try CommandLineTool.run(["compare", suite.path, "--out", out.path, "--cache", cache, "--baseline", stored])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("generation: prompt"), run.stderr)
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("results.json"))) as? [String: Any])
        XCTAssertEqual(results["task_type"] as? String, "generation")
        XCTAssertEqual(results["labels"] as? [String], [])
        let candidates = try XCTUnwrap(results["candidates"] as? [[String: Any]])
        XCTAssertEqual(candidates.map { $0["status"] as? String }, ["ok", "ok"])
        let testLines = try String(contentsOf: CommandLineTool.root.appendingPathComponent("data/wordnet/words_test.jsonl"), encoding: .utf8)
            .split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        for candidate in candidates {
            let answers = try XCTUnwrap((candidate["seed_runs"] as? [[String: Any]])?.first?["generations"] as? [[String: Any]])
            XCTAssertEqual(answers.count, 12)
            let metrics = try XCTUnwrap(candidate["generation_metrics"] as? [String: Any])
            func value(_ key: String) -> Double? { (metrics[key] as? [String: Any])?["value"] as? Double }
            XCTAssertEqual(try XCTUnwrap(value("exact_match")), answers.reduce(0) { $0 + ($1["exact_match"] as! Double) } / 12, accuracy: 1e-12)
            XCTAssertEqual(try XCTUnwrap(value("token_f1")), answers.reduce(0) { $0 + ($1["token_f1"] as! Double) } / 12, accuracy: 1e-12)
            let loss = answers.reduce(0) { $0 + ($1["reference_loss"] as! Double) } / Double(answers.reduce(0) { $0 + ($1["reference_tokens"] as! Int) })
            XCTAssertEqual(try XCTUnwrap(value("perplexity")), exp(loss), accuracy: 1e-9 * exp(loss))
            XCTAssertNil(candidate["metrics"], "no classification metrics")
        }
        // The zero-shot row through the commands, one example at a time.
        let answers = try XCTUnwrap((candidates[0]["seed_runs"] as? [[String: Any]])?.first?["generations"] as? [[String: Any]])
        for answer in answers.prefix(3) {
            let record = try XCTUnwrap(testLines.first { ($0["id"] as? String) == (answer["id"] as? String) })
            let question = "Which word has this dictionary definition? Answer with the word only.\nDefinition: \(record["text"] as! String)"
            let generated = try CommandLineTool.run(["generate", question, "--max-tokens", "5"])
            XCTAssertEqual(generated.status, 0, generated.stderr)
            XCTAssertEqual(generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines), answer["output"] as? String)
            let reference = (record["answer"] as! [String])[0]
            let chatPrompt = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                + "<|im_start|>user\n\(question)<|im_end|>\n<|im_start|>assistant\n"
            let scored = try CommandLineTool.run(["score", "--prompt", chatPrompt, "--continuation", reference + "<|im_end|>", "--json"])
            XCTAssertEqual(scored.status, 0, scored.stderr)
            let logProbability = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [[String: Any]])?.first?["logprob"] as? Double)
            XCTAssertEqual(try XCTUnwrap(answer["reference_loss"] as? Double), -logProbability, accuracy: 1e-3)
        }
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<section id=\"answers\">") && html.contains("Exact match") && html.contains("Token F1"))
        let junit = try String(contentsOf: out.appendingPathComponent("junit.xml"), encoding: .utf8)
        XCTAssertTrue(junit.contains("<property name=\"exact_match\""), junit)
        XCTAssertTrue(junit.contains("no baseline run yet"), "the first run has no baseline to compare with")
        let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        XCTAssertTrue(summary.contains("| exact match (95% CI) | token F1 |"), summary)

        // The same suite again, gated against the first run: cached units, the same answers, non-inferior.
        let again = try CommandLineTool.run(["compare", suite.path, "--out", folder.appendingPathComponent("again").path, "--cache", cache,
                                             "--baseline", stored])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("lora: cached"), again.stderr)
        let gated = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("again/results.json"))) as? [String: Any])
        let checks = try XCTUnwrap(gated["checks"] as? [[String: Any]])
        XCTAssertEqual(checks.filter { $0["metric"] as? String == "exact_match" }.map { $0["status"] as? String }, ["passed", "passed"])
        XCTAssertEqual(checks.filter { $0["metric"] as? String == "exact_match" }.map { $0["value"] as? Double }, [0, 0])
    }
}
