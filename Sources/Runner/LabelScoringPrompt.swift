import Foundation
import Model
import Suites
import Tokenizer

/// How an example is put to a decoder: its text in a template at `{text}`, optionally as the user
/// turn of the model's chat template (the assistant's reply then follows).
struct PromptTemplate {
    let template: String
    let chat: ChatTemplate?

    func render(_ text: String) -> String {
        let filled = template.replacingOccurrences(of: "{text}", with: text)
        guard let chat else { return filled }
        return chat.render([ChatTemplate.Message(role: "user", content: filled)], addGenerationPrompt: true)
    }

    /// The prompt of `text` as token ids, at most `room` of them: a prompt too long loses the first
    /// tokens of its text, the template (the instruction, a chat's turns) staying whole — the end of
    /// the text, next to the answer, is what the answer depends on most, as lm-evaluation-harness
    /// keeps the end of a context. Only when the template alone does not fit is the rendered
    /// prompt itself cut from the start. `cut` counts the prompts cut.
    func encode(_ text: String, tokenizer: ByteLevelBPETokenizer, room: Int, cut: inout Int) -> [Int32] {
        let ids = tokenizer.encode(render(text))
        guard ids.count > room else { return ids }
        cut += 1
        let textIDs = tokenizer.encode(text)
        var keep = textIDs.count - (ids.count - room)
        // Tokens at the cut can merge differently: drop a few more until the whole fits.
        while keep > 0 {
            let shortened = tokenizer.encode(render(tokenizer.decode(Array(textIDs.suffix(keep)))))
            if shortened.count <= room { return shortened }
            keep -= max(1, shortened.count - room)
        }
        return Array(ids.suffix(room))
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

    func render(_ text: String) -> String { PromptTemplate(template: template, chat: chat).render(text) }

    /// Each class's verbaliser as token ids; refused, naming `field`, when one has no tokens or two
    /// are the same tokens (classes whose verbalisers merely start alike are told apart by their
    /// later tokens), or when `model.max_length` leaves no room for a prompt before the longest.
    func verbalizerIDs(tokenizer: ByteLevelBPETokenizer, labels: [String], spec: SuiteSpec, field: String) throws -> [[Int32]] {
        let ids = verbalizers.map(tokenizer.encode)
        if let index = ids.firstIndex(where: \.isEmpty) {
            throw SuiteError(file: spec.sourcePath, line: spec.lines[field], field: field, message: "the verbaliser of \"\(labels[index])\" has no tokens")
        }
        if Set(ids).count < ids.count {
            throw SuiteError(file: spec.sourcePath, line: spec.lines[field], field: field,
                             message: "two classes' verbalisers tokenise to the same tokens; give each class a distinct continuation")
        }
        let longest = ids.map(\.count).max()!
        guard spec.model.maxLength > longest else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["model.max_length"] ?? spec.lines["model"], field: "model.max_length",
                             message: "\(spec.model.maxLength) tokens leave no room for a prompt before a \(longest)-token verbaliser")
        }
        return ids
    }

    /// Each text's prompt as token ids, with room for the longest verbaliser in `maxLength`
    /// (`PromptTemplate.encode`: a long text loses its first tokens); `cut` counts those cut.
    func encode(_ texts: [String], tokenizer: ByteLevelBPETokenizer, maxLength: Int, verbalizerIDs: [[Int32]],
                cut: inout Int) -> [[Int32]] {
        let room = maxLength - verbalizerIDs.map(\.count).max()!
        let prompt = PromptTemplate(template: template, chat: chat)
        return texts.map { prompt.encode($0, tokenizer: tokenizer, room: room, cut: &cut) }
    }
}

/// A retention task a decoder answers zero-shot: its prompts and the class of each.
struct ZeroShotSet {
    /// `zero_shot:<name>`.
    let name: String
    let question: LabelScoringPrompt
    let verbalizerIDs: [[Int32]]
    let labels: [Int]
    let prompts: [[Int32]]

    /// Tokens through the network to score it once.
    var tokens: Int {
        prompts.reduce(0) { $0 + $1.count } * (verbalizerIDs.allSatisfy { $0.count == 1 } ? 1 : verbalizerIDs.count)
    }

    /// The share of examples whose own class scores highest (ties to the first class, as argmax).
    func accuracy(_ network: LlamaModel) throws -> Double {
        let scores = try network.continuationScores(prompts: prompts, continuations: verbalizerIDs)
        let correct = zip(scores, labels).filter { scores, label in scores.indices.max { (scores[$0], -$0) < (scores[$1], -$1) } == label }.count
        return Double(correct) / Double(max(labels.count, 1))
    }
}
