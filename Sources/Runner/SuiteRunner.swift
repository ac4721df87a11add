import Adapters
import COpenBLAS
import Evaluation
import Foundation
import Kernels
import Model
import Suites
import Tokenizer
import Training

/// What a run reports while it works (the CLI turns it into a live line or plain log lines).
public protocol RunProgressObserver: AnyObject {
    func note(_ message: String)
    func candidateStarted(_ name: String, method: String, index: Int, count: Int)
    func training(_ name: String, _ progress: TrainingProgress)
    func candidateFinished(_ name: String, status: CandidateResult.Status, seconds: Double, detail: String)
    /// Examples answered so far by a candidate that only evaluates (a zero-shot decoder).
    func scoring(_ name: String, done: Int, of total: Int, seconds: Double)
}

extension RunProgressObserver {
    func scoring(_ name: String, done: Int, of total: Int, seconds: Double) {}
}

/// How to run a suite beyond what the suite file says.
public struct RunOptions: Sendable {
    /// Where trained adapters are saved (`<dir>/<candidate>/`); nil: not saved.
    public var adaptersDirectory: URL?
    /// Only these candidates (nil: all).
    public var candidates: [String]?
    /// Overrides the suite's seed.
    public var seed: UInt64?
    /// Overrides every candidate's number of training seeds.
    public var seeds: Int?
    public var threads: Int
    public var baseline: RunResult?
    /// A stored calibration (warns about margins the seed count cannot decide).
    public var calibration: CalibrationResult?
    /// Finished units are reused from and stored in this cache (nil: every unit runs).
    public var cache: UnitCache?

    public init(adaptersDirectory: URL? = nil, candidates: [String]? = nil, seed: UInt64? = nil, seeds: Int? = nil,
                threads: Int, baseline: RunResult? = nil, calibration: CalibrationResult? = nil, cache: UnitCache? = nil) {
        self.adaptersDirectory = adaptersDirectory; self.candidates = candidates; self.seed = seed; self.seeds = seeds
        self.threads = threads; self.baseline = baseline; self.calibration = calibration; self.cache = cache
    }
}

/// Runs a suite end to end: loads the model and data, plans the run's units (the base model's
/// retention measurement, then every candidate's seeds; `RunPlan`), executes them — from the
/// cache when a unit's key is there — and assembles the result (`RunAssembly`: seed
/// aggregation, comparisons with the prompt-tuned candidate and the baseline run, the checks). A
/// candidate that fails (e.g. its loss becomes NaN) is reported with its error; the others still
/// run. `runShard` executes one shard's units only, for `merge` to assemble.
public final class SuiteRunner {
    public let spec: SuiteSpec
    public let options: RunOptions
    public weak var observer: RunProgressObserver?

    public init(spec: SuiteSpec, options: RunOptions, observer: RunProgressObserver? = nil) {
        self.spec = spec
        self.options = options
        self.observer = observer
    }

    /// The whole run: every unit, then the assembled result.
    public func run() throws -> RunResult {
        let started = Date()
        let prepared = try prepare()
        let results = try execute(prepared, units: prepared.plan.units)
        var run = RunAssembly(spec: spec, candidates: prepared.candidates, facts: prepared.facts,
                              baseline: options.baseline, calibration: options.calibration).assemble(results)
        run.durationSeconds = Date().timeIntervalSince(started)
        return run
    }

    /// Shard `index` (0-based) of `count`: its units only, with what `merge` needs to assemble.
    public func runShard(index: Int, count: Int) throws -> ShardResult {
        let started = Date()
        let prepared = try prepare()
        let units = prepared.plan.shard(index, of: count)
        observer?.note("shard \(index + 1) of \(count): \(units.count) of \(prepared.plan.units.count) units (\(units.map(\.id).joined(separator: ", ")))")
        let results = try execute(prepared, units: units)
        return ShardResult(fingerprint: prepared.fingerprint, index: index, count: count, plan: prepared.plan,
                           facts: prepared.facts, results: results, seconds: Date().timeIntervalSince(started))
    }

    /// The plan alone (loads the model and the data to compute the keys; trains nothing).
    public func plan() throws -> (plan: RunPlan, fingerprint: RunFingerprint) {
        let prepared = try prepare()
        return (prepared.plan, prepared.fingerprint)
    }

    /// The suite's candidates after `--candidates`, with `--seed` and `--seeds` applied: recorded in
    /// each candidate's settings like the suite's own.
    public static func resolveCandidates(_ spec: SuiteSpec, candidates names: [String]?, seed: UInt64?, seeds: Int?) throws -> [CandidateSpec] {
        var selected = spec.candidates
        if let names {
            guard !names.isEmpty else {
                throw SuiteError(file: spec.sourcePath, field: "candidates", message: "--candidates selects no candidate")
            }
            for name in names where spec.candidate(named: name) == nil {
                throw SuiteError(file: spec.sourcePath, field: "candidates",
                                 message: "--candidates names \"\(name)\", which the suite does not define (it has \(spec.candidates.map(\.name).joined(separator: ", ")))")
            }
            selected = spec.candidates.filter { names.contains($0.name) }
        }
        return selected.map { candidate in
            var candidate = candidate
            candidate.training.seed = seed ?? spec.seed
            // A candidate that trains nothing is evaluated once: more seeds would repeat it.
            if let seeds, candidate.method.trains { candidate.training.seeds = seeds }
            return candidate
        }
    }

    // MARK: Preparation

    /// Everything the units need, loaded once: the model (its family's `SuiteModel`, holding the
    /// tokenised splits and retention data), the facts every output records and the plan.
    final class Prepared {
        let candidates: [CandidateSpec]
        let model: SuiteModel
        let facts: RunFacts
        let fingerprint: RunFingerprint
        let plan: RunPlan

        init(candidates: [CandidateSpec], model: SuiteModel, facts: RunFacts, fingerprint: RunFingerprint, plan: RunPlan) {
            self.candidates = candidates; self.model = model; self.facts = facts; self.fingerprint = fingerprint; self.plan = plan
        }
    }

    func prepare() throws -> Prepared {
        let started = Date()
        Parallel.configure(threads: options.threads)
        let seed = options.seed ?? spec.seed
        let candidates = try Self.resolveCandidates(spec, candidates: options.candidates, seed: options.seed, seeds: options.seeds)
        try spec.validateFiles()
        let family = spec.modelFamily
        try spec.validate(for: family)

        // The data first: its errors are cheaper to find than loading a model.
        observer?.note("loading data")
        let task = try TaskData.load(spec.task)
        let retentionData = try RetentionData.load(spec.retention)
        if let oneFile = spec.task.oneFile {
            observer?.note("split \(oneFile.file.path) by content hash\(oneFile.stratify ? ", per class" : ""): "
                + "\(task.train.count) train, \(task.validation.count) validation, \(task.test.count) test")
        }
        for warning in task.warnings { observer?.note("warning: \(warning)") }
        if !task.contamination.isEmpty {
            observer?.note("warning: \(task.contamination.count) exact duplicate text(s) between train and validation/test (contamination), e.g. \(task.contamination[0].id) = \(task.contamination[0].trainID)")
        }

        observer?.note("loading model \(spec.model.path)")
        // The one place the families are told apart: everything after works on `SuiteModel`.
        let model: SuiteModel = switch family {
        case .bertEncoder: try EncoderSuiteModel(spec: spec, candidates: candidates, task: task, retentionData: retentionData)
        case .llamaDecoder: try DecoderSuiteModel(spec: spec, task: task, retentionData: retentionData)
        }
        for note in model.notes { observer?.note(note) }

        let environment = Self.environment(threads: options.threads)
        let unselected = spec.candidates.map(\.name).filter { name in !candidates.contains { $0.name == name } }
        let facts = RunFacts(
            suite: SuiteIdentity(name: spec.name, path: spec.sourcePath, contentSHA256: spec.contentSHA256),
            model: model.identity, data: task.files + retentionData.files, environment: environment,
            startedAt: ISO8601DateFormatter().string(from: started), seed: seed, labels: task.labels,
            positiveLabel: spec.task.positiveLabel, taskType: spec.task.generation == nil ? nil : "generation", splits: task.splits,
            contamination: task.contamination.map { ContaminatedExample(split: $0.split, id: $0.id, trainID: $0.trainID) },
            unselectedCandidates: unselected.isEmpty ? nil : unselected,
            options: RunFacts.Options(candidates: options.candidates, seed: options.seed, seeds: options.seeds))

        // Keys: everything a unit's result depends on (see `UnitKey`).
        var retentionKey = UnitKey(kind: .retention)
        var shared = UnitKey(kind: .train)
        for line in [("tool", EvalHarnessVersion.current), ("kernels", environment.blasCore), ("threads", String(options.threads)),
                     ("model", model.identity.sha256)] {
            retentionKey.add(line.0, line.1)
            shared.add(line.0, line.1)
        }
        for line in model.retentionKeyLines { retentionKey.add(line.name, line.value) }
        for file in retentionData.files { retentionKey.add("retention.\(file.role)", "\(file.sha256) \(file.examples)") }
        for (name, examples) in [("train", task.train), ("validation", task.validation), ("test", task.test)] {
            shared.add("task.\(name)", ExampleDigest.of(examples))
        }
        shared.add("task.labels", task.labels.joined(separator: "\u{1F}"))
        for line in model.taskKeyLines { shared.add(line.name, line.value) }
        shared.add("task.decision", spec.task.threshold.rawValue + (spec.task.positiveLabel.map { ":" + $0 } ?? ""))
        shared.add("retention", model.hasRetention ? retentionKey.hex : "none")
        shared.add("comparison", "\(spec.comparison.bootstrapResamples) \(spec.comparison.confidence)")

        var units: [WorkUnit] = []
        if model.hasRetention {
            units.append(.retention(key: retentionKey.hex, cost: model.retentionCost))
        }
        for candidate in candidates {
            let trainingSeeds = ReplicateSeeds.trainingSeeds(suiteSeed: seed, count: candidate.training.seeds)
            let cost = model.cost(of: candidate)
            for (index, trainingSeed) in trainingSeeds.enumerated() {
                var key = shared
                key.add("candidate", candidate.configHash)
                key.add("training_seed", String(trainingSeed))
                units.append(.train(candidate.name, seedIndex: index, seedCount: trainingSeeds.count, trainingSeed: trainingSeed,
                                    key: key.hex, cost: cost))
            }
        }
        return Prepared(candidates: candidates, model: model, facts: facts, fingerprint: RunFingerprint(facts: facts),
                        plan: RunPlan(units: units))
    }

    // MARK: Execution

    /// Runs `units` in plan order (cache first), grouping a candidate's progress lines.
    func execute(_ prepared: Prepared, units: [WorkUnit]) throws -> [UnitResult] {
        var results: [UnitResult] = []
        let trained = units.filter { $0.kind == .train }
        let candidateOrder = prepared.candidates.map(\.name).filter { name in trained.contains { $0.candidate == name } }
        var candidateStart = Date()
        for unit in units {
            switch unit.kind {
            case .retention:
                if let cached = cache?.lookup(unit) {
                    observer?.note("retention of the base model: cached")
                    prepared.model.restore(baseRetentionScores: cached.baseScores ?? [:])
                    results.append(cached)
                } else {
                    let result = UnitResult(unit: unit, baseScores: prepared.model.baseRetentionScores(observer: observer))
                    if let problem = cache?.store(result) { observer?.note("warning: \(problem)") }
                    results.append(result)
                }
            case .train:
                let name = unit.candidate!, candidate = prepared.candidates.first { $0.name == name }!
                if trained.first(where: { $0.candidate == name }) == unit {
                    candidateStart = Date()
                    observer?.candidateStarted(name, method: candidate.method.rawValue, index: candidateOrder.firstIndex(of: name)!,
                                               count: candidateOrder.count)
                }
                results.append(try trainUnit(unit, candidate: candidate, prepared: prepared))
                if trained.last(where: { $0.candidate == name }) == unit {
                    reportFinished(name, results.filter { $0.unit.candidate == name }, seconds: Date().timeIntervalSince(candidateStart))
                }
            }
        }
        return results
    }

    /// `seconds`: the wall time of the candidate's units in this run (training, evaluation and
    /// retention; a cached unit costs next to nothing).
    private func reportFinished(_ name: String, _ own: [UnitResult], seconds: Double) {
        let failed = own.first { $0.seedRun?.status == .failed }
        let accuracies = own.compactMap { $0.seedRun?.metrics?.accuracy.value }
        var detail = failed?.seedRun?.error
            ?? (accuracies.isEmpty ? "" : String(format: "accuracy %.3f", accuracies.reduce(0, +) / Double(accuracies.count)))
        let cachedCount = own.count { $0.cached }
        if cachedCount > 0 { detail += cachedCount == own.count ? " (cached)" : " (\(cachedCount) of \(own.count) seeds cached)" }
        observer?.candidateFinished(name, status: failed == nil ? .ok : .failed, seconds: seconds, detail: detail)
    }

    private var cache: UnitCache? { options.cache }

    /// One training unit: from the cache, or run by the model (trained, measured, the first seed
    /// exported) and stored.
    private func trainUnit(_ unit: WorkUnit, candidate: CandidateSpec, prepared: Prepared) throws -> UnitResult {
        // A candidate that trains nothing has no adapter to save.
        let exportsAdapter = unit.seedIndex == 0 && options.adaptersDirectory != nil && prepared.model.exportsTrainedModel(candidate)
        let label = unit.seedCount == 1 ? candidate.name : "\(candidate.name) seed \(unit.seedIndex! + 1)/\(unit.seedCount!)"
        // A hit without the adapter this run must export trains again.
        let cachedAdapter = exportsAdapter ? cache?.adapter(unit) : nil
        if let cache, !exportsAdapter || cachedAdapter != nil, let cached = cache.lookup(unit) {
            if let adapter = cachedAdapter, let directory = options.adaptersDirectory {
                let destination = directory.appendingPathComponent(candidate.name)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try? FileManager.default.removeItem(at: destination)
                try FileManager.default.copyItem(at: adapter, to: destination)
            }
            observer?.note("\(label): cached")
            return cached
        }
        // The first seed's adapter is the one saved: the others measure variance, not a better model.
        let destination = exportsAdapter ? options.adaptersDirectory!.appendingPathComponent(candidate.name) : nil
        let result = try prepared.model.runSeed(candidate, unit: unit, label: label, exportTo: destination, observer: observer)
        // A failed unit is not stored: the next run tries again.
        if result.seedRun?.status == .ok, let problem = cache?.store(result, adapter: destination) { observer?.note("warning: \(problem)") }
        return result
    }

    static func environment(threads: Int) -> EnvironmentInfo {
        let cpuInfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu = cpuInfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
        var system = utsname()
        uname(&system)
        let osName = withUnsafeBytes(of: system.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let release = withUnsafeBytes(of: system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return EnvironmentInfo(cpu: cpu, threads: threads, blasCore: String(cString: openblas_get_corename()),
                               operatingSystem: "\(osName) \(release)", evalharnessVersion: EvalHarnessVersion.current,
                               blasVersion: String(cString: openblas_get_config()).trimmingCharacters(in: .whitespaces))
    }
}

/// The seeds of a candidate's repeated training runs.
///
/// Run k (0-based) trains with training seed t_k — data order and dropout — where t_0 is the suite
/// seed and t_1, t_2, … are the successive outputs of `SplitMix64(seed: suite seed)`; its head and
/// adapter are initialised from t_k XOR FNV-1a(candidate name). So a candidate's runs depend on the
/// suite seed and its own name only (never on which other candidates run), the first run of a suite
/// is exactly what a one-seed run trains, and two suite seeds give disjoint seed sets.
public enum ReplicateSeeds {
    public static func trainingSeeds(suiteSeed: UInt64, count: Int) -> [UInt64] {
        var generator = SplitMix64(seed: suiteSeed)
        return (0..<count).map { $0 == 0 ? suiteSeed : generator.next() }
    }

    public static func initializationSeed(trainingSeed: UInt64, candidateName: String) -> UInt64 {
        trainingSeed ^ UInt64(truncatingIfNeeded: candidateName.hashValueStable)
    }
}

public enum EvalHarnessVersion {
    public static let current = "0.2.0"
}

extension String {
    /// FNV-1a of the UTF-8 bytes: a per-candidate seed offset that, unlike `hashValue`, is the
    /// same in every process.
    var hashValueStable: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}

/// Peak resident memory of this process, resettable between candidates (Linux: VmHWM, reset by
/// writing 5 to /proc/self/clear_refs).
public enum PeakMemory {
    public static func reset() {
        if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            handle.write(Data("5".utf8))
            try? handle.close()
        }
    }

    public static func bytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
        }
        return 0
    }
}
