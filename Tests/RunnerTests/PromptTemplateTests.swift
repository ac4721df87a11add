import Foundation
import Model
@testable import Runner
import Tokenizer
import XCTest

/// How a decoder's prompt is cut to fit: the text loses its first tokens, the template — the
/// instruction and a chat's turns — stays whole.
final class PromptTemplateTests: XCTestCase {
    func testALongTextIsCutInsideTheTemplate() throws {
        let lm = try DecoderLanguageModel.load(CommandLineTool.root.appendingPathComponent(
            "models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"))
        let text = (1...60).map { "word\($0)" }.joined(separator: " ")
        for chat in [lm.chatTemplate, nil] {
            let prompt = PromptTemplate(template: "Define the last word.\n{text}\nAnswer:", chat: chat)
            var cut = 0
            let whole = prompt.encode(text, tokenizer: lm.tokenizer, room: 1000, cut: &cut)
            XCTAssertEqual(cut, 0)
            XCTAssertEqual(whole, lm.tokenizer.encode(prompt.render(text)))
            let ids = prompt.encode(text, tokenizer: lm.tokenizer, room: 80, cut: &cut)
            XCTAssertEqual(cut, 1)
            XCTAssertLessThanOrEqual(ids.count, 80)
            XCTAssertGreaterThan(ids.count, 70, "little more than needed is cut")
            let rendered = lm.tokenizer.decode(ids)
            let opening = prompt.render("").components(separatedBy: "Define the last word.")[0] + "Define the last word.\n"
            XCTAssertTrue(rendered.hasPrefix(opening), rendered)
            XCTAssertTrue(rendered.hasSuffix("word60\nAnswer:" + (chat == nil ? "" : "<|im_end|>\n<|im_start|>assistant\n")), rendered)
            XCTAssertFalse(rendered.contains("word1 "), "the text's start is what goes")
        }
    }
}
