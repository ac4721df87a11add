import Foundation
import Kernels
@testable import Model
import TestSupport
import XCTest

/// The Llama decoder against Hugging Face `transformers` in fp32 (fixtures from
/// scripts/fixtures/make_decoder_fixture.py): a tiny random model from a safetensors folder to
/// 1e-5, and SmolLM2-135M-Instruct from its GGUF — last-layer logits on 57 texts, greedy generation
/// on 12 chat prompts, verbaliser scores.
final class LlamaParityTests: XCTestCase {
    static let real: Result<LlamaModel, Error> = Result { try LlamaModel.load(TestPaths.decoderModel()) }

    /// Two workers, as the fixtures were generated with and CI has: the row split decides sgemm's
    /// blocking, and with it the last bits of every sum.
    override func setUp() { Parallel.configure(threads: 2) }

    func testTinyModelLogitsAndHiddenStates() throws {
        let model = try LlamaModel.load(TestPaths.fixtures.appendingPathComponent("decoder/tiny_llama"))
        XCTAssertEqual(model.config, LlamaConfig(vocabSize: 64, hiddenSize: 32, intermediateSize: 48, layers: 2, heads: 4, kvHeads: 2,
                                                 headDim: 8, ropeTheta: 10_000, rmsNormEps: 1e-5, contextLength: 128, tiedEmbeddings: true))
        let fixture = try TestPaths.json("decoder/tiny_llama/reference.json")
        for entry in try XCTUnwrap(fixture["cases"] as? [[String: Any]]) {
            let ids = (entry["input_ids"] as! [Any]).int32s
            let expected = (entry["logits"] as! [[Any]]).flatMap(\.floats)
            let logits = try model.logits(ids)
            let worst = zip(logits, expected).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5, "\(ids.count) tokens: max |Δ logit| \(worst)")
            let hidden = try XCTUnwrap(entry["hidden_states"] as? [String: Any])
            let finalNorm = (hidden["final_norm"] as! [[Any]]).flatMap(\.floats)
            let states = try model.hiddenStates([ids]).states
            XCTAssertLessThan(zip(states, finalNorm).map { abs($0 - $1) }.max()!, 1e-5)
        }
        // A batch of different lengths gives each sequence the logits it has alone (padding is
        // causal-safe; only sgemm's blocking over more rows may change a rounding).
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]]).map { ($0["input_ids"] as! [Any]).int32s }
        let (states, T) = try model.hiddenStates(cases)
        for (b, ids) in cases.enumerated() {
            let batched = model.logits(ofRows: states, rows: Array((b * T)..<(b * T + ids.count)))
            XCTAssertLessThan(zip(batched, try model.logits(ids)).map { abs($0 - $1) }.max()!, 1e-6)
        }
    }

    func testRealModelLogitsOnFiftyTexts() throws {
        let model = try Self.real.get()
        XCTAssertEqual(model.config.parameterCount, 134_515_008)
        let fixture = try TestPaths.json("decoder/logits.json")
        // The same weights and ids through transformers in float64 (make_decoder_fixture.py --only
        // logits64): the exact answer both fp32 implementations round away from.
        let exact = try XCTUnwrap(try TestPaths.json("decoder/logits_float64.json")["texts"] as? [[String: Any]])
        let fixedIDs = (fixture["fixed_vocab_ids"] as! [Any]).map { ($0 as! NSNumber).intValue }
        let texts = try XCTUnwrap(fixture["texts"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(texts.count, 50)
        XCTAssertEqual(exact.count, texts.count)
        var worst: Float = 0, worstLSE = 0.0, topMismatches: [String] = [], overTarget = 0, compared = 0
        var oursFromExact = 0.0, referenceFromExact = 0.0, oursOver = 0, referenceOver = 0
        for (text, exactText) in zip(texts, exact) {
            let ids = (text["input_ids"] as! [Any]).int32s
            XCTAssertEqual((exactText["input_ids"] as! [Any]).int32s, ids)
            let logits = try model.logits(ids)
            let V = model.config.vocabSize
            for (t, (position, exactPosition)) in zip(text["positions"] as! [[String: Any]], exactText["positions"] as! [[String: Any]]).enumerated() {
                let row = Array(logits[(t * V)..<((t + 1) * V)])
                let ids = fixedIDs + (position["top_ids"] as! [Int])
                let expected = (position["fixed"] as! [Any]).floats + (position["top_logits"] as! [Any]).floats
                let exactValues = (exactPosition["fixed"] as! [Any]).doubles + (exactPosition["top_logits"] as! [Any]).doubles
                for (id, (reference, exactValue)) in zip(ids, zip(expected, exactValues)) {
                    let difference = abs(row[id] - reference)
                    worst = max(worst, difference)
                    compared += 1
                    if difference > 1e-4 { overTarget += 1 }
                    let ours = abs(Double(row[id]) - exactValue), theirs = abs(Double(reference) - exactValue)
                    oursFromExact = max(oursFromExact, ours)
                    referenceFromExact = max(referenceFromExact, theirs)
                    if ours > 1e-4 { oursOver += 1 }
                    if theirs > 1e-4 { referenceOver += 1 }
                }
                let maximum = Double(row.max()!)
                let lse = maximum + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1) - maximum) })
                worstLSE = max(worstLSE, abs(lse - (position["lse"] as! Double)))
                let top = row.indices.max { row[$0] < row[$1] }!
                if top != (position["top_ids"] as! [Int])[0] { topMismatches.append("text \(text["index"]!) position \(t)") }
            }
            if let last = text["last_row"] as? [Any] {
                let expected = last.floats
                let row = Array(logits[((ids.count - 1) * V)..<(ids.count * V)])
                worst = max(worst, zip(row, expected).map { abs($0 - $1) }.max()!)
            }
        }
        print("SmolLM2 logits vs transformers fp32 over \(texts.count) texts: max |Δ| \(worst), \(overTarget) of \(compared) above 1e-4, max |Δ lse| \(worstLSE)")
        print("SmolLM2 logits vs the float64 forward: evalharness max |Δ| \(oursFromExact) (\(oursOver) above 1e-4), transformers fp32 max |Δ| \(referenceFromExact) (\(referenceOver) above 1e-4)")
        // Two fp32 implementations differ by up to 2.2e-4 here (two workers; the issue's target is
        // 1e-4) because each rounds away from the exact value on its own: transformers fp32 is
        // 1.37e-4 from the float64 forward on these ids (and its own sdpa and eager paths differ by
        // 1.1e-4); evalharness measured 1.14e-4 (2026-11-30, two workers). What can be asked of
        // an fp32 forward is to be as close to the exact one as PyTorch is.
        XCTAssertLessThan(worst, 4e-4, "max |Δ logit| against transformers fp32 over every compared logit")
        XCTAssertLessThan(oursFromExact, 1.2 * referenceFromExact, "evalharness is as accurate as transformers fp32, against float64")
        XCTAssertLessThan(worstLSE, 2e-4)
        XCTAssertEqual(topMismatches, [])
    }

    /// Weights kept in their GGUF blocks give the logits decoding them once gives (the same values
    /// in the same products), in a fifth of the memory.
    func testNativeBlocksEqualFloat32Weights() throws {
        let native = try Self.real.get()
        let float32 = try LlamaModel.load(TestPaths.decoderModel(), storage: .float32)
        XCTAssertLessThan(native.weights.byteCount, 110_000_000)
        XCTAssertGreaterThan(float32.weights.byteCount, 530_000_000)
        let ids: [[Int32]] = [[504, 3575, 282, 4649, 314], [1, 4093, 198, 19556, 17, 2, 198]]
        let (a, T) = try native.hiddenStates(ids)
        let (b, _) = try float32.hiddenStates(ids)
        // The same values in differently blocked products (panels of output rows): last-bit differences.
        XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-4)
        let rows = Array(0..<(2 * T))
        XCTAssertLessThan(zip(native.logits(ofRows: a, rows: rows), float32.logits(ofRows: b, rows: rows)).map { abs($0 - $1) }.max()!, 1e-4)
    }

    func testGreedyGenerationOnChatPrompts() throws {
        let model = try Self.real.get()
        let fixture = try TestPaths.json("decoder/generation.json")
        let prompts = try XCTUnwrap(fixture["prompts"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(prompts.count, 10)
        for prompt in prompts {
            let ids = (prompt["input_ids"] as! [Any]).int32s
            let expected = (prompt["generated_ids"] as! [Any]).int32s
            let generated = try model.generate(prompt: ids, maxNewTokens: 20, stop: [2])
            XCTAssertEqual(generated, expected, "prompt \(prompt["index"]!): \(prompt["generated_text"] ?? "")")
        }
        // All prompts at once (lengths differ: the shorter ones decode while the longer are still read)
        // give each prompt's own greedy answer.
        let batched = try model.generate(prompts: prompts.map { ($0["input_ids"] as! [Any]).int32s }, maxNewTokens: 20, stop: [2])
        XCTAssertGreaterThan(Set(prompts.map { ($0["input_ids"] as! [Any]).count }).count, 1, "prompts of several lengths")
        for (prompt, generated) in zip(prompts, batched) {
            XCTAssertEqual(generated, (prompt["generated_ids"] as! [Any]).int32s, "batched prompt \(prompt["index"]!)")
        }
        // Scoring each prompt's own reference (here its first 6 expected tokens) in the same first forward
        // changes no answer, and the scores equal scoring each reference alone.
        let inputs = prompts.map { ($0["input_ids"] as! [Any]).int32s }
        let references = prompts.map { Array(($0["generated_ids"] as! [Any]).int32s.prefix(6)) }
        let (again, scores) = try model.generateAndScore(prompts: inputs, references: references, maxNewTokens: 20, stop: [2])
        XCTAssertEqual(again, batched)
        for index in inputs.indices {
            let alone = try model.continuationLogProbabilities(prompt: inputs[index], continuations: [references[index]])[0].reduce(0, +)
            XCTAssertEqual(scores[index], alone, accuracy: 1e-4, "prompt \(index)")
        }
        let france = try XCTUnwrap(fixture["capital_of_france"] as? [String: Any])
        let ids = (france["input_ids"] as! [Any]).int32s
        let logits = try model.logits(ids)
        let V = model.config.vocabSize
        let last = Array(logits[((ids.count - 1) * V)...])
        let p = Foundation.exp(model.logProbabilities(last, targets: [Int32(france["paris_id"] as! Int)])[0])
        XCTAssertEqual(p, france["p_paris"] as! Double, accuracy: 1e-4)
    }

    /// The causal-LM loss of every fixture text, batched, against transformers' `loss`.
    func testLanguageModelLossOfEveryText() throws {
        let model = try Self.real.get()
        let texts = try XCTUnwrap(try TestPaths.json("decoder/logits.json")["texts"] as? [[String: Any]])
        let losses = try model.languageModelLoss(texts.map { ($0["input_ids"] as! [Any]).int32s })
        var worst = 0.0
        for (text, measured) in zip(texts, losses) {
            guard let expected = text["loss"] as? Double else { XCTAssertNil(measured.loss); continue }
            worst = max(worst, abs(try XCTUnwrap(measured.loss) - expected))
        }
        print("SmolLM2 causal-LM loss vs transformers over \(texts.count) texts: max |Δ| \(worst)")
        XCTAssertLessThan(worst, 1e-4)
    }

    func testVerbaliserScores() throws {
        let model = try Self.real.get()
        let fixture = try TestPaths.json("decoder/scoring.json")
        var worst = 0.0
        for entry in try XCTUnwrap(fixture["cases"] as? [[String: Any]]) {
            let prompt = (entry["prompt_ids"] as! [Any]).int32s
            let continuations = entry["continuations"] as! [[String: Any]]
            let scores = try model.continuationLogProbabilities(prompt: prompt, continuations: continuations.map { ($0["ids"] as! [Any]).int32s })
            for (score, continuation) in zip(scores, continuations) {
                for (mine, theirs) in zip(score, continuation["token_logprobs"] as! [Double]) { worst = max(worst, abs(mine - theirs)) }
            }
            let best = scores.indices.max { scores[$0].reduce(0, +) < scores[$1].reduce(0, +) }!
            XCTAssertEqual(best, entry["argmax_sum"] as? Int)
        }
        XCTAssertLessThan(worst, 1e-4, "max |Δ log p| per token")
    }
}
