import Evaluation
import Foundation
import Model
import Suites
import Tokenizer

/// A generation task put to a decoder (`task.type: generation`): each example's prompt, the answer
/// a candidate learns after it (the first reference, then the end-of-answer token, as TRL's
/// completion-only fine-tuning learns it), and how a model's answers are measured — greedy
/// generation scored by `AnswerMatching`, and the reference's loss under the model.
struct AnswerGeneration: DecoderTask {
    /// Prompts decoded together: the weights are read once per step for all of them.
    static let generationBatchSize = 8
    /// When the suite gives no prompt: the text, then a line the answer completes.
    static let defaultTemplate = "{text}\nAnswer:"

    let prompt: PromptTemplate
    let settings: GenerationSettings
    /// Ends an answer: the model's end-of-sequence token (ChatML's `<|im_end|>` for SmolLM2).
    let endToken: Int32
    let tokenizer: ByteLevelBPETokenizer
    let maxLength: Int
    /// Each test example's prompt ids and its first reference's ids (with the end token), both cut to fit.
    let testPrompts: [[Int32]], testReferences: [[Int32]]
    let testExamples: [Example]
    /// Prompts and answers cut to fit `maxLength`.
    private(set) var cut = 0
    private(set) var trainCompletions: [LanguageModelingExample] = [], validationCompletions: [LanguageModelingExample] = []

    init(prompt: PromptTemplate, settings: GenerationSettings, lm: DecoderLanguageModel, maxLength: Int, test: [Example],
         spec: SuiteSpec) throws {
        guard let end = lm.eosID else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["task.type"], field: "task.type",
                             message: "\(spec.model.path) declares no end-of-sequence token, so a generated answer could not end")
        }
        guard maxLength > settings.maxNewTokens else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["task.max_new_tokens"] ?? spec.lines["model.max_length"],
                             field: "task.max_new_tokens",
                             message: "\(settings.maxNewTokens) new tokens leave no room for a prompt in model.max_length \(maxLength)")
        }
        self.prompt = prompt
        self.settings = settings
        endToken = end
        tokenizer = lm.tokenizer
        self.maxLength = maxLength
        testExamples = test
        var prompts: [[Int32]] = [], references: [[Int32]] = []
        var cut = 0
        for example in test {
            let (prompt, answer) = Self.fit(example, prompt: prompt, tokenizer: lm.tokenizer, end: end, maxLength: maxLength,
                                            promptRoom: maxLength - settings.maxNewTokens, cut: &cut)
            prompts.append(prompt)
            references.append(answer)
        }
        testPrompts = prompts
        testReferences = references
        self.cut = cut
    }

    /// The answer's ids after the prompt, then the end token. Without a chat template a space
    /// separates prompt and answer unless the prompt ends in whitespace (lm-evaluation-harness's
    /// `target_delimiter`); in a chat the answer opens the assistant's turn as it is.
    static func answerIDs(_ answer: String, prompt: PromptTemplate, tokenizer: ByteLevelBPETokenizer, end: Int32) -> [Int32] {
        let separated = prompt.chat == nil && !(prompt.template.last?.isWhitespace ?? false) ? " " + answer : answer
        return tokenizer.encode(separated) + [end]
    }

    /// Prepares the completions candidates learn from the training and validation splits.
    mutating func learn(train: [Example], validation: [Example]) {
        trainCompletions = completions(train)
        validationCompletions = completions(validation)
    }

    /// Each example as a completion to learn: its prompt, then its first answer and the end token
    /// (the loss counts only those).
    mutating func completions(_ examples: [Example]) -> [LanguageModelingExample] {
        examples.map { example in
            let (prompt, answer) = Self.fit(example, prompt: prompt, tokenizer: tokenizer, end: endToken, maxLength: maxLength,
                                            promptRoom: maxLength - 1, cut: &cut)
            return LanguageModelingExample(ids: prompt + answer, firstTarget: prompt.count)
        }
    }

    /// An example's prompt and first answer cut to `maxLength` together: the answer keeps at most
    /// half (its end token last), the prompt at most `promptRoom` and what the answer leaves
    /// (`PromptTemplate.encode`: a long text loses its first tokens, the template stays whole).
    static func fit(_ example: Example, prompt: PromptTemplate, tokenizer: ByteLevelBPETokenizer, end: Int32, maxLength: Int,
                    promptRoom: Int, cut: inout Int) -> (prompt: [Int32], answer: [Int32]) {
        var answer = answerIDs(example.answers[0], prompt: prompt, tokenizer: tokenizer, end: end)
        if answer.count > maxLength / 2 {
            answer = Array(answer.prefix(maxLength / 2 - 1)) + [end]
            cut += 1
        }
        let ids = prompt.encode(example.text, tokenizer: tokenizer, room: min(promptRoom, maxLength - answer.count), cut: &cut)
        return (ids, answer)
    }

    var keyLines: [(name: String, value: String)] {
        [("task.type", "generation"), ("task.prompt", prompt.template), ("task.answer_field", settings.answerField),
         ("task.max_new_tokens", String(settings.maxNewTokens)),
         ("task.chat", prompt.chat.map { "chatml \($0.defaultSystemPrompt ?? "")" } ?? "none"), ("task.cut", "text-start")]
    }

    var notes: [String] {
        guard let example = testExamples.first else { return [] }
        return ["generation: prompt \(prompt.render(example.text).debugDescription) → greedy answer of up to "
                + "\(settings.maxNewTokens) tokens, scored against \(example.answers.map(\.debugDescription).joined(separator: " | "))"]
    }

    /// Tokens through the network to answer and score the test set once: each prompt with its
    /// reference in one forward (`generateAndScore`), then one position per new token.
    var evaluationTokens: Int {
        testPrompts.reduce(0) { $0 + $1.count } + testReferences.reduce(0) { $0 + $1.count } + testPrompts.count * settings.maxNewTokens
    }

    func measure(_ network: LlamaModel, seed: UInt64, label: String, observer: RunProgressObserver?, into run: inout SeedRun) throws {
        let started = Date()
        run.generations = try answers(network) { [weak observer] done in
            observer?.scoring(label, done: done, of: testExamples.count, seconds: Date().timeIntervalSince(started))
        }
    }

    /// The network's answer to every test example, scored against its references, with the first
    /// reference's loss. `progress` gets the examples done.
    func answers(_ network: LlamaModel, progress: ((Int) -> Void)? = nil) throws -> [GeneratedAnswer] {
        // Prompts of similar length decode together (`generate(prompts:)` steps through the longest);
        // the references are scored in the same first forward.
        let order = testPrompts.indices.sorted { (testPrompts[$0].count, $0) < (testPrompts[$1].count, $1) }
        var outputs = [String](repeating: "", count: testPrompts.count)
        var logProbabilities = [Double](repeating: 0, count: testPrompts.count)
        var done = 0
        for start in stride(from: 0, to: order.count, by: Self.generationBatchSize) {
            let members = Array(order[start..<min(start + Self.generationBatchSize, order.count)])
            let (generated, scores) = try network.generateAndScore(
                prompts: members.map { testPrompts[$0] }, references: members.map { testReferences[$0] },
                maxNewTokens: settings.maxNewTokens, stop: [endToken])
            for (m, member) in members.enumerated() {
                let tokens = generated[m]
                let answer = tokens.last == endToken ? Array(tokens.dropLast()) : tokens
                outputs[member] = tokenizer.decode(answer, skipSpecial: true).trimmingCharacters(in: .whitespacesAndNewlines)
                logProbabilities[member] = scores[m]
            }
            done += members.count
            progress?(done)
        }
        return testExamples.indices.map { index in
            GeneratedAnswer(id: testExamples[index].id, output: outputs[index], references: testExamples[index].answers,
                            referenceLoss: -logProbabilities[index], referenceTokens: testReferences[index].count)
        }
    }
}
