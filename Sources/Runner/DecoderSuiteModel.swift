import Evaluation
import Foundation
import Model
import Suites
import Tokenizer
import Training

/// A decoder language model under test (a GGUF file or a Llama folder): a classification task by
/// label scoring (`LabelScoringTask`) or a generation task (`AnswerGeneration`), and retention as
/// the causal-LM loss on general text (`retention.language_modeling`) and zero-shot accuracy on
/// another task (`retention.zero_shot`).
///
/// Candidates run zero-shot (`method: base`), fine-tune every weight (`method: full`), train LoRA
/// adapters on the fp32 base (`lora`) or on a 4-bit one (`qlora`: bitsandbytes' NF4, or the GGUF
/// file's own blocks), or tune a soft prompt (`prompt`), learning the task's answer after its
/// prompt as a completion (`DecoderTrainer`).
final class DecoderSuiteModel: SuiteModel {
    let spec: SuiteSpec
    let lm: DecoderLanguageModel
    /// What the task asks and how a model is measured on it.
    let task: any DecoderTask
    /// Token ids of each language-modelling text, cut to `RetentionMeasurement.maxLength`.
    let textSets: [(name: String, sequences: [[Int32]])]
    /// The zero-shot retention tasks, as label-scoring questions.
    let zeroShotSets: [ZeroShotSet]
    let identity: ModelIdentity
    let notes: [String]
    let taskKeyLines: [(name: String, value: String)]
    let retentionKeyLines: [(name: String, value: String)]
    private var baseScores: [String: Double]?

    init(spec: SuiteSpec, task: TaskData, retentionData: RetentionData) throws {
        self.spec = spec
        let url = URL(fileURLWithPath: spec.model.path)
        lm = try DecoderLanguageModel.load(url)
        let maxLength = spec.model.maxLength
        guard maxLength <= lm.network.maxPositions else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["model.max_length"] ?? spec.lines["model"], field: "model.max_length",
                             message: "\(maxLength) exceeds the model's \(lm.network.maxPositions) positions")
        }
        let chatTemplate = try Self.chatTemplate(spec.task.chat, lm: lm, spec: spec, field: "task.chat")
        let tokenizer = lm.tokenizer
        var cut = 0
        if let generation = spec.task.generation {
            var answering = try AnswerGeneration(
                prompt: PromptTemplate(template: spec.task.prompt ?? AnswerGeneration.defaultTemplate, chat: chatTemplate),
                settings: generation, lm: lm, maxLength: maxLength, test: task.test, spec: spec)
            if spec.candidates.contains(where: { $0.method.trains }) {
                answering.learn(train: task.train, validation: task.validation)
            }
            cut += answering.cut
            self.task = answering
        } else {
            self.task = try LabelScoringTask(spec: spec, task: task, lm: lm, chat: chatTemplate, cut: &cut)
        }
        for candidate in spec.candidates where candidate.method.trains {
            let batch = candidate.training.batchSize
            let full = candidate.method == .full
            // A soft prompt's virtual tokens are positions too.
            let tokens = maxLength + candidate.virtualTokenCount
            guard tokens <= lm.network.maxPositions else {
                throw SuiteError(file: spec.sourcePath, line: spec.lines["model.max_length"] ?? spec.lines["model"], field: "model.max_length",
                                 message: "\(maxLength) tokens after candidate \(candidate.name)'s \(candidate.virtualTokenCount) virtual tokens exceed the model's \(lm.network.maxPositions) positions")
            }
            try MemoryBudget().require(MemoryBudget.decoderTrainingBytes(config: lm.network.config, batch: batch, tokens: tokens,
                                                                         trainsAllWeights: full),
                                       for: "\(full ? "fine-tuning every weight" : "training adapters") on \(batch) sequences of up to \(tokens) tokens",
                                       source: "\(spec.sourcePath): candidates.\(candidate.name) batch_size \(batch)")
        }
        // A prompt-tuned candidate reads each text after its virtual tokens.
        let lmLength = min(RetentionMeasurement.maxLength, lm.network.maxPositions - (spec.candidates.map(\.virtualTokenCount).max() ?? 0))
        textSets = retentionData.languageModeling.map { set in
            (set.spec.checkName, set.texts.map { Array(tokenizer.encode($0.text).prefix(lmLength)) })
        }
        if let index = textSets.firstIndex(where: { $0.sequences.allSatisfy { $0.count < 2 } }) {
            throw SuiteError(file: spec.sourcePath, line: spec.lines["retention.language_modeling[\(index)]"],
                             field: "retention.language_modeling[\(index)]",
                             message: "every text of \(textSets[index].name) is a single token: there is nothing to predict")
        }
        var zeroShotSets: [ZeroShotSet] = []
        for (index, set) in retentionData.zeroShot.enumerated() {
            let field = "retention.zero_shot[\(index)]"
            let chat = try Self.chatTemplate(set.spec.chat, lm: lm, spec: spec, field: "\(field).chat")
            let question = LabelScoringPrompt(template: set.spec.prompt, verbalizers: set.spec.verbalizers, chat: chat)
            let ids = try question.verbalizerIDs(tokenizer: tokenizer, labels: set.spec.labels, spec: spec, field: "\(field).verbalizers")
            zeroShotSets.append(ZeroShotSet(name: set.spec.checkName, question: question, verbalizerIDs: ids, labels: set.examples.map(\.label),
                                            prompts: question.encode(set.examples.map(\.text), tokenizer: tokenizer, maxLength: maxLength,
                                                                     verbalizerIDs: ids, cut: &cut)))
        }
        self.zeroShotSets = zeroShotSets

        var notes: [String] = []
        if cut > 0 { notes.append("note: \(cut) prompt(s) too long for max_length \(maxLength) lose the first tokens of their text (the template stays whole)") }
        self.notes = notes + self.task.notes
        var isFolder: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
        let weightsFile = isFolder.boolValue ? url.appendingPathComponent("model.safetensors") : url
        identity = ModelIdentity(path: spec.model.path, sha256: SHA256.hex(ofFileAt: weightsFile.path) ?? "",
                                 parameters: lm.network.config.parameterCount)
        taskKeyLines = [("model.family", ModelFamily.llamaDecoder.rawValue), ("task.max_length", String(maxLength))] + self.task.keyLines
        retentionKeyLines = [("model.family", ModelFamily.llamaDecoder.rawValue), ("retention.max_length", String(lmLength))]
            + zeroShotSets.flatMap { set in [
                ("retention.\(set.name).prompt", set.question.template), ("retention.\(set.name).chat", set.question.chat == nil ? "none" : "chatml"),
                ("retention.\(set.name).verbalizers", set.question.verbalizers.joined(separator: "\u{1F}")),
                ("retention.\(set.name).max_length", String(maxLength)), ("retention.\(set.name).cut", "text-start"),
            ] }
    }

    var hasRetention: Bool { !textSets.isEmpty || !zeroShotSets.isEmpty }
    var retentionCost: Double {
        Double(textSets.reduce(0) { $0 + $1.sequences.reduce(0) { $0 + $1.count } } + zeroShotSets.reduce(0) { $0 + $1.tokens }) / 64
    }

    /// The model's chat template when `chat` asks for it; refused (naming `field`) when the model has none.
    static func chatTemplate(_ chat: Bool, lm: DecoderLanguageModel, spec: SuiteSpec, field: String) throws -> ChatTemplate? {
        guard chat else { return nil }
        guard let template = lm.chatTemplate else {
            throw SuiteError(file: spec.sourcePath, line: spec.lines[field], field: field,
                             message: "\(spec.model.path) has no chat template this release renders (ChatML); set chat: false")
        }
        return template
    }

    /// Adapters (LoRA, QLoRA, prompt) are saved as PEFT `CAUSAL_LM` adapters, a decoder whose every
    /// weight was fine-tuned as a Hugging Face Llama folder.
    func exportsTrainedModel(_ candidate: CandidateSpec) -> Bool { candidate.method.trains }

    /// Tokens through the network: the task's evaluation; training three passes' worth (forward and
    /// backward) of every completion per epoch, plus validation.
    func cost(of candidate: CandidateSpec) -> Double {
        var tokens = Double(task.evaluationTokens)
        if candidate.method.trains {
            let P = candidate.virtualTokenCount
            let train = Double(task.trainCompletions.reduce(0) { $0 + $1.ids.count + P })
            let validation = Double(task.validationCompletions.reduce(0) { $0 + $1.ids.count + P })
            tokens += Double(candidate.training.epochs) * (3 * train + validation)
        }
        return tokens / 64
    }

    func baseRetentionScores(observer: RunProgressObserver?) -> [String: Double] {
        if let baseScores { return baseScores }
        observer?.note("measuring the base model's retention checks")
        // Lengths and ids were bounded when the texts were tokenised, so the forward cannot refuse them.
        let scores = (try? retentionScores(lm.network)) ?? [:]
        baseScores = scores
        return scores
    }

    /// Each retention check's score with `network`: a language-modelling set's minus its
    /// token-weighted mean loss, a zero-shot task's accuracy.
    private func retentionScores(_ network: LlamaModel) throws -> [String: Double] {
        var scores: [String: Double] = [:]
        for set in textSets { scores[set.name] = -(try corpusLoss(set.sequences, network: network).loss) }
        for set in zeroShotSets { scores[set.name] = try set.accuracy(network) }
        return scores
    }

    /// The retention scores are all a candidate needs of the base model.
    func restore(baseRetentionScores scores: [String: Double]) {
        if baseScores == nil { baseScores = scores }
    }

    /// The token-weighted mean causal-LM loss over the texts (nats per predicted token).
    private func corpusLoss(_ sequences: [[Int32]], network: LlamaModel) throws -> (loss: Double, tokens: Int) {
        var total = 0.0, tokens = 0
        for measured in try network.languageModelLoss(sequences, batchSize: LlamaModel.scoringBatchSize) {
            guard let loss = measured.loss else { continue }
            total += loss * Double(measured.tokens)
            tokens += measured.tokens
        }
        return (tokens == 0 ? 0 : total / Double(tokens), tokens)
    }

    func runSeed(_ candidate: CandidateSpec, unit: WorkUnit, label: String, exportTo: URL?,
                 observer: RunProgressObserver?) throws -> UnitResult {
        let base = baseRetentionScores(observer: observer)
        var run = SeedRun(seed: unit.trainingSeed!, status: .ok)
        var result = UnitResult(unit: unit, baseWeightBytes: lm.network.weights.byteCount)
        PeakMemory.reset()
        do {
            var network = lm.network
            if candidate.method.trains {
                let (base, adapter) = try DecoderTrainingSetup.make(
                    candidate, initializationSeed: ReplicateSeeds.initializationSeed(trainingSeed: unit.trainingSeed!, candidateName: candidate.name),
                    source: lm.network.source, tokenizer: lm.tokenizer)
                network = base
                let tuning = try DecoderFineTuning(model: network, adapter: adapter, settings: AdamWSettings(
                    learningRate: Float(candidate.training.learningRate), weightDecay: Float(candidate.training.weightDecay)),
                    maxGradientNorm: candidate.training.maxGradNorm, dropoutSeed: unit.trainingSeed!)
                let trainer = DecoderTrainer(tuning: tuning, settings: TrainerSettings(candidate.training, seed: unit.trainingSeed!))
                let outcome = try trainer.train(task.trainCompletions, validation: task.validationCompletions) { [weak observer] progress in
                    observer?.training(label, progress)
                }
                let history = outcome.history.map { EpochRecord(trainLoss: $0.trainLoss, validationLoss: $0.validationLoss,
                                                                trainAccuracy: $0.trainAccuracy, validationAccuracy: $0.validationAccuracy) }
                run.overfitting = OverfittingAnalysis.analyze(history: history)
                run.training = TrainingSummary(history: history, bestEpoch: outcome.bestEpoch, earlyStopped: outcome.earlyStopped,
                                               epochsRun: outcome.history.count, steps: outcome.steps, seconds: outcome.seconds,
                                               examplesPerSecond: outcome.examplesPerSecond, peakRSSBytes: PeakMemory.bytes())
                result.trainableParameters = tuning.trainableParameterCount
                result.baseWeightBytes = network.weights.byteCount
                if let exportTo, tuning.adapter == nil {
                    try LlamaFolderExport.save(network.weights, config: network.config, language: lm, to: exportTo)
                }
                if let exportTo, let adapter = tuning.adapter {
                    try DecoderAdapterExport.save(adapter, config: network.config, baseModel: spec.model.path, to: exportTo)
                }
                network = tuning.inferenceModel
            }
            try task.measure(network, seed: candidate.training.seed, label: label, observer: observer, into: &run)
            // A base candidate is the base model: what it can do with language is unchanged by definition.
            let scores = candidate.method.trains ? try retentionScores(network) : base
            let checks = textSets.map { ($0.name, "log_likelihood") } + zeroShotSets.map { ($0.name, "accuracy") }
            run.forgetting = checks.map { name, measure in
                ForgettingCheck(name: name, measure: measure, result: ForgettingReport(base: base[name] ?? 0, candidate: scores[name] ?? 0))
            }
        } catch {
            run.status = .failed
            run.error = "\(error)"
        }
        result.seedRun = run
        return result
    }
}
