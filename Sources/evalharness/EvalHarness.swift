import ArgumentParser
import Foundation
import Kernels
import Model

@main
enum Entry {
    static func main() {
        BLASKernelSelection.reexecIfBeneficial()
        do {
            var command = try EvalHarness.parseAsRoot()
            try command.run()
        } catch {
            // Usage errors exit 2 (bad input or usage), not ArgumentParser's 64; help and
            // explicit exit codes pass through unchanged.
            if EvalHarness.exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((EvalHarness.fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            EvalHarness.exit(withError: error)
        }
    }
}

struct EvalHarness: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evalharness",
        abstract: "Fine-tune and evaluate transformer adapters on the CPU, and gate merges on the results.",
        subcommands: [CompareCommand.self, PlanCommand.self, MergeCommand.self, CacheCommand.self, HistoryCommand.self, GateCommand.self, CalibrateCommand.self, ReportCommand.self, TokenizeCommand.self, EmbedCommand.self, GenerateCommand.self, ScoreCommand.self, PerplexityCommand.self, BenchCommand.self]
    )
}

/// Options every command that loads a model shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Hugging Face model folder (config.json, model.safetensors, vocab.txt).")
    var model: String = "models/all-MiniLM-L6-v2"

    @Option(name: .long, help: "Worker threads for the kernels (default: the number of cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    var modelDirectory: URL { URL(fileURLWithPath: model) }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }
}
