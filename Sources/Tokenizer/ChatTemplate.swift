/// A chat prompt format: how a conversation becomes the text an instruct model was trained on.
///
/// ChatML (Qwen, SmolLM, many fine-tunes) is recognised from the model's Jinja template and
/// rendered here, identically to `apply_chat_template`: an optional default system message when the
/// conversation does not start with one, then `<|im_start|>{role}\n{content}<|im_end|>\n` per
/// message, then `<|im_start|>assistant\n` when a reply is wanted. Content is verbatim (a typed
/// special token stays one). Templates that are not ChatML are refused by name rather than
/// approximated.
public struct ChatTemplate: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public let role: String
        public let content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    /// The system message inserted when the first message is not a system message (nil: none).
    public let defaultSystemPrompt: String?
    /// The Jinja text it was recognised from (what a saved tokenizer_config.json carries); nil when built directly.
    public let source: String?

    public init(defaultSystemPrompt: String?) { self.defaultSystemPrompt = defaultSystemPrompt; source = nil }

    /// The ChatML template of a Jinja template text, or nil when the text is not ChatML.
    public init?(jinja: String) {
        guard jinja.contains("'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'")
                || jinja.contains("'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>'") else { return nil }
        // SmolLM2's default: `{{ '<|im_start|>system\nYou are …<|im_end|>\n' }}` when messages[0] is not system.
        let opening = "{{ '<|im_start|>system\n"
        if jinja.contains("messages[0]['role'] != 'system'"), let start = jinja.range(of: opening),
           let end = jinja.range(of: "<|im_end|>", range: start.upperBound..<jinja.endIndex) {
            defaultSystemPrompt = String(jinja[start.upperBound..<end.lowerBound])
        } else {
            defaultSystemPrompt = nil
        }
        source = jinja
    }

    public func render(_ messages: [Message], addGenerationPrompt: Bool) -> String {
        var text = ""
        if let defaultSystemPrompt, let first = messages.first, first.role != "system" {
            text += "<|im_start|>system\n\(defaultSystemPrompt)<|im_end|>\n"
        }
        for message in messages { text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n" }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }
}
