import ArgumentParser
import Foundation
import Kernels
import Model
import Tokenizer

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenise JSONL texts with the model's WordPiece vocabulary.",
        discussion: """
        Reads lines {"id": …, "text": …} and writes {"id": …, "input_ids": [...]} per line to stdout,
        with [CLS] and [SEP], as Hugging Face's BertTokenizerFast.

        Example:
          evalharness tokenize --model models/all-MiniLM-L6-v2 texts.jsonl
        """
    )

    @Option(name: .long, help: "Hugging Face model folder (vocab.txt is read).")
    var model: String = "models/all-MiniLM-L6-v2"

    @Option(name: .long, help: "Truncate to at most this many tokens, [CLS] and [SEP] included.")
    var maxLength: Int?

    @Argument(help: "JSONL file with one {\"id\": …, \"text\": …} object per line.")
    var file: String

    func validate() throws {
        if let maxLength, maxLength < 2 {
            throw ValidationError("--max-length must be at least 2 ([CLS] and [SEP]); got \(maxLength)")
        }
    }

    func run() throws {
        try reportingErrors {
            let tokenizer = try WordPieceTokenizer.load(modelDirectory: URL(fileURLWithPath: model))
            var out = LineWriter()
            for record in try readTextRecords(path: file) {
                let ids = tokenizer.encode(record.text, maxLength: maxLength)
                out.write("{\"id\": \(record.idJSON), \"input_ids\": [\(ids.map(String.init).joined(separator: ", "))]}")
            }
            out.flush()
        }
    }
}

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentence embeddings (mean-pooled, L2-normalised) of JSONL texts.",
        discussion: """
        Reads lines {"id": …, "text": …} and writes {"id": …, "embedding": [...]} per line to stdout,
        as sentence-transformers' encode(normalize_embeddings=True).

        Example:
          evalharness embed --model models/all-MiniLM-L6-v2 texts.jsonl > embeddings.jsonl
        """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Truncate texts to this many tokens (sentence-transformers' default: 256).")
    var maxLength: Int = SentenceEmbedder.defaultMaxLength

    @Option(name: .long, help: "Texts per forward pass.")
    var batchSize: Int = 32

    @Argument(help: "JSONL file with one {\"id\": …, \"text\": …} object per line.")
    var file: String

    func validate() throws {
        guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2 ([CLS] and [SEP]); got \(maxLength)") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1; got \(batchSize)") }
    }

    func run() throws {
        try reportingErrors {
            Parallel.configure(threads: modelOptions.threads)
            let records = try readTextRecords(path: file)
            let embedder = try SentenceEmbedder.load(modelDirectory: modelOptions.modelDirectory)
            let embeddings = embedder.embed(records.map(\.text), maxLength: maxLength, batchSize: batchSize)
            var out = LineWriter()
            for (record, embedding) in zip(records, embeddings) {
                out.write("{\"id\": \(record.idJSON), \"embedding\": [\(embedding.map { "\($0)" }.joined(separator: ", "))]}")
            }
            out.flush()
        }
    }
}
