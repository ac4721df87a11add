import Evaluation
import Foundation
import Model
import Suites
import Tokenizer
import Training

/// What a decoder suite's task asks of the model, whatever the task's type: the completions a
/// candidate learns, and how a model is measured on the test split. Label scoring
/// (`LabelScoringTask`) and answer generation (`AnswerGeneration`) implement it; the suite model,
/// the trainer and the runner see only this.
protocol DecoderTask {
    /// Each training and validation example as a completion to learn (the loss on its answer only).
    var trainCompletions: [LanguageModelingExample] { get }
    var validationCompletions: [LanguageModelingExample] { get }
    /// Cache-key lines: everything the task's results depend on beyond the data and the model.
    var keyLines: [(name: String, value: String)] { get }
    /// What the user should know about how examples are put to the model.
    var notes: [String] { get }
    /// Tokens through the network to measure a model once (the runner's cost scale).
    var evaluationTokens: Int { get }

    /// Measures `network` on the test split into `run` (predictions and metrics, or answers);
    /// `seed` seeds the per-run bootstrap.
    func measure(_ network: LlamaModel, seed: UInt64, label: String, observer: RunProgressObserver?, into run: inout SeedRun) throws
}

/// A classification task answered by label scoring: each example in the prompt, each class's
/// verbaliser scored after it (`LlamaModel.continuationScores`), the class probabilities the
/// softmax over those scores; a candidate learns its label's verbaliser after the prompt.
struct LabelScoringTask: DecoderTask {
    let prompt: LabelScoringPrompt
    /// Token ids of each test and validation prompt (left-cut to fit `maxLength` with the longest verbaliser).
    let testPrompts: [[Int32]], validationPrompts: [[Int32]]
    let verbalizerIDs: [[Int32]]
    let testExamples: [Example], validationLabels: [Int]
    let trainCompletions: [LanguageModelingExample], validationCompletions: [LanguageModelingExample]
    let notes: [String]
    let keyLines: [(name: String, value: String)]
    private let evaluation: TaskEvaluation

    init(spec: SuiteSpec, task: TaskData, lm: DecoderLanguageModel, chat: ChatTemplate?, cut: inout Int) throws {
        let maxLength = spec.model.maxLength
        let prompt = LabelScoringPrompt(template: spec.task.prompt ?? LabelScoringPrompt.defaultTemplate,
                                        verbalizers: spec.task.verbalizers ?? task.labels.map { " " + $0 }, chat: chat)
        self.prompt = prompt
        let tokenizer = lm.tokenizer
        let verbalizerIDs = try prompt.verbalizerIDs(tokenizer: tokenizer, labels: task.labels, spec: spec, field: "task.verbalizers")
        self.verbalizerIDs = verbalizerIDs
        var cutHere = 0
        func encode(_ examples: [Example]) -> [[Int32]] {
            prompt.encode(examples.map(\.text), tokenizer: tokenizer, maxLength: maxLength, verbalizerIDs: verbalizerIDs, cut: &cutHere)
        }
        testPrompts = encode(task.test)
        validationPrompts = spec.task.threshold == .optimizeF1 ? encode(task.validation) : []
        let trains = spec.candidates.contains { $0.method.trains }
        func completions(_ examples: [Example]) -> [LanguageModelingExample] {
            zip(examples, encode(examples)).map { example, prompt in
                LanguageModelingExample(ids: prompt + verbalizerIDs[example.label], firstTarget: prompt.count)
            }
        }
        trainCompletions = trains ? completions(task.train) : []
        validationCompletions = trains ? completions(task.validation) : []
        cut += cutHere
        testExamples = task.test
        validationLabels = task.validation.map(\.label)
        notes = task.test.first.map { example in
            ["label scoring: prompt \(prompt.render(example.text).debugDescription) → "
                + prompt.verbalizers.map(\.debugDescription).joined(separator: " | ")]
        } ?? []
        keyLines = [("task.prompt", prompt.template), ("task.verbalizers", prompt.verbalizers.joined(separator: "\u{1F}")),
                    ("task.chat", chat.map { "chatml \($0.defaultSystemPrompt ?? "")" } ?? "none"),
                    // How a long prompt is cut (`PromptTemplate.encode`): its text's start goes.
                    ("task.cut", "text-start")]
        evaluation = TaskEvaluation(task: spec.task, comparison: spec.comparison, classCount: task.labels.count)
    }

    /// Each prompt once (single-token verbalisers) or once per class.
    var evaluationTokens: Int {
        (testPrompts + validationPrompts).reduce(0) { $0 + $1.count } * (verbalizerIDs.allSatisfy { $0.count == 1 } ? 1 : verbalizerIDs.count)
    }

    func measure(_ network: LlamaModel, seed: UInt64, label: String, observer: RunProgressObserver?, into run: inout SeedRun) throws {
        let test = try probabilities(testPrompts, network: network, label: label, observer: observer)
        evaluation.measure(test: testExamples, testProbabilities: test, validationLabels: validationLabels,
                           validationProbabilities: { (try? probabilities(validationPrompts, network: network, label: label, observer: nil)) ?? [] },
                           seed: seed, into: &run)
    }

    /// Class probabilities of each prompt (the softmax of the verbalisers' log-probabilities).
    private func probabilities(_ prompts: [[Int32]], network: LlamaModel, label: String, observer: RunProgressObserver?) throws -> [[Double]] {
        let started = Date()
        let scores = try network.continuationScores(prompts: prompts, continuations: verbalizerIDs) { [weak observer] done in
            observer?.scoring(label, done: done, of: prompts.count, seconds: Date().timeIntervalSince(started))
        }
        return scores.map(LabelScores.probabilities)
    }
}
