import ArgumentParser
import Evaluation
import Foundation
import Reports
import Runner
import Suites

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Train K seeds per candidate and report which margins the suite's gate can decide.",
        discussion: """
        Writes DIR/calibration.json, DIR/calibration.html, the K-seed DIR/results.json and the first
        seed's adapters (default reports/<suite name>-calibration/). Its units go to the cache, so a
        later compare with --seeds K trains nothing. Point the suite's calibration: key at calibration.json and
        compare warns when a check's margin is below what the run's seed count can decide. With
        --from, reads the seeds of an existing results.json instead of training.

        Example:
          evalharness calibrate suites/sentiment.yaml --seeds 8 --candidates full,lora
        """
    )

    @Argument(help: "The suite file.") var suite: String
    @Option(help: "Only these candidates, comma-separated.") var candidates: String?
    @Option(help: "Seeds trained per candidate (at least 2).") var seeds: Int = 8
    @Option(help: "Use the seed runs of this results.json instead of training.") var from: String?
    @Option(help: "The A/A false-fail rate each margin keeps.") var falseFailRate: Double = 0.05
    @Option(help: "The power the detectable regression is caught with.") var power: Double = 0.8
    @Option(help: "Output folder (default: reports/<suite name>-calibration).") var out: String?
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @OptionGroup var cacheOptions: CacheOptions
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        guard seeds >= 2, seeds <= 1000 else { throw ValidationError("--seeds must be from 2 to 1000 (got \(seeds))") }
        guard falseFailRate > 0, falseFailRate < 0.5 else { throw ValidationError("--false-fail-rate must be in (0, 0.5)") }
        guard power > 0.5, power < 1 else { throw ValidationError("--power must be in (0.5, 1)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
    }

    func run() throws {
        try reportingErrors {
            let spec = try SuiteSpec.load(path: suite)
            let directory = URL(fileURLWithPath: out ?? "reports/\(spec.name)-calibration")
            let outputs = try openOutputSet(directory)
            defer { outputs.discard() }
            let selected = candidates.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
            var run: RunResult
            if let from {
                run = try loadResults(from)
                if let selected { run.candidates = run.candidates.filter { selected.contains($0.name) } }
            } else {
                // Its seeds are units like compare's: cached ones are reused, and a later
                // `compare --seeds K` finds these in the cache — with the first seed's adapter, which
                // compare exports, so it is exported here too.
                let options = RunOptions(adaptersDirectory: outputs.url("adapters"), candidates: selected, seeds: seeds,
                                         threads: threads, cache: cacheOptions.cache)
                run = try SuiteRunner(spec: spec, options: options, observer: ProgressPrinter(quiet: quiet)).run()
                try stageReports(run, baseline: nil, into: outputs)
            }
            let tooFew = run.candidates.filter { $0.completedSeedRuns.count < 2 }.map(\.name)
            if !tooFew.isEmpty {
                throw InputError(description: "\(from ?? suite): candidates \(tooFew.joined(separator: ", ")) have fewer than 2 completed seed runs; calibration needs at least 2")
            }
            let calibration = Calibration.compute(
                run: run, metrics: gatedMetrics(spec), falseFailRate: falseFailRate, power: power,
                level: spec.comparison.confidence, resamples: spec.comparison.bootstrapResamples, seed: run.seed)
            try finishing(outputs) { try CalibrationReport.write(calibration, to: outputs.staging) }
            print(CalibrationReport.text(calibration))
            cacheOptions.prune(quiet: quiet)
            print("wrote \(directory.path)/calibration.json, calibration.html")
        }
    }

    /// The test metrics (headline, per-class, ranking, or a generation task's) the suite's checks
    /// decide on intervals (accuracy, or exact match, when there are none).
    func gatedMetrics(_ spec: SuiteSpec) -> [String] {
        let generation = spec.task.generation != nil
        var out: [String] = []
        for check in spec.checks
        where TestMetric.named(check.metric, labels: spec.task.labels, positiveClass: spec.task.positiveClass, generation: generation) != nil
            && !out.contains(check.metric) {
            if case .nonInferior = check.kind { out.append(check.metric) } else if check.bound != .value { out.append(check.metric) }
        }
        return out.isEmpty ? [generation ? GenerationMetric.exactMatch.rawValue : "accuracy"] : out
    }
}
