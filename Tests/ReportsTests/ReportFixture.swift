import Evaluation
import Foundation

/// A realistic run built in code: four candidates on 600 three-class test examples (prompt tuning,
/// LoRA, full fine-tuning, and a QLoRA run whose loss became NaN), with metrics, forgetting,
/// overfitting and paired comparisons computed by the real Evaluation code from simulated
/// predictions, a stored baseline run, and the gate's checks in every status.
struct ReportFixture {
    var suiteName = "sentiment"
    var labels = ["negative", "neutral", "positive"]
    var promptName = "prompt-tuning"
    var loraName = "lora-r8"
    var fullName = "full-ft"
    var qloraName = "qlora-nf4"

    /// The default fixture, built once (the bootstraps take a moment in a debug build).
    static let standard = ReportFixture().make()

    static let exampleCount = 600
    static let resamples = 100

    /// The run and the baseline run it is compared with.
    func make() -> (result: RunResult, baseline: RunResult) {
        let examples = Self.examples(classCount: labels.count)
        let promptPredictions = Self.predictions(examples, accuracy: 0.76, seed: 1)
        let loraPredictions = Self.predictions(examples, accuracy: 0.87, seed: 2)
        let fullPredictions = Self.predictions(examples, accuracy: 0.91, seed: 3)

        var prompt = candidate(promptName, method: "prompt", predictions: promptPredictions, trainable: 18_435,
                               baseBytes: 90_868_736, seconds: 48.2, history: Self.history(start: 1.08, end: 0.64, epochs: 6),
                               forgetting: [("similarity:stsb", "spearman", 0.821, 0.819), ("probe:topics", "probe_accuracy", 0.912, 0.910)],
                               settings: ["virtual_tokens": "20", "learning_rate": "0.03"])
        var lora = candidate(loraName, method: "lora", predictions: loraPredictions, trainable: 296_451,
                             baseBytes: 90_868_736, seconds: 131.7, history: Self.history(start: 0.98, end: 0.36, epochs: 5),
                             forgetting: [("similarity:stsb", "spearman", 0.821, 0.806), ("probe:topics", "probe_accuracy", 0.912, 0.897)],
                             settings: ["rank": "8", "alpha": "16", "dropout": "0.1", "target_modules": "query,value"])
        var full = candidate(fullName, method: "full", predictions: fullPredictions, trainable: 22_714_371,
                             baseBytes: 90_868_736, seconds: 412.9,
                             history: Self.history(start: 0.92, end: 0.18, epochs: 6, overfitFrom: 3),
                             forgetting: [("similarity:stsb", "spearman", 0.821, 0.742), ("probe:topics", "probe_accuracy", 0.912, 0.861)],
                             settings: ["learning_rate": "2e-5", "weight_decay": "0.01"])
        let qlora = CandidateResult(
            name: qloraName, method: "qlora", status: .failed, error: "loss became NaN at epoch 2, step 14",
            settings: ["rank": "8", "alpha": "16", "double_quant": "true"], configHash: Self.hash(qloraName),
            trainableParameters: 296_451, baseWeightBytes: 12_986_112)

        lora.comparisons = [Self.compare(loraPredictions, with: promptPredictions, against: "prompt-baseline", reference: promptName)]
        full.comparisons = [Self.compare(fullPredictions, with: promptPredictions, against: "prompt-baseline", reference: promptName)]

        // The stored baseline run (main): an older LoRA and prompt run, no full fine-tuning yet.
        let baselineLoraPredictions = Self.predictions(examples, accuracy: 0.855, seed: 12)
        var baselineLora = candidate(loraName, method: "lora", predictions: baselineLoraPredictions, trainable: 147_459,
                                     baseBytes: 90_868_736, seconds: 120.4, history: Self.history(start: 0.99, end: 0.4, epochs: 5),
                                     forgetting: [("similarity:stsb", "spearman", 0.821, 0.809)], settings: ["rank": "4"])
        baselineLora.configHash = Self.hash("old-lora")
        let baselinePrompt = candidate(promptName, method: "prompt", predictions: Self.predictions(examples, accuracy: 0.75, seed: 11),
                                       trainable: 18_435, baseBytes: 90_868_736, seconds: 47.0,
                                       history: Self.history(start: 1.08, end: 0.66, epochs: 6),
                                       forgetting: [("similarity:stsb", "spearman", 0.821, 0.818)],
                                       settings: ["virtual_tokens": "20", "learning_rate": "0.03"])
        lora.comparisons.append(Self.compare(loraPredictions, with: baselineLoraPredictions, against: "baseline-run", reference: loraName))
        prompt.comparisons = []

        var baseline = run(candidates: [baselinePrompt, baselineLora])
        baseline.startedAt = "2025-06-02T09:12:44Z"
        baseline.suite.contentSHA256 = "9c1f0e7d55aa3b7e1f0c2d4b6a8e9f10213243546576879a0b1c2d3e4f506172"

        var result = run(candidates: [prompt, lora, full, qlora])
        result.checks = Gate.evaluate(checks, result: result, baseline: baseline, resamples: Self.resamples, seed: 11)
        return (result, baseline)
    }

    var checks: [CheckSpec] {
        [
            CheckSpec(metric: "accuracy", kind: .minimum(0.85)),
            CheckSpec(metric: "f1_macro", kind: .minimum(0.8), bound: .ciLow),
            CheckSpec(metric: "ece", kind: .maximum(0.15), candidates: [loraName, fullName]),
            CheckSpec(metric: "forgetting.similarity:stsb.absolute_drop", kind: .maximum(0.03)),
            CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "prompt", margin: 0.01)),
            CheckSpec(metric: "accuracy", kind: .nonInferior(reference: "baseline", margin: 0.02),
                      candidates: [loraName, fullName]),
        ]
    }

    // MARK: Builders

    func run(candidates: [CandidateResult]) -> RunResult {
        RunResult(
            suite: SuiteIdentity(name: suiteName, path: "suites/\(suiteName).yaml",
                                 contentSHA256: "3f5a1c9e0b7d2e4f6a8c0e2f4a6c8e0a1b3d5f7091a2b3c4d5e6f708192a3b4c"),
            model: ModelIdentity(path: "models/all-MiniLM-L6-v2",
                                 sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                                 parameters: 22_713_216),
            data: [
                DataFileIdentity(role: "train", path: "data/sentiment/train.jsonl", sha256: String(repeating: "a1", count: 32), examples: 4_800),
                DataFileIdentity(role: "validation", path: "data/sentiment/validation.jsonl", sha256: String(repeating: "b2", count: 32), examples: 600),
                DataFileIdentity(role: "test", path: "data/sentiment/test.jsonl", sha256: String(repeating: "c3", count: 32), examples: Self.exampleCount),
                DataFileIdentity(role: "similarity:stsb", path: "data/stsb/test.tsv", sha256: String(repeating: "d4", count: 32), examples: 1_379),
            ],
            environment: EnvironmentInfo(cpu: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", threads: 2,
                                         blasCore: "Haswell", operatingSystem: "Linux 6.1 (Debian 12)", evalharnessVersion: "0.4.0"),
            startedAt: "2025-06-09T14:03:27Z", durationSeconds: 655.3, seed: 42, labels: labels,
            candidates: candidates, checks: [])
    }

    func candidate(
        _ name: String, method: String, predictions: [Prediction], trainable: Int, baseBytes: Int, seconds: Double,
        history: [EpochRecord], forgetting: [(String, String, Double, Double)], settings: [String: String]
    ) -> CandidateResult {
        let labels = predictions.map(\.label), predicted = predictions.map(\.predicted)
        let probabilities = predictions.map(\.probabilities)
        let overfitting = OverfittingAnalysis.analyze(history: history)
        let run = SeedRun(
            seed: 42, status: .ok,
            training: TrainingSummary(history: history, bestEpoch: overfitting.bestValidationLossEpoch,
                                      earlyStopped: overfitting.divergence != nil, epochsRun: history.count,
                                      steps: history.count * 150, seconds: seconds,
                                      examplesPerSecond: Double(history.count * 4_800) / seconds, peakRSSBytes: 612_000_000 + trainable * 12),
            metrics: HeadlineMetrics.compute(labels: labels, predicted: predicted, probabilities: probabilities,
                                             classCount: self.labels.count, resamples: Self.resamples, seed: 42),
            report: ClassificationMetrics.compute(labels: labels, predicted: predicted, probabilities: probabilities,
                                                  classCount: self.labels.count),
            forgetting: forgetting.map { ForgettingCheck(name: $0.0, measure: $0.1, result: ForgettingReport(base: $0.2, candidate: $0.3)) },
            overfitting: overfitting, predictions: predictions)
        var candidate = CandidateResult(
            name: name, method: method, status: .ok, settings: settings, configHash: Self.hash(name),
            trainableParameters: trainable, baseWeightBytes: baseBytes, training: run.training, metrics: run.metrics,
            report: run.report, forgetting: run.forgetting, overfitting: run.overfitting, seedRuns: [run])
        let summary = SeedAggregation.summarize([run], labels: self.labels, resamples: Self.resamples, level: 0.95, seed: 42)
        candidate.perClassMetrics = summary.perClassMetrics
        return candidate
    }

    /// A stable fake SHA-256 per name.
    static func hash(_ name: String) -> String {
        var generator = SplitMix64(seed: UInt64(name.unicodeScalars.reduce(7) { $0 &* 31 &+ Int($1.value) }.magnitude))
        return (0..<4).map { _ in String(generator.next(), radix: 16).leftPadded(to: 16) }.joined()
    }

    /// Examples with a shared difficulty, so candidates tend to miss the same ones (as real
    /// models do) and the paired tests have something to pair.
    static func examples(classCount: Int) -> [(id: String, label: Int, difficulty: Double)] {
        var generator = SplitMix64(seed: 2024)
        return (0..<exampleCount).map { index in
            ("test-\(String(index).leftPadded(to: 4, with: "0"))", index % classCount, uniform(&generator))
        }
    }

    static func predictions(_ examples: [(id: String, label: Int, difficulty: Double)], accuracy: Double,
                            seed: UInt64) -> [Prediction] {
        var generator = SplitMix64(seed: seed)
        let classCount = examples.map(\.label).max()! + 1
        return examples.map { example in
            let noise = (uniform(&generator) - 0.5) * 0.3
            let correct = example.difficulty + noise < accuracy
            let predicted = correct ? example.label
                : (example.label + 1 + Int(generator.next(below: UInt64(classCount - 1)))) % classCount
            let confidence = correct ? 0.55 + 0.44 * uniform(&generator) : 0.5 + 0.3 * uniform(&generator)
            var probabilities = Array(repeating: 0.0, count: classCount)
            probabilities[predicted] = confidence
            var rest = 1 - confidence
            let others = (0..<classCount).filter { $0 != predicted }
            for (position, other) in others.enumerated() {
                let share = position == others.count - 1 ? rest : rest * (0.2 + 0.6 * uniform(&generator))
                probabilities[other] = share
                rest -= share
            }
            return Prediction(id: example.id, label: example.label, predicted: predicted, probabilities: probabilities)
        }
    }

    static func uniform(_ generator: inout SplitMix64) -> Double {
        Double(generator.next() >> 11) / Double(1 << 53)
    }

    /// Losses falling geometrically from `start` to `end`; with `overfitFrom`, validation loss
    /// turns up from that epoch while training loss keeps falling.
    static func history(start: Double, end: Double, epochs: Int, overfitFrom: Int? = nil) -> [EpochRecord] {
        (0..<epochs).map { epoch in
            let progress = Double(epoch) / Double(max(epochs - 1, 1))
            let train = start * pow(end / start, progress)
            var validation = train * 1.08 + 0.05
            if let overfitFrom, epoch >= overfitFrom {
                let best = start * pow(end / start, Double(overfitFrom - 1) / Double(epochs - 1)) * 1.08 + 0.05
                validation = best + 0.045 * Double(epoch - overfitFrom + 1)
            }
            return EpochRecord(trainLoss: train, validationLoss: validation,
                               trainAccuracy: min(0.99, 0.55 + 0.5 * (1 - train / start)),
                               validationAccuracy: min(0.95, 0.53 + 0.45 * (1 - validation / (start * 1.08 + 0.05))))
        }
    }

    /// The comparison the runner records: McNemar for accuracy, paired bootstraps for three
    /// metrics, non-inferiority of accuracy at a 0.01 margin.
    static func compare(_ candidate: [Prediction], with reference: [Prediction], against: String,
                        reference name: String) -> Comparison {
        let classCount = candidate.map(\.label).max()! + 1
        func metric(_ rows: [Prediction], _ key: String) -> ([Int]) -> Double {
            { indices in
                let report = ClassificationMetrics.compute(
                    labels: indices.map { rows[$0].label }, predicted: indices.map { rows[$0].predicted },
                    probabilities: indices.map { rows[$0].probabilities }, classCount: classCount)
                switch key {
                case "accuracy": return report.accuracy
                case "f1_macro": return report.macro.f1
                default: return report.logLoss
                }
            }
        }
        var metrics: [String: PairedDifference] = [:]
        for key in ["accuracy", "f1_macro", "log_loss"] {
            metrics[key] = PairedBootstrap.compare(count: candidate.count, resamples: resamples, seed: 9,
                                                   candidate: metric(candidate, key), baseline: metric(reference, key))
        }
        return Comparison(
            against: against, reference: name,
            accuracy: McNemar.test(candidateCorrect: candidate.map { $0.label == $0.predicted },
                                   baselineCorrect: reference.map { $0.label == $0.predicted }),
            metrics: metrics,
            nonInferiority: ["accuracy": NonInferiority.decide(metrics["accuracy"]!, margin: 0.01)])
    }
}

extension String {
    func leftPadded(to length: Int, with pad: Character = "0") -> String {
        count >= length ? self : String(repeating: pad, count: length - count) + self
    }
}
