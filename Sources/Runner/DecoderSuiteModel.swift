import Evaluation
import Foundation
import Model
import Suites
import Tokenizer

/// A decoder language model under test (a GGUF file or a Llama folder): classification by label
/// scoring — each example put in the task's prompt, each class's verbaliser scored after it
/// (`LlamaModel.continuationScores`), the class probabilities the softmax over those scores —
/// and retention as the causal-LM loss on general text (`retention.language_modeling`).
///
/// This release runs decoders zero-shot (`method: base`); `SuiteSpec.validate(for:)` refuses
/// training methods before a unit runs.
final class DecoderSuiteModel: SuiteModel {
    let spec: SuiteSpec
    let lm: DecoderLanguageModel
    let prompt: LabelScoringPrompt
    /// Token ids of each test and validation prompt (left-cut to fit `maxLength` with the longest verbaliser).
    let testPrompts: [[Int32]], validationPrompts: [[Int32]]
    let verbalizerIDs: [[Int32]]
    let testExamples: [Example], validationLabels: [Int]
    /// Token ids of each language-modelling text, cut to `RetentionMeasurement.maxLength`.
    let textSets: [(name: String, sequences: [[Int32]])]
    let identity: ModelIdentity
    let notes: [String]
    let taskKeyLines: [(name: String, value: String)]
    let retentionKeyLines: [(name: String, value: String)]
    private let evaluation: TaskEvaluation
    private var baseScores: [String: Double]?

    init(spec: SuiteSpec, task: TaskData, retentionData: RetentionData) throws {
        self.spec = spec
        let url = URL(fileURLWithPath: spec.model.path)
        lm = try DecoderLanguageModel.load(url)
        let maxLength = spec.model.maxLength
        guard maxLength <= lm.network.maxPositions else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["model.max_length"] ?? spec.lines["model"], field: "model.max_length",
                             message: "\(maxLength) exceeds the model's \(lm.network.maxPositions) positions")
        }
        var chatTemplate: ChatTemplate?
        if spec.task.chat {
            guard let template = lm.chatTemplate else {
                throw SuiteError(file: spec.sourcePath, line: spec.lines["task.chat"], field: "task.chat",
                                 message: "\(spec.model.path) has no chat template this release renders (ChatML); set chat: false")
            }
            chatTemplate = template
        }
        let prompt = LabelScoringPrompt(template: spec.task.prompt ?? LabelScoringPrompt.defaultTemplate,
                                        verbalizers: spec.task.verbalizers ?? task.labels.map { " " + $0 }, chat: chatTemplate)
        self.prompt = prompt
        let tokenizer = lm.tokenizer
        let verbalizerIDs = prompt.verbalizers.map(tokenizer.encode)
        self.verbalizerIDs = verbalizerIDs
        if let index = verbalizerIDs.firstIndex(where: \.isEmpty) {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["task.verbalizers"], field: "task.verbalizers",
                             message: "the verbaliser of \"\(task.labels[index])\" has no tokens")
        }
        // Two classes whose verbalisers start alike are told apart by their later tokens; two
        // identical token sequences could never be.
        if Set(verbalizerIDs).count < verbalizerIDs.count {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["task.verbalizers"], field: "task.verbalizers",
                             message: "two classes' verbalisers tokenise to the same tokens; give each class a distinct continuation")
        }
        let longest = verbalizerIDs.map(\.count).max()!
        guard maxLength > longest else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["model.max_length"] ?? spec.lines["model"], field: "model.max_length",
                             message: "\(maxLength) tokens leave no room for a prompt before a \(longest)-token verbaliser")
        }
        // A long prompt loses its first tokens (as lm-evaluation-harness cuts a context): the end of
        // the prompt, next to the answer, is what the answer depends on most.
        var cut = 0
        func encode(_ examples: [Example]) -> [[Int32]] {
            examples.map { example in
                let ids = tokenizer.encode(prompt.render(example.text))
                guard ids.count + longest > maxLength else { return ids }
                cut += 1
                return Array(ids.suffix(maxLength - longest))
            }
        }
        testPrompts = encode(task.test)
        validationPrompts = spec.task.threshold == .optimizeF1 ? encode(task.validation) : []
        testExamples = task.test
        validationLabels = task.validation.map(\.label)
        let lmLength = min(RetentionMeasurement.maxLength, lm.network.maxPositions)
        textSets = retentionData.languageModeling.map { set in
            (set.spec.checkName, set.texts.map { Array(tokenizer.encode($0.text).prefix(lmLength)) })
        }
        if let index = textSets.firstIndex(where: { $0.sequences.allSatisfy { $0.count < 2 } }) {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["retention.language_modeling[\(index)]"],
                             field: "retention.language_modeling[\(index)]",
                             message: "every text of \(textSets[index].name) is a single token: there is nothing to predict")
        }

        var notes: [String] = []
        if cut > 0 { notes.append("note: \(cut) prompt(s) longer than max_length \(maxLength) lose their first tokens") }
        if let example = task.test.first {
            notes.append("label scoring: prompt \(prompt.render(example.text).debugDescription) → "
                         + prompt.verbalizers.map(\.debugDescription).joined(separator: " | "))
        }
        self.notes = notes
        var isFolder: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
        let weightsFile = isFolder.boolValue ? url.appendingPathComponent("model.safetensors") : url
        identity = ModelIdentity(path: spec.model.path, sha256: SHA256.hex(ofFileAt: weightsFile.path) ?? "",
                                 parameters: lm.network.config.parameterCount)
        taskKeyLines = [("model.family", ModelFamily.llamaDecoder.rawValue), ("task.max_length", String(maxLength)),
                        ("task.prompt", prompt.template), ("task.verbalizers", prompt.verbalizers.joined(separator: "\u{1F}")),
                        ("task.chat", chatTemplate.map { "chatml \($0.defaultSystemPrompt ?? "")" } ?? "none")]
        retentionKeyLines = [("model.family", ModelFamily.llamaDecoder.rawValue), ("retention.max_length", String(lmLength))]
        evaluation = TaskEvaluation(task: spec.task, comparison: spec.comparison, classCount: task.labels.count)
    }

    var hasRetention: Bool { !textSets.isEmpty }
    var retentionCost: Double { Double(textSets.reduce(0) { $0 + $1.sequences.reduce(0) { $0 + $1.count } }) / 64 }

    /// Tokens through the network: each prompt once (single-token verbalisers) or once per class.
    func cost(of candidate: CandidateSpec) -> Double {
        let perPrompt = verbalizerIDs.allSatisfy { $0.count == 1 } ? 1 : verbalizerIDs.count
        let tokens = (testPrompts + validationPrompts).reduce(0) { $0 + $1.count } * perPrompt
        return Double(tokens) / 64
    }

    func baseRetentionScores(observer: RunProgressObserver?) -> [String: Double] {
        if let baseScores { return baseScores }
        observer?.note("measuring the base model's language modelling")
        var scores: [String: Double] = [:]
        for set in textSets {
            // Lengths and ids were bounded when the texts were tokenised, so the forward cannot refuse them.
            guard let measured = try? corpusLoss(set.sequences) else { continue }
            scores[set.name] = -measured.loss
        }
        baseScores = scores
        return scores
    }

    /// A language-modelling score is all a candidate needs of the base model.
    func restore(baseRetentionScores scores: [String: Double]) {
        if baseScores == nil { baseScores = scores }
    }

    /// The token-weighted mean causal-LM loss over the texts (nats per predicted token).
    private func corpusLoss(_ sequences: [[Int32]]) throws -> (loss: Double, tokens: Int) {
        var total = 0.0, tokens = 0
        for measured in try lm.network.languageModelLoss(sequences, batchSize: LlamaModel.scoringBatchSize) {
            guard let loss = measured.loss else { continue }
            total += loss * Double(measured.tokens)
            tokens += measured.tokens
        }
        return (tokens == 0 ? 0 : total / Double(tokens), tokens)
    }

    func runSeed(_ candidate: CandidateSpec, unit: WorkUnit, label: String, exportTo: URL?,
                 observer: RunProgressObserver?) throws -> UnitResult {
        let base = baseRetentionScores(observer: observer)
        var run = SeedRun(seed: unit.trainingSeed!, status: .ok)
        PeakMemory.reset()
        do {
            let test = try probabilities(testPrompts, label: label, observer: observer)
            evaluation.measure(test: testExamples, testProbabilities: test, validationLabels: validationLabels,
                               validationProbabilities: { (try? probabilities(validationPrompts, label: label, observer: nil)) ?? [] },
                               seed: candidate.training.seed, into: &run)
            // The base model is the model: what it can do with language is unchanged by definition.
            run.forgetting = textSets.map { set in
                ForgettingCheck(name: set.name, measure: "log_likelihood",
                                result: ForgettingReport(base: base[set.name] ?? 0, candidate: base[set.name] ?? 0))
            }
        } catch {
            run.status = .failed
            run.error = "\(error)"
        }
        // Nothing trains; the base weights are held as the file stores them.
        return UnitResult(unit: unit, seedRun: run, baseWeightBytes: lm.network.weights.byteCount)
    }

    /// Class probabilities of each prompt (the softmax of the verbalisers' log-probabilities).
    private func probabilities(_ prompts: [[Int32]], label: String, observer: RunProgressObserver?) throws -> [[Double]] {
        let started = Date()
        let scores = try lm.network.continuationScores(prompts: prompts, continuations: verbalizerIDs) { [weak observer] done in
            observer?.scoring(label, done: done, of: prompts.count, seconds: Date().timeIntervalSince(started))
        }
        return scores.map(LabelScores.probabilities)
    }
}

/// How a decoder is asked a classification question: the example's text in the task's prompt
/// template (optionally as a user turn of the model's chat template), then each class's verbaliser.
struct LabelScoringPrompt {
    /// When the suite gives none: the text, then a line the class name completes.
    static let defaultTemplate = "{text}\nAnswer:"

    let template: String
    let verbalizers: [String]
    let chat: ChatTemplate?

    func render(_ text: String) -> String {
        let filled = template.replacingOccurrences(of: "{text}", with: text)
        guard let chat else { return filled }
        return chat.render([ChatTemplate.Message(role: "user", content: filled)], addGenerationPrompt: true)
    }
}
