import Adapters
import ArgumentParser
import COpenBLAS
import Foundation
import Kernels
import Model
import Runner
import Suites
import Training

struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time training steps (forward + backward + AdamW) on synthetic fixed-length input.",
        discussion: """
        Methods: full, lora (r=8, alpha 16 on query/value), lora-all (r=8 on every linear layer),
        qlora (lora over an NF4 base, fp32 compute), prompt (20 virtual tokens). Dropout as in
        training (the model's 0.1). Prints examples/s and peak resident memory; compare with
        PyTorch + PEFT on the same shapes: scripts/bench_peer.py --train METHOD.

        With a decoder as --model (a GGUF file or a Llama folder): full or lora (r=8, alpha 16 on
        q_proj/v_proj), the causal-LM loss on the last quarter of each sequence (completion-only),
        fp32; tokens/s. Peer: scripts/bench_decoder_train_peer.py --method METHOD.

        Examples:
          evalharness bench train --model models/all-MiniLM-L6-v2 --method lora --seq 64 --batch 32
          evalharness bench train --model models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf --method lora --seq 128 --batch 8 --iterations 3
        """
    )

    /// Prompt tuning's virtual tokens (scripts/bench_peer.py --train prompt uses the same).
    static let virtualTokens = 20

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "full, lora, lora-all, qlora or prompt.") var method: String = "lora"
    @Option(help: "A decoder's qlora base: nf4 (bitsandbytes' NF4) or gguf (the file's own blocks).") var quantization: String = "nf4"
    @Option(help: "Tokens per sequence.") var seq: Int = 64
    @Option(help: "Sequences per step.") var batch: Int = 32
    @Option(help: "Timed steps (after 2 warm-up steps).") var iterations: Int = 10
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard ["full", "lora", "lora-all", "qlora", "prompt"].contains(method) else {
            throw ValidationError("--method must be full, lora, lora-all, qlora or prompt (got \(method))")
        }
        guard seq >= 2, batch >= 1, iterations >= 1 else { throw ValidationError("--seq ≥ 2, --batch ≥ 1, --iterations ≥ 1") }
    }

    func run() throws {
        if ModelFamily.of(modelPath: modelOptions.model) == .llamaDecoder {
            return try reportingErrors { try runDecoder() }
        }
        try reportingErrors {
            Parallel.configure(threads: modelOptions.threads)
            let directory = modelOptions.modelDirectory
            let config = try BertConfig.load(from: directory.appendingPathComponent("config.json"))
            let virtualTokens = method == "prompt" ? Self.virtualTokens : 0
            try MemoryBudget().require(MemoryBudget.encoderBytes(config: config, batch: batch, tokens: seq + virtualTokens,
                                                                 training: true, trainsAllWeights: method == "full"),
                                       for: "training (\(method)) on batch \(batch) × seq \(seq)", source: "--batch/--seq")
            try config.checkBatchShape(batch: batch, tokens: seq, virtualTokens: virtualTokens, source: "--batch/--seq")
            // The weights file is memory-mapped; a scope unmaps it before training so its pages
            // do not count towards the peak.
            let (base, head) = try { () throws -> (EncoderParameters, ClassificationHead) in
                let file = try SafeTensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
                return (try EncoderParameters.load(from: file, config: config),
                        try ClassificationHead.load(from: file, config: config, classCount: 2, seed: 1))
            }()
            let fineTuning: FineTuningMethod
            let sites = config.linearSites
            switch method {
            case "full": fineTuning = .full(freezeEmbeddings: false)
            case "lora": fineTuning = .lora(try LoRAConfiguration(rank: 8, alpha: 16, targets: sites.sites(.query, .value)))
            case "lora-all": fineTuning = .lora(try LoRAConfiguration(rank: 8, alpha: 16, targets: sites.sites))
            case "qlora": fineTuning = .qlora(try LoRAConfiguration(rank: 8, alpha: 16, targets: sites.sites(.query, .value)), doubleQuantize: true)
            default: fineTuning = .prompt(try PromptTuningConfiguration(virtualTokens: Self.virtualTokens, initialization: .randomVocabulary))
            }
            // One candidate per process: full fine-tuning may train the loaded weights in place.
            let model = try TrainableModel(method: fineTuning, base: base, head: head, tokenizer: nil, seed: 1,
                                           takingOwnershipOfBase: true)
            let optimizer = AdamWOptimizer(tensors: model.trainable, settings: AdamWSettings(learningRate: 1e-4))
            var generator = SeededGenerator(seed: 42)
            let sequences = syntheticSequences(batch: batch, seq: seq, vocabularySize: config.vocabSize, generator: &generator)
            let labels = (0..<batch).map { _ in Int32(generator.next() % 2) }
            let tokenBatch = TokenBatch(sequences: sequences)
            func step(_ index: Int) {
                optimizer.zeroGradients()
                _ = model.lossAndGradients(tokenBatch, labels: labels,
                                           dropout: DropoutSettings(hidden: 0.1, attention: 0.1, seed: UInt64(index)),
                                           classifierDropout: 0.1)
                optimizer.update()
            }
            for index in 0..<2 { step(index) }
            var times: [Double] = []
            for index in 0..<iterations {
                let start = DispatchTime.now().uptimeNanoseconds
                step(index + 2)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            times.sort()
            let median = times[times.count / 2]
            let fields: [(String, Any)] = [
                ("benchmark", "train"), ("method", method), ("examples_per_s", Double(batch) / median),
                ("ms_per_step", median * 1000), ("trainable_parameters", model.trainableParameterCount),
                ("peak_rss_bytes", peakResidentBytes()), ("seq", seq), ("batch", batch), ("threads", modelOptions.threads),
                ("blas_core", String(cString: openblas_get_corename())),
            ]
            if json {
                let data = try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: fields), options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let rows: [(String, String)] = [
                    ("method", method), ("shape", "batch \(batch) × seq \(seq), \(modelOptions.threads) threads"),
                    ("examples/s", String(format: "%.1f", Double(batch) / median)),
                    ("ms/step (median)", String(format: "%.1f", median * 1000)),
                    ("trainable parameters", "\(model.trainableParameterCount)"),
                    ("peak RSS", String(format: "%.0f MiB", Double(peakResidentBytes()) / 1048576)),
                ]
                print(twoColumnTable(rows))
            }
        }
    }

    /// A decoder's training steps: `DecoderFineTuning` on synthetic ids (from 17 on, past SmolLM2's
    /// control tokens), the last quarter of each sequence the targets, as the peer script does.
    func runDecoder() throws {
        let methods: [String: CandidateSpec.Method] = ["full": .full, "lora": .lora, "qlora": .qlora, "prompt": .prompt]
        guard let candidateMethod = methods[method] else {
            throw InputError(description: "--method \(method) is not built for decoders; use full, lora, qlora or prompt")
        }
        guard let base = CandidateSpec.BaseQuantization(rawValue: quantization) else {
            throw InputError(description: "--quantization must be nf4 or gguf (got \(quantization))")
        }
        Parallel.configure(threads: modelOptions.threads)
        let source = URL(fileURLWithPath: modelOptions.model)
        var candidate = CandidateSpec(name: "bench", method: candidateMethod,
                                      training: TrainingDefaults().resolved(method: candidateMethod, seed: 1),
                                      rank: 8, alpha: 16, targetModules: ["q_proj", "v_proj"], numVirtualTokens: Self.virtualTokens,
                                      promptInit: .vocab)
        if candidateMethod == .qlora { candidate.quantization = base }
        let (model, adapter) = try DecoderTrainingSetup.make(candidate, initializationSeed: 1, source: source, tokenizer: nil)
        let c = model.config
        try MemoryBudget().require(MemoryBudget.decoderTrainingBytes(config: c, batch: batch, tokens: seq + (adapter?.prefix.count ?? 0) / c.hiddenSize,
                                                                     trainsAllWeights: method == "full"),
                                   for: "training (\(method)) on batch \(batch) × seq \(seq)", source: "--batch/--seq")
        let rate: Float = ["full": 1e-5, "prompt": 3e-2][method] ?? 1e-4
        let tuning = try DecoderFineTuning(model: model, adapter: adapter, settings: AdamWSettings(learningRate: rate))
        var generator = SeededGenerator(seed: 42)
        let examples = (0..<batch).map { _ in
            LanguageModelingExample(ids: (0..<seq).map { _ in Int32(17 + Int(generator.next() % UInt64(c.vocabSize - 17))) },
                                    firstTarget: max(1, seq - seq / 4))
        }
        // The sgemm ceiling of this machine, in this run, before anything is timed.
        let ceiling = measureSgemmCeiling(threads: modelOptions.threads)
        PeakMemory.reset()
        try tuning.step(examples)
        var times: [Double] = []
        var loss = 0.0
        for _ in 0..<iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            loss = try tuning.step(examples).loss
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        let median = times[times.count / 2]
        let tokensPerSecond = Double(batch * seq) / median
        let rss = PeakMemory.bytes()
        let virtualTokens = (adapter?.prefix.count ?? 0) / c.hiddenSize
        let flops = c.trainingStepFLOPs(batch: batch, tokens: seq + virtualTokens, targetRows: examples.reduce(0) { $0 + $1.targetCount },
                                        trainsAllWeights: method == "full")
        let gflops = flops / median / 1e9
        if json {
            let fields: [String: Any] = [
                "benchmark": "train", "model": modelOptions.model, "method": method, "tokens_per_s": tokensPerSecond,
                "seconds_per_step": median, "trainable_parameters": tuning.trainableParameterCount, "loss": loss,
                "base_weight_bytes": model.weights.byteCount, "gflops": gflops, "sgemm_ceiling_gflops": ceiling,
                "fraction_of_ceiling": gflops / ceiling,
                "peak_rss_bytes": rss, "seq": seq, "batch": batch, "threads": modelOptions.threads,
                "blas_core": String(cString: openblas_get_corename()),
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print(twoColumnTable([
            ("model", modelOptions.model), ("method", method),
            ("shape", "batch \(batch) × seq \(seq) (last \(seq / 4) tokens targets), \(modelOptions.threads) threads, fp32"),
            ("tokens/s", String(format: "%.1f", tokensPerSecond)),
            ("s/step (median)", String(format: "%.2f", median)),
            ("trainable parameters", "\(tuning.trainableParameterCount)"),
            ("base weights resident", String(format: "%.1f MiB", Double(model.weights.byteCount) / 1_048_576)),
            ("GFLOP/s (useful work)", String(format: "%.1f", gflops)),
            ("sgemm ceiling GFLOP/s", String(format: "%.1f", ceiling)),
            ("fraction of ceiling", String(format: "%.0f %%", gflops / ceiling * 100)),
            ("tokens/s at ceiling", String(format: "%.1f", tokensPerSecond * ceiling / gflops)),
            ("peak RSS", String(format: "%.0f MiB", Double(rss) / 1_048_576)),
        ]))
    }
}
