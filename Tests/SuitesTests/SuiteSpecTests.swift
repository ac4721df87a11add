import Evaluation
import Foundation
@testable import Suites
import XCTest

final class SuiteSpecTests: XCTestCase {
    func testFullFixtureParsesEveryKey() throws {
        let path = Fixtures.path("full.yaml")
        let spec = try SuiteSpec.load(path: path)
        XCTAssertEqual(spec.name, "full-suite_1.0")
        XCTAssertEqual(spec.description, "Every key set")
        XCTAssertEqual(spec.seed, 7)
        XCTAssertEqual(spec.model, ModelSpec(path: "models/tiny", maxLength: 64))
        XCTAssertEqual(spec.task, TaskSpec(
            train: DataFile(path: "data/train.jsonl", format: .jsonl),
            validation: DataFile(path: "data/validation.csv", format: .csv),
            test: DataFile(path: "data/test.tsv", format: .tsv),
            labels: ["neg", "pos"], limit: SplitLimits(train: 100, validation: 20, test: 30)))
        XCTAssertEqual(spec.retention.similarity, [
            SimilaritySetSpec(name: "pairs", file: DataFile(path: "data/similarity.jsonl", format: .jsonl), limit: 3),
            SimilaritySetSpec(name: "words", file: DataFile(path: "data/words.csv", format: .csv),
                              textAField: "a", textBField: "b", scoreField: "s"),
        ])
        XCTAssertEqual(spec.retention.probes, [
            ProbeSpec(name: "nouns", train: DataFile("data/probe_train.jsonl"), test: DataFile("data/probe_test.jsonl"),
                      limit: SplitLimits(train: 6, test: 2)),
        ])
        XCTAssertEqual(spec.retention.checkNames, ["similarity:pairs", "similarity:words", "probe:nouns"])
        XCTAssertEqual(spec.trainingDefaults, TrainingDefaults(
            epochs: 4, batchSize: 16, learningRate: 1e-4, weightDecay: 0.05, schedule: .cosine, warmupRatio: 0.2,
            maxGradNorm: 0.5, hiddenDropout: 0.2, attentionDropout: 0.15, classifierDropout: nil, patience: 0))

        // The suite's training block applied to every candidate, then each candidate's overrides.
        let base = TrainingSettings(epochs: 4, batchSize: 16, learningRate: 1e-4, weightDecay: 0.05, schedule: .cosine,
                                    warmupRatio: 0.2, maxGradNorm: 0.5,
                                    dropout: DropoutSettings(hidden: 0.2, attention: 0.15, classifier: 0.1),
                                    patience: 0, seed: 7)
        func with(_ change: (inout TrainingSettings) -> Void) -> TrainingSettings { var t = base; change(&t); return t }
        XCTAssertEqual(spec.candidates, [
            CandidateSpec(name: "full", method: .full, training: with { $0.learningRate = 3e-5 }, freezeEmbeddings: true),
            CandidateSpec(name: "lora", method: .lora, training: with { $0.epochs = 2 }, rank: 4, alpha: 8, loraDropout: 0.05,
                          targetModules: ["query", "key", "value"]),
            CandidateSpec(name: "qlora", method: .qlora, training: with { $0.dropout.classifier = 0.3 }, rank: 8, alpha: 16,
                          loraDropout: 0, targetModules: ["all-linear"], doubleQuantization: true),
            CandidateSpec(name: "prompt", method: .prompt, training: with { $0.schedule = .constant }, numVirtualTokens: 10,
                          promptInit: .text("Is it good?")),
            // The suite sets learning_rate, so the method's built-in default does not apply.
            CandidateSpec(name: "prompt-default", method: .prompt, training: base, numVirtualTokens: 20, promptInit: .vocab),
        ])
        XCTAssertEqual(spec.checks, [
            CheckSpec(metric: "accuracy", kind: .minimum(0.75)),
            CheckSpec(metric: "f1_macro", kind: .minimum(0.7), bound: .ciLow, candidates: ["full", "lora"]),
            CheckSpec(metric: "forgetting.similarity:pairs.absolute_drop", kind: .maximum(0.1)),
            CheckSpec(metric: "forgetting.probe:nouns.relative_drop", kind: .maximum(0.2)),
            CheckSpec(metric: "log_loss", kind: .maximum(0.6), bound: .ciHigh),
            CheckSpec(metric: "training.seconds", kind: .maximum(600)),
            CheckSpec(metric: "overfitting.loss_gap", kind: .maximum(0.5)),
            CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "baseline", margin: 0.02)),
            CheckSpec(metric: "ece", kind: .nonInferior(reference: "baseline", margin: 0.01), candidates: ["lora"]),
        ])
        XCTAssertEqual(spec.baseline, "reports/base/results.json")
        XCTAssertEqual(spec.comparison, ComparisonSettings(bootstrapResamples: 500, confidence: 0.9))
        XCTAssertEqual(spec.sourcePath, path)
        XCTAssertEqual(spec.contentSHA256, SHA256.hex(of: try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(spec.contentSHA256.count, 64)
        // Lines of fields, for errors found later.
        XCTAssertEqual(spec.lines["task.train"], 9)
        XCTAssertEqual(spec.lines["retention.similarity[1].path"], 21)
        XCTAssertEqual(spec.lines["candidates[1]"], 40)
        XCTAssertEqual(spec.lines["baseline"], 61)
        // Two prompt candidates: no single prompt reference.
        XCTAssertNil(spec.promptReference)
        XCTAssertEqual(spec.candidates(for: spec.checks[1]), ["full", "lora"])
        XCTAssertEqual(spec.candidates(for: spec.checks[0]).count, 5)
    }

    func testMinimalFixtureGetsDefaults() throws {
        let spec = try SuiteSpec.load(path: Fixtures.path("minimal.yaml"))
        XCTAssertEqual(spec.seed, 42)
        XCTAssertNil(spec.description)
        XCTAssertEqual(spec.model.maxLength, 128)
        XCTAssertEqual(spec.task.idField, "id")
        XCTAssertEqual(spec.task.textField, "text")
        XCTAssertEqual(spec.task.labelField, "label")
        XCTAssertEqual(spec.task.limit, SplitLimits())
        XCTAssertEqual(spec.retention, RetentionSpec())
        XCTAssertEqual(spec.trainingDefaults, TrainingDefaults())
        XCTAssertEqual(spec.checks, [])
        XCTAssertNil(spec.baseline)
        XCTAssertEqual(spec.comparison, ComparisonSettings(bootstrapResamples: 1000, confidence: 0.95))

        let defaults = TrainingSettings(epochs: 3, batchSize: 32, learningRate: 5e-4, weightDecay: 0.01, schedule: .linear,
                                        warmupRatio: 0.1, maxGradNorm: 1.0, dropout: DropoutSettings(hidden: 0.1, attention: 0.1, classifier: 0.1),
                                        patience: 2, seed: 42)
        func lr(_ rate: Double) -> TrainingSettings { var t = defaults; t.learningRate = rate; return t }
        XCTAssertEqual(spec.candidates, [
            CandidateSpec(name: "full", method: .full, training: lr(3e-5), freezeEmbeddings: false),
            CandidateSpec(name: "lora", method: .lora, training: lr(5e-4), rank: 8, alpha: 16, loraDropout: 0,
                          targetModules: ["query", "value"]),
            CandidateSpec(name: "qlora", method: .qlora, training: lr(5e-4), rank: 8, alpha: 16, loraDropout: 0,
                          targetModules: ["query", "value"], doubleQuantization: false),
            CandidateSpec(name: "prompt", method: .prompt, training: lr(3e-2), numVirtualTokens: 20, promptInit: .vocab),
        ])
        XCTAssertEqual(spec.promptReference, "prompt")
    }

    func testSettingsAndConfigHash() throws {
        let spec = try SuiteSpec.load(path: Fixtures.path("full.yaml"))
        let lora = try XCTUnwrap(spec.candidate(named: "lora"))
        XCTAssertEqual(lora.settings["method"], "lora")
        XCTAssertEqual(lora.settings["rank"], "4")
        XCTAssertEqual(lora.settings["alpha"], "8")
        XCTAssertEqual(lora.settings["dropout"], "0.05")
        XCTAssertEqual(lora.settings["learning_rate"], "0.0001")
        XCTAssertEqual(lora.settings["target_modules"], "query,key,value")
        XCTAssertEqual(lora.settings["dropout.hidden"], "0.2")
        XCTAssertEqual(lora.settings["seed"], "7")
        XCTAssertNil(lora.settings["num_virtual_tokens"])
        let prompt = try XCTUnwrap(spec.candidate(named: "prompt"))
        XCTAssertEqual(prompt.settings["init"], "text")
        XCTAssertEqual(prompt.settings["init_text"], "Is it good?")
        // The hash is over the sorted key=value lines.
        let canonical = lora.settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        XCTAssertEqual(lora.configHash, SHA256.hex(of: canonical))
        XCTAssertNotEqual(lora.configHash, prompt.configHash)
        // Same settings, same hash, whatever the name.
        var renamed = lora
        renamed.name = "other"
        XCTAssertEqual(renamed.configHash, lora.configHash)
    }

    func testShippedSuitesParse() throws {
        for name in ["sentiment", "ci"] {
            let path = Fixtures.repositoryRoot.appendingPathComponent("suites/\(name).yaml").path
            let spec = try SuiteSpec.load(path: path)
            XCTAssertEqual(spec.name, name)
            XCTAssertEqual(spec.model.path, "models/all-MiniLM-L6-v2")
            XCTAssertEqual(spec.task.train.path, "data/vader/movie/train.jsonl")
            XCTAssertEqual(spec.task.labels, ["negative", "positive"])
            // Every training method (base, zero-shot, is the decoder suite's).
            XCTAssertEqual(Set(spec.candidates.map(\.method)), Set(CandidateSpec.Method.allCases.filter(\.trains)), name)
            XCTAssertFalse(spec.retention.similarity.isEmpty, name)
            XCTAssertFalse(spec.retention.probes.isEmpty, name)
            XCTAssertEqual(spec.promptReference, "prompt")
            XCTAssertTrue(spec.checks.contains { if case .minimum = $0.kind { return true }; return false }, name)
            XCTAssertTrue(spec.checks.contains { if case .maximum = $0.kind { return true }; return false }, name)
            XCTAssertTrue(spec.checks.contains { if case .nonInferior = $0.kind { return true }; return false }, name)
            XCTAssertTrue(spec.checks.contains { $0.metric.hasPrefix("forgetting.similarity:lee.") }, name)
        }
        let ci = try SuiteSpec.load(path: Fixtures.repositoryRoot.appendingPathComponent("suites/ci.yaml").path)
        XCTAssertEqual(ci.task.limit, SplitLimits(train: 192, validation: 64, test: 128))
        XCTAssertTrue(ci.candidates.allSatisfy { $0.training.epochs == 2 })
        XCTAssertTrue(ci.checks.contains { $0.bound != .value })
        XCTAssertTrue(ci.checks.contains { $0.metric.hasPrefix("forgetting.probe:") })
        let sentiment = try SuiteSpec.load(path: Fixtures.repositoryRoot.appendingPathComponent("suites/sentiment.yaml").path)
        XCTAssertEqual(sentiment.task.limit, SplitLimits(train: 2000, validation: 400, test: 800))
        XCTAssertTrue(sentiment.candidates.allSatisfy { $0.training.epochs == 3 })
        XCTAssertEqual(sentiment.candidates.map(\.training.seeds), [3, 5, 3, 3])
        XCTAssertEqual(sentiment.calibration, "suites/sentiment.calibration.json")
        XCTAssertTrue(sentiment.checks.contains { $0.kind == .nonInferior(reference: "baseline", margin: 0.04) })

        let decoder = try SuiteSpec.load(path: Fixtures.repositoryRoot.appendingPathComponent("suites/decoder-zero-shot.yaml").path)
        XCTAssertEqual(decoder.modelFamily, .llamaDecoder)
        XCTAssertEqual(decoder.candidates.map(\.method), [.base])
        XCTAssertEqual(decoder.retention.checkNames, ["lm:nyt", "lm:wordnet"])
        XCTAssertNoThrow(try decoder.validate(for: .llamaDecoder))
        let trained = try SuiteSpec.load(path: Fixtures.repositoryRoot.appendingPathComponent("suites/decoder-sentiment.yaml").path)
        XCTAssertEqual(trained.candidates.map(\.method), [.base, .full, .lora, .qlora, .prompt])
        XCTAssertEqual(trained.retention.checkNames, ["lm:nyt", "lm:wordnet", "zero_shot:topics"])
        XCTAssertNoThrow(try trained.validate(for: trained.modelFamily))
        let words = try SuiteSpec.load(path: Fixtures.repositoryRoot.appendingPathComponent("suites/decoder-words.yaml").path)
        XCTAssertEqual(words.task.generation, GenerationSettings(answerField: "answer", maxNewTokens: 8))
        XCTAssertEqual(words.candidates.map(\.method), [.base, .full, .lora, .prompt])
        XCTAssertEqual(words.checks.map(\.metric), ["token_f1", "perplexity", "forgetting.lm:nyt.absolute_drop"])
        XCTAssertNoThrow(try words.validate(for: words.modelFamily))
    }

    /// Coded labels get names: `labels: {0: other, 1: grain}` reads files whose label is 0 or 1
    /// (numbers or strings) and every output uses the names.
    func testCodedLabelsAreMappedToNames() throws {
        let temp = try TemporaryDirectory()
        let rows = (0..<6).map { #"{"id": \#($0), "text": "t\#($0)", "label": \#($0 % 2)}"# }.joined(separator: "\n") + "\n"
        for split in ["train", "validation", "test"] { try temp.write("\(split).jsonl", rows) }
        let yaml = """
        name: coded
        model: {path: m}
        task:
          train: \(temp.url.path)/train.jsonl
          validation: \(temp.url.path)/validation.jsonl
          test: \(temp.url.path)/test.jsonl
          labels: {0: other, 1: grain}
        candidates:
          - {name: full, method: full}
        checks:
          - metric: recall[grain]
            min: 0.5
        """
        let spec = try SuiteSpec.parse(yaml: yaml, path: temp.url.path + "/suite.yaml")
        XCTAssertEqual(spec.task.labels, ["other", "grain"])
        XCTAssertEqual(spec.task.labelValues, ["0", "1"])
        let data = try TaskData.load(spec.task)
        XCTAssertEqual(data.labels, ["other", "grain"])
        XCTAssertEqual(data.train.map(\.label), [0, 1, 0, 1, 0, 1])

        let twice = yaml.replacingOccurrences(of: "{0: other, 1: grain}", with: "{0: other, 1: other}")
        XCTAssertEqual(expectSuiteError { () throws(SuiteError) in _ = try SuiteSpec.parse(yaml: twice, path: "x.yaml") }?.description,
                       "x.yaml:7: task.labels.1: duplicate label \"other\" (also class 0)")
    }

    /// validateFiles names the suite line of the first missing path; with every file present it passes.
    func testValidateFiles() throws {
        let temp = try TemporaryDirectory()
        let model = temp.url.appendingPathComponent("model").path
        try temp.write("model/config.json", "{}")
        try temp.write("model/model.safetensors", "")
        try temp.write("model/vocab.txt", "")
        let yaml = """
        name: files
        model: {path: \(model)}
        task:
          train: \(Fixtures.data("train.jsonl"))
          validation: \(Fixtures.data("validation.csv"))
          test: \(temp.url.path)/missing.tsv
          labels: [neg, pos]
        retention:
          probes:
            - {name: p, train: \(Fixtures.data("probe_train.jsonl")), test: \(Fixtures.data("probe_test.jsonl"))}
        candidates:
          - {name: full, method: full}
        """
        let suitePath = try temp.write("suite.yaml", yaml + "\nbaseline: \(temp.url.path)/baseline.json")
        let spec = try SuiteSpec.load(path: suitePath)
        let error = expectSuiteError { () throws(SuiteError) in try spec.validateFiles() }
        XCTAssertEqual(error?.description, "\(suitePath):6: task.test: no such file \"\(temp.url.path)/missing.tsv\"")

        try temp.write("missing.tsv", "id\ttext\tlabel\n")
        // A baseline that does not exist yet is fine (its checks are skipped); a folder is not.
        try spec.validateFiles()
        XCTAssertFalse(spec.baselineExists)
        try FileManager.default.createDirectory(atPath: temp.url.path + "/baseline.json", withIntermediateDirectories: true)
        XCTAssertEqual(expectSuiteError { () throws(SuiteError) in try spec.validateFiles() }?.description,
                       "\(suitePath):13: baseline: \"\(temp.url.path)/baseline.json\" is a folder, expected a results.json file")
        try FileManager.default.removeItem(atPath: temp.url.path + "/baseline.json")
        try temp.write("baseline.json", "{}")
        XCTAssertTrue(spec.baselineExists)
        try spec.validateFiles()

        // A missing model file, and a relative path (resolved against the current directory).
        var broken = spec
        broken.model.path = "no/such/model"
        let modelError = expectSuiteError { () throws(SuiteError) in try broken.validateFiles() }
        XCTAssertEqual(modelError?.line, 2)
        XCTAssertEqual(modelError?.field, "model.path")
        XCTAssertEqual(modelError?.message, "no such folder \"no/such/model\" (relative paths resolve against the current directory, \(FileManager.default.currentDirectoryPath)); scripts/fetch_model.sh downloads the default model")
        try FileManager.default.removeItem(atPath: model + "/vocab.txt")
        let vocabError = expectSuiteError { () throws(SuiteError) in try spec.validateFiles() }
        XCTAssertEqual(vocabError?.description, "\(suitePath):2: model.path: the model folder \"\(model)\" has no vocab.txt")
    }

    func testMissingSuiteFile() {
        let error = expectSuiteError { () throws(SuiteError) in try SuiteSpec.load(path: "/nonexistent/suite.yaml") }
        XCTAssertEqual(error?.description, "/nonexistent/suite.yaml: no such file")
    }
}

/// The shipped suites against the real data and model, when scripts/fetch_data.sh and
/// scripts/fetch_model.sh have run (both folders are git-ignored).
final class ShippedSuiteDataTests: XCTestCase {
    func testShippedSuitesLoadTheirData() throws {
        let root = Fixtures.repositoryRoot
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("data/MANIFEST.json").path),
              FileManager.default.fileExists(atPath: root.appendingPathComponent("models/all-MiniLM-L6-v2/vocab.txt").path) else {
            throw XCTSkip("data/ or models/ is missing; run scripts/fetch_data.sh and scripts/fetch_model.sh")
        }
        // The suites' paths are relative to the repository root, as the README runs them.
        let previous = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(root.path))
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }

        let expected: [String: [Int]] = [
            "sentiment": [2000, 400, 800, 400, 999, 353, 1200, 400],
            "ci": [192, 64, 128, 60, 100, 300, 100],
        ]
        for (name, counts) in expected {
            let spec = try SuiteSpec.load(path: "suites/\(name).yaml")
            try spec.validateFiles()
            let data = try spec.loadData()
            XCTAssertEqual(data.files.map(\.examples), counts, name)
            XCTAssertEqual(data.task.contamination, [], name)
            XCTAssertEqual(data.task.warnings, [], name)
            XCTAssertEqual(data.retention.probes.first?.labels.count, 10, name)
            // Both classes are well represented after the limits.
            let positives = data.task.train.filter { $0.label == 1 }.count
            XCTAssertEqual(Double(positives) / Double(data.task.train.count), 0.5, accuracy: 0.08, name)
        }
        // The generation suite's reverse dictionary: definitions with their words, none of them in train.
        let words = try SuiteSpec.load(path: "suites/decoder-words.yaml")
        try words.validateFiles()
        let data = try words.loadData()
        XCTAssertEqual(data.files.map(\.examples), [128, 32, 80, 40])
        XCTAssertEqual(data.task.contamination, [])
        XCTAssertTrue(data.task.test.allSatisfy { !$0.answers.isEmpty && $0.answers.allSatisfy { !$0.isEmpty && $0 == $0.lowercased() } })
        XCTAssertEqual(Set(data.task.train.map(\.text)).intersection(data.task.test.map(\.text)), [])
    }
}
