import ArgumentParser
import COpenBLAS
import Foundation
import Kernels
import Model
import Runner

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: print a table (or JSON) of throughput next to the sgemm ceiling.",
        subcommands: [InferenceBench.self, TrainBench.self, ScoreBench.self]
    )
}

struct InferenceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inference",
        abstract: "Time encoder forward passes on synthetic fixed-length input (no padding).",
        discussion: """
        Prints examples/s and achieved GFLOP/s next to the sgemm ceiling measured in the same run.
        Compare with PyTorch / ONNX Runtime on the same shapes: scripts/bench_peer.py.

        Example:
          evalharness bench inference --model models/all-MiniLM-L6-v2 --seq 64 --batch 32
        """
    )

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Tokens per sequence.") var seq: Int = 64
    @Option(help: "Sequences per forward pass.") var batch: Int = 32
    @Option(help: "Timed forward passes (after 2 warm-up passes).") var iterations: Int = 20
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard seq >= 1, batch >= 1, iterations >= 1 else {
            throw ValidationError("--seq, --batch and --iterations must be at least 1")
        }
    }

    func run() throws {
        try reportingErrors {
            let parameters = try PretrainedEncoder.loadParameters(directory: modelOptions.modelDirectory)
            let config = parameters.config
            try MemoryBudget().require(MemoryBudget.encoderBytes(config: config, batch: batch, tokens: seq, training: false),
                                       for: "inference on batch \(batch) × seq \(seq)", source: "--batch/--seq")
            try config.checkBatchShape(batch: batch, tokens: seq, source: "--batch/--seq")
            let threads = modelOptions.threads
            let ceiling = measureSgemmCeiling(threads: threads)
            Parallel.configure(threads: threads)

            var generator = SeededGenerator(seed: 42)
            let tokenBatch = TokenBatch(sequences: syntheticSequences(batch: batch, seq: seq, vocabularySize: config.vocabSize, generator: &generator))
            let encoder = BertEncoder(parameters: parameters)
            for _ in 0..<2 { encoder.forward(tokenBatch) }
            var times: [Double] = []
            for _ in 0..<iterations {
                let start = DispatchTime.now().uptimeNanoseconds
                encoder.forward(tokenBatch)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            times.sort()
            let median = times[times.count / 2]
            let flops = forwardFLOPs(config: config, batch: batch, tokens: seq)
            let result = BenchResult(
                examplesPerSecond: Double(batch) / median, msPerBatch: median * 1000,
                gflops: flops / median / 1e9, ceilingGFLOPs: ceiling,
                seq: seq, batch: batch, threads: threads, peakRSSBytes: peakResidentBytes())
            print(json ? result.json : result.table)
        }
    }
}

private struct BenchResult {
    let examplesPerSecond, msPerBatch, gflops, ceilingGFLOPs: Double
    let seq, batch, threads: Int
    let peakRSSBytes: Int
    let blasCore = String(cString: openblas_get_corename())

    var fractionOfCeiling: Double { gflops / ceilingGFLOPs }

    var json: String {
        let fields: [String: Any] = [
            "benchmark": "inference", "examples_per_s": examplesPerSecond, "ms_per_batch": msPerBatch,
            "gflops": gflops, "sgemm_ceiling_gflops": ceilingGFLOPs, "fraction_of_ceiling": fractionOfCeiling,
            "seq": seq, "batch": batch, "threads": threads, "peak_rss_bytes": peakRSSBytes, "blas_core": blasCore,
        ]
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    var table: String {
        let rows = [
            ("shape", "batch \(batch) × seq \(seq), \(threads) threads"),
            ("OpenBLAS kernels", blasCore),
            ("examples/s", String(format: "%.1f", examplesPerSecond)),
            ("ms/batch (median)", String(format: "%.1f", msPerBatch)),
            ("achieved GFLOP/s", String(format: "%.1f", gflops)),
            ("sgemm ceiling GFLOP/s", String(format: "%.1f", ceilingGFLOPs)),
            ("fraction of ceiling", String(format: "%.0f %%", fractionOfCeiling * 100)),
            ("examples/s at ceiling", String(format: "%.1f", examplesPerSecond / fractionOfCeiling)),
            ("peak RSS", String(format: "%.0f MiB", Double(peakRSSBytes) / 1048576)),
        ]
        return twoColumnTable(rows)
    }
}

/// The benchmarks' input: token ids drawn uniformly from [1000, vocab_size), away from the special
/// and unused tokens at the front of BERT vocabularies (as scripts/bench_peer.py draws them); a
/// vocabulary of 2,000 tokens or fewer draws from all of it.
func syntheticSequences(batch: Int, seq: Int, vocabularySize: Int, generator: inout SeededGenerator) -> [[Int32]] {
    let low = vocabularySize > 2000 ? 1000 : 0
    return (0..<batch).map { _ in
        (0..<seq).map { _ in Int32(low + Int(generator.next() % UInt64(vocabularySize - low))) }
    }
}

/// Rows of (label, value) with the labels padded to one width: the bench commands' table.
func twoColumnTable(_ rows: [(String, String)]) -> String {
    let width = rows.map(\.0.count).max() ?? 0
    return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
}

/// Floating-point operations of one encoder forward (multiply-adds count 2): the linear layers and
/// the two attention products; element-wise work is not counted, as is usual for this figure.
func forwardFLOPs(config: BertConfig, batch B: Int, tokens T: Int) -> Double {
    let C = Double(config.hiddenSize), FF = Double(config.intermediateSize), BT = Double(B * T)
    let linear = 2 * BT * (3 * C * C + C * C + 2 * C * FF)
    let attention = 2 * 2 * Double(B) * Double(T) * Double(T) * C
    return Double(config.numHiddenLayers) * (linear + attention)
}

/// Best sgemm throughput of OpenBLAS on a large square product with `threads` threads — the
/// ceiling our kernels are compared with. Leaves OpenBLAS as `Parallel.configure` wants it.
func measureSgemmCeiling(threads: Int, size n: Int = 2048) -> Double {
    openblas_set_num_threads(Int32(threads))
    defer { openblas_set_num_threads(1) }
    let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    var best = 0.0
    for _ in 0..<8 {
        let start = DispatchTime.now().uptimeNanoseconds
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(n), Int32(n),
                    1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        best = max(best, 2 * Double(n) * Double(n) * Double(n) / seconds / 1e9)
    }
    return best
}

/// Peak resident set size of this process, in bytes; 0 where /proc is unavailable.
func peakResidentBytes() -> Int { PeakMemory.bytes() }
