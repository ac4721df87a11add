import ArgumentParser
import Foundation
import Kernels
import Model
import Tokenizer

/// `--model` and `--threads` of the decoder commands.
struct DecoderModelOptions: ParsableArguments {
    @Option(name: .long, help: "A GGUF file (Llama architecture) or a Hugging Face Llama folder (config.json, model.safetensors, tokenizer.json).")
    var model: String = "models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(name: .long, help: "Worker threads for the kernels (default: the number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "How a GGUF's quantised weights are held: native (as stored, decoded inside each product; 5× less memory) or float32 (decoded once; faster one-token steps).")
    var weights: String = LlamaWeights.Storage.native.rawValue

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        guard LlamaWeights.Storage(rawValue: weights) != nil else {
            throw ValidationError("--weights must be native or float32 (got \"\(weights)\")")
        }
    }

    func load() throws -> DecoderLanguageModel {
        Parallel.configure(threads: threads)
        return try DecoderLanguageModel.load(URL(fileURLWithPath: model), storage: LlamaWeights.Storage(rawValue: weights)!)
    }
}

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a decoder LM (greedy), as a chat turn when the model has a chat template.",
        discussion: """
        The prompt becomes a user message in the model's chat format (ChatML for SmolLM2), unless
        --raw; the reply streams to stdout as it is generated.

        Examples:
          evalharness generate "What is the capital of France?"
          evalharness generate --raw "The capital of France is" --max-tokens 8
        """
    )

    @OptionGroup var modelOptions: DecoderModelOptions
    @Argument(help: "The prompt.") var prompt: String
    @Option(help: "A system message (chat format only; default: the template's own).") var system: String?
    @Flag(help: "Feed the prompt as it is, without the chat template.") var raw = false
    @Option(name: .customLong("max-tokens"), help: "Tokens to generate at most.") var maxTokens: Int = 128

    func validate() throws {
        guard (1...8192).contains(maxTokens) else { throw ValidationError("--max-tokens must be from 1 to 8192 (got \(maxTokens))") }
    }

    func run() throws {
        try reportingErrors {
            let lm = try modelOptions.load()
            var text = prompt
            if !raw {
                guard let template = lm.chatTemplate else {
                    throw InputError(description: "\(modelOptions.model): the model has no chat template this release renders (ChatML); use --raw")
                }
                let messages = (system.map { [ChatTemplate.Message(role: "system", content: $0)] } ?? [])
                    + [ChatTemplate.Message(role: "user", content: prompt)]
                text = template.render(messages, addGenerationPrompt: true)
            }
            let ids = lm.tokenizer.encode(text)
            var generated: [Int32] = [], printed = ""
            let out = FileHandle.standardOutput
            _ = try lm.network.generate(prompt: ids, maxNewTokens: maxTokens, stop: lm.stopIDs) { token in
                generated.append(token)
                let decoded = lm.tokenizer.decode(generated, skipSpecial: true)
                // Hold back an incomplete UTF-8 sequence until its last byte arrives.
                guard !decoded.hasSuffix("\u{FFFD}"), decoded.hasPrefix(printed) else { return }
                out.write(Data(decoded.dropFirst(printed.count).utf8))
                printed = decoded
            }
            out.write(Data("\n".utf8))
        }
    }
}

struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score continuations of a prompt with a decoder LM: log-probability of each, and their share.",
        discussion: """
        Each continuation is tokenised on its own and appended to the prompt's tokens (how label
        scoring classifies: the label whose verbaliser is most probable wins).

        Example:
          evalharness score --prompt $'Review: a wonderful, moving film.\\nSentiment:' --continuation " positive" --continuation " negative"
        """
    )

    @OptionGroup var modelOptions: DecoderModelOptions
    @Option(help: "The prompt (the context).") var prompt: String
    @Option(help: "A continuation to score (repeat the option for several).") var continuation: [String]
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        try reportingErrors {
            guard !continuation.isEmpty else { throw InputError(description: "score: give at least one --continuation") }
            let lm = try modelOptions.load()
            let promptIDs = lm.tokenizer.encode(prompt)
            let continuationIDs = continuation.map(lm.tokenizer.encode)
            if let empty = continuationIDs.firstIndex(where: \.isEmpty) {
                throw InputError(description: "score: continuation \(empty + 1) (\"\(continuation[empty])\") has no tokens")
            }
            let scores = try lm.network.continuationLogProbabilities(prompt: promptIDs, continuations: continuationIDs)
            let sums = scores.map { $0.reduce(0, +) }
            let top = sums.max()!
            let total = sums.reduce(0.0) { $0 + Foundation.exp($1 - top) }
            let shares = sums.map { Foundation.exp($0 - top) / total }
            if json {
                struct Row: Encodable { let text: String; let tokens: [Int32]; let logprob: Double; let token_logprobs: [Double]; let share: Double }
                let rows = continuation.indices.map { Row(text: continuation[$0], tokens: continuationIDs[$0], logprob: sums[$0],
                                                          token_logprobs: scores[$0], share: shares[$0]) }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(rows), as: UTF8.self))
                return
            }
            print("continuation".padding(toLength: 24, withPad: " ", startingAt: 0) + "  tokens  log p       share")
            for index in continuation.indices {
                let name = continuation[index].debugDescription
                print(name.padding(toLength: 24, withPad: " ", startingAt: 0) + "  " + String(format: "%6d  %9.4f  %6.1f %%", continuationIDs[index].count, sums[index], 100 * shares[index]))
            }
        }
    }
}

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Causal-LM loss and perplexity of a decoder LM on JSONL texts.",
        discussion: """
        Reads lines {"id": …, "text": …}; each text is tokenised without special tokens and cut to
        --max-length tokens. Prints each text's loss (mean negative log-likelihood per predicted
        token) with --per-text, and the corpus's token-weighted loss and perplexity exp(loss).

        Example:
          evalharness perplexity texts.jsonl --max-length 256
        """
    )

    @OptionGroup var modelOptions: DecoderModelOptions
    @Argument(help: "JSONL file with one {\"id\": …, \"text\": …} object per line.") var file: String
    @Option(name: .customLong("max-length"), help: "Tokens per text at most.") var maxLength: Int = 512
    @Option(name: .customLong("batch-size"), help: "Texts per forward pass.") var batchSize: Int = 8
    @Flag(name: .customLong("per-text"), help: "One JSON line per text, then the total.") var perText = false

    func validate() throws {
        guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2 (got \(maxLength))") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
    }

    func run() throws {
        try reportingErrors {
            let records = try readTextRecords(path: file)
            let lm = try modelOptions.load()
            guard maxLength <= lm.network.maxPositions else {
                throw InputError(description: "--max-length \(maxLength) is more than the model's \(lm.network.maxPositions) positions")
            }
            let sequences = records.map { Array(lm.tokenizer.encode($0.text).prefix(maxLength)) }
            if let empty = sequences.firstIndex(where: \.isEmpty) {
                throw InputError(description: "\(file): record \(empty + 1) has no tokens")
            }
            let losses = try lm.network.languageModelLoss(sequences, batchSize: batchSize)
            var total = 0.0, tokens = 0
            var out = LineWriter()
            for (record, measured) in zip(records, losses) {
                if let loss = measured.loss { total += loss * Double(measured.tokens); tokens += measured.tokens }
                if perText {
                    out.write("{\"id\": \(record.idJSON), \"loss\": \(measured.loss.map { String($0) } ?? "null"), \"tokens\": \(measured.tokens)}")
                }
            }
            guard tokens > 0 else { throw InputError(description: "\(file): no text has two tokens; nothing to predict") }
            let loss = total / Double(tokens)
            out.write("{\"texts\": \(records.count), \"predicted_tokens\": \(tokens), \"loss\": \(loss), \"perplexity\": \(Foundation.exp(loss))}")
            out.flush()
        }
    }
}
