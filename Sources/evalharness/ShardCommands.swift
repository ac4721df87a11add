import ArgumentParser
import Evaluation
import Foundation
import History
import Reports
import Runner
import Suites

/// `DIR/shard.json`: a shard's results, read by `merge`.
enum ShardFile {
    static let name = "shard.json"

    static func write(_ shard: ShardResult, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(shard).write(to: url)
    }

    /// A shard from a folder holding shard.json, or from the file itself.
    static func read(_ path: String) throws -> (source: String, shard: ShardResult, folder: URL) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError(description: "\(path): no such shard folder or file")
        }
        let file = isDirectory.boolValue ? URL(fileURLWithPath: path).appendingPathComponent(name) : URL(fileURLWithPath: path)
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw InputError(description: "\(file.path): not found or not readable (a shard folder holds \(name), written by compare --shard)")
        }
        let shard: ShardResult
        do {
            shard = try JSONDecoder().decode(ShardResult.self, from: data)
        } catch {
            throw InputError(description: "\(file.path): not a shard file (\(error))")
        }
        guard shard.format == ShardResult.format, shard.version == ShardResult.currentVersion else {
            throw InputError(description: "\(file.path): shard format \(shard.format) version \(shard.version) is not supported (expected \(ShardResult.format) \(ShardResult.currentVersion))")
        }
        return (file.path, shard, file.deletingLastPathComponent())
    }
}

/// `--cache DIR`, `--no-cache`, `--cache-limit`: the trained-unit cache of `compare` and `plan`.
struct CacheOptions: ParsableArguments {
    @Option(name: .customLong("cache"), help: "Cache of trained units (default: $EVALHARNESS_CACHE, else $XDG_CACHE_HOME/evalharness, else ~/.cache/evalharness).")
    var cacheDirectory: String?
    @Flag(name: .customLong("no-cache"), help: "Neither read nor write the cache: every unit trains.") var noCache = false
    @Option(name: .customLong("cache-limit"), help: "After the run, remove the least recently used units beyond this size (e.g. 2GiB, 500MB).")
    var cacheLimit: String = "5GiB"

    func validate() throws {
        if noCache && cacheDirectory != nil { throw ValidationError("--cache and --no-cache contradict each other") }
        _ = try limitBytes()
    }

    var cache: UnitCache? {
        noCache ? nil : UnitCache(directory: cacheDirectory.map { URL(fileURLWithPath: $0) } ?? UnitCache.defaultDirectory)
    }

    func limitBytes() throws -> Int {
        try ByteSize.parse(cacheLimit, option: "--cache-limit")
    }

    func prune(quiet: Bool) {
        guard let unitCache = cache, let limit = try? limitBytes() else { return }
        let (removed, bytes) = unitCache.prune(limit: limit)
        if removed > 0, !quiet {
            FileHandle.standardError.write(Data("cache: removed \(removed) least recently used unit(s), \(ByteSize.text(bytes)), to stay within \(cacheLimit)\n".utf8))
        }
    }
}

enum ByteSize {
    static func parse(_ text: String, option: String) throws -> Int {
        let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            if let value = Double(trimmed.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), value >= 0 {
                return Int(value * factor)
            }
        }
        if let value = Int(trimmed), value >= 0 { return value }
        throw ValidationError("\(option) expects a size such as 2GiB, 500MB or a number of bytes (got \"\(text)\")")
    }

    static func text(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30))
            : bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) : "\(bytes) bytes"
    }
}

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "List a suite's units of work (retention, then each candidate's seeds) with their cache keys and shards.",
        discussion: """
        Loads the model and the data to compute each unit's key; trains nothing. With --shards N,
        shows which shard (1-based) runs each unit and each shard's estimated share.

        Example:
          evalharness plan suites/sentiment.yaml --shards 4
        """
    )

    @Argument(help: "The suite file.") var suite: String
    @Option(help: "Only these candidates, comma-separated.") var candidates: String?
    @Option(help: "Override the suite's seed.") var seed: UInt64?
    @Option(help: "Override every candidate's number of seeds.") var seeds: Int?
    @Option(help: "Worker threads the run will use (part of every key).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Show the division into this many shards.") var shards: Int?
    @OptionGroup var cacheOptions: CacheOptions
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        try reportingErrors {
            if let shards, shards < 1 { throw InputError(description: "--shards must be at least 1 (got \(shards))") }
            let spec = try SuiteSpec.load(path: suite)
            let options = RunOptions(candidates: candidates.map { $0.split(separator: ",").map(String.init) }, seed: seed, seeds: seeds,
                                     threads: threads)
            let (plan, fingerprint) = try SuiteRunner(spec: spec, options: options).plan()
            let cache = cacheOptions.cache
            let assignment = shards.map { plan.assignment(count: $0) }
            if json {
                struct Row: Encodable {
                    let id: String, kind: String, candidate: String?, seed_index: Int?, training_seed: UInt64?, key: String
                    let estimated_cost: Double, cached: Bool, shard: Int?
                }
                struct Output: Encodable { let fingerprint: RunFingerprint; let units: [Row] }
                let rows = plan.units.enumerated().map { index, unit in
                    Row(id: unit.id, kind: unit.kind.rawValue, candidate: unit.candidate, seed_index: unit.seedIndex,
                        training_seed: unit.trainingSeed, key: unit.key, estimated_cost: unit.estimatedCost,
                        cached: cache?.contains(unit) ?? false, shard: assignment.map { $0[index] + 1 })
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(Output(fingerprint: fingerprint, units: rows)), as: UTF8.self))
                return
            }
            print("unit          key           cost      cached\(assignment == nil ? "" : "  shard")")
            var cachedCount = 0
            for (index, unit) in plan.units.enumerated() {
                let cached = cache?.contains(unit) ?? false
                if cached { cachedCount += 1 }
                let shard = assignment.map { "  \($0[index] + 1)" } ?? ""
                print(unit.id.padding(toLength: 13, withPad: " ", startingAt: 0) + " " + String(unit.key.prefix(12)) + "  "
                      + String(format: "%8.0f", unit.estimatedCost) + "  " + (cached ? "yes   " : "no    ") + shard)
            }
            print("\(plan.units.count) units, \(cachedCount) cached\(cache.map { " in \($0.directory.path)" } ?? "")")
            if let shards, let assignment {
                let total = plan.units.reduce(0) { $0 + $1.estimatedCost }
                for shard in 0..<shards {
                    let cost = plan.units.indices.filter { assignment[$0] == shard }.reduce(0) { $0 + plan.units[$1].estimatedCost }
                    print("shard \(shard + 1)/\(shards): \(assignment.count { $0 == shard }) units, \(String(format: "%.0f", 100 * cost / max(total, 1))) % of the estimated cost")
                }
            }
        }
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine the shards of a sharded compare into the run's results, reports and gate.",
        discussion: """
        Every shard must come from the same run (suite, model, data, tool, kernels, threads and
        options; otherwise exit 2, naming what differs) and together they must cover every unit
        (otherwise exit 3, naming the missing units: an incomplete run never passes). Writes what an
        unsharded compare writes and exits as it would.

        Example:
          evalharness merge shards/* --suite suites/sentiment.yaml --out reports/sentiment
        """
    )

    @Argument(help: "Shard folders (or their shard.json files).") var shards: [String]
    @Option(help: "The suite the shards ran.") var suite: String
    @Option(help: "Output folder (default: reports/<suite name>).") var out: String?
    @Option(help: "A stored results.json to compare with (overrides the suite's baseline).") var baseline: String?
    @OptionGroup var historyOptions: HistoryOptions
    @Flag(help: "No summary line.") var quiet = false

    func run() throws {
        var verdict = Verdict.passed
        try reportingErrors {
            guard !shards.isEmpty else { throw InputError(description: "merge: give at least one shard folder") }
            let spec = try SuiteSpec.load(path: suite)
            let read = try shards.map(ShardFile.read)
            let history = try historyOptions.open()
            let merged: (facts: RunFacts, results: [UnitResult])
            switch ShardMerge.units(of: read.map { ($0.source, $0.shard) }) {
            case .success(let value): merged = value
            case .failure(.mismatch(let message)): throw InputError(description: message)
            case .failure(.incomplete(let message)):
                printError(message)
                throw Exit.runFailed
            }
            guard merged.facts.suite.contentSHA256 == spec.contentSHA256 else {
                throw InputError(description: "\(suite) is not the suite the shards ran (its SHA-256 \(spec.contentSHA256.prefix(12))… differs from the shards' \(merged.facts.suite.contentSHA256.prefix(12))…)")
            }
            let options = merged.facts.options
            let candidates = try SuiteRunner.resolveCandidates(spec, candidates: options.candidates, seed: options.seed, seeds: options.seeds)
            let baselineRun = try loadBaseline(flag: baseline, suite: spec)
            let calibration = try spec.calibration.map(loadCalibration)
            var result = RunAssembly(spec: spec, candidates: candidates, facts: merged.facts, baseline: baselineRun,
                                     calibration: calibration).assemble(merged.results)
            result.durationSeconds = read.map(\.shard.seconds).max() ?? 0
            result.revision = SourceRevision.detect(near: suite)
            let directory = URL(fileURLWithPath: out ?? "reports/\(spec.name)")
            let outputs = try openOutputSet(directory)
            defer { outputs.discard() }
            // The first seed's adapters, from whichever shard trained them.
            for (_, _, folder) in read {
                let adapters = folder.appendingPathComponent("adapters")
                for name in (try? FileManager.default.contentsOfDirectory(atPath: adapters.path)) ?? [] {
                    let destination = outputs.url("adapters").appendingPathComponent(name)
                    guard !FileManager.default.fileExists(atPath: destination.path) else { continue }
                    try FileManager.default.createDirectory(at: outputs.url("adapters"), withIntermediateDirectories: true)
                    try FileManager.default.copyItem(at: adapters.appendingPathComponent(name), to: destination)
                }
            }
            try writeReports(result, baseline: baselineRun, history: history, trendRuns: historyOptions.trendRuns,
                             into: outputs, quiet: quiet)
            verdict = Gate.verdict(for: result)
            if !quiet {
                FileHandle.standardError.write(Data("merged \(read.count) shard(s), \(merged.results.count) units\n".utf8))
                FileHandle.standardError.write(Data(verdictLine(result, directory: directory).utf8))
            }
        }
        if verdict != .passed { throw ExitCode(verdict.exitCode) }
    }
}

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Show or prune the cache of trained units.",
        discussion: """
        Examples:
          evalharness cache info
          evalharness cache prune --cache-limit 1GiB
        """
    )

    @Argument(help: "info or prune.") var action: String
    @OptionGroup var cacheOptions: CacheOptions

    func run() throws {
        try reportingErrors {
            guard let cache = cacheOptions.cache else { throw InputError(description: "cache: --no-cache leaves nothing to show") }
            switch action {
            case "info":
                print("\(cache.directory.path): \(cache.entryCount) units, \(ByteSize.text(cache.size))")
            case "prune":
                let (removed, bytes) = cache.prune(limit: try cacheOptions.limitBytes())
                print("removed \(removed) units (\(ByteSize.text(bytes))); \(cache.entryCount) left, \(ByteSize.text(cache.size))")
            default:
                throw InputError(description: "cache: unknown action \"\(action)\"; expected info or prune")
            }
        }
    }
}
