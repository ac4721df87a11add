import ArgumentParser
import COpenBLAS
import Foundation
import Kernels
import Model
import Runner

/// `bench score`: a decoder's scoring forward — every position's logits, as label scoring and
/// perplexity need — on synthetic input, next to the sgemm ceiling. The peer is
/// scripts/bench_decoder_peer.py (PyTorch fp32 eager on the same GGUF, same shapes and threads).
struct ScoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Time a decoder's forward with every position's logits on synthetic input (no padding).",
        discussion: """
        Example:
          evalharness bench score --batch 8 --seq 128 --threads 2
        """
    )

    @OptionGroup var modelOptions: DecoderModelOptions
    @Option(help: "Tokens per sequence.") var seq: Int = 128
    @Option(help: "Sequences per forward pass.") var batch: Int = 8
    @Option(help: "Timed forward passes (after 1 warm-up pass).") var iterations: Int = 5
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard seq >= 1, batch >= 1, iterations >= 1 else { throw ValidationError("--seq, --batch and --iterations must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let threads = modelOptions.threads
            let ceiling = measureSgemmCeiling(threads: threads)
            let model = try modelOptions.load().network
            let c = model.config
            var generator = SeededGenerator(seed: 42)
            // Ids from 17 on: past SmolLM2's control tokens (as the peer script draws them).
            let sequences = (0..<batch).map { _ in (0..<seq).map { _ in Int32(17 + Int(generator.next() % UInt64(c.vocabSize - 17))) } }
            let rows = Array(0..<(batch * seq))
            func pass() throws {
                let (states, _) = try model.hiddenStates(sequences)
                _ = model.logits(ofRows: states, rows: rows)
            }
            try pass()
            var times: [Double] = []
            for _ in 0..<iterations {
                let start = DispatchTime.now().uptimeNanoseconds
                try pass()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            times.sort()
            let median = times[times.count / 2]
            let N = Double(batch * seq), d = Double(c.hiddenSize), q = Double(c.heads * c.headDim), kv = Double(c.kvHeads * c.headDim)
            let perLayer = 2 * N * (d * (q + 2 * kv) + q * d + 3 * d * Double(c.intermediateSize))
                + 2 * 2 * Double(batch) * Double(seq) * Double(seq) * q
            let flops = Double(c.layers) * perLayer + 2 * N * d * Double(c.vocabSize)
            let tokensPerSecond = N / median
            let gflops = flops / median / 1e9
            let rss = peakResidentBytes()
            if json {
                let fields: [String: Any] = [
                    "benchmark": "score", "tokens_per_s": tokensPerSecond, "seconds_per_batch": median,
                    "seconds_per_batch_min": times[0], "gflops": gflops, "sgemm_ceiling_gflops": ceiling,
                    "fraction_of_ceiling": gflops / ceiling, "batch": batch, "seq": seq, "threads": threads,
                    "peak_rss_bytes": rss, "weights": modelOptions.weights, "weight_bytes": model.weights.byteCount, "blas_core": String(cString: openblas_get_corename()),
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print(twoColumnTable([
                ("model", modelOptions.model),
                ("shape", "batch \(batch) × seq \(seq), \(threads) threads, logits at every position"),
                ("weights", "\(modelOptions.weights): \(String(format: "%.0f MiB", Double(model.weights.byteCount) / 1_048_576))"),
                ("tokens/s", String(format: "%.0f", tokensPerSecond)),
                ("s/batch (median, min)", String(format: "%.3f, %.3f", median, times[0])),
                ("achieved GFLOP/s", String(format: "%.1f", gflops)),
                ("sgemm ceiling GFLOP/s", String(format: "%.1f", ceiling)),
                ("fraction of ceiling", String(format: "%.0f %%", 100 * gflops / ceiling)),
                ("peak RSS", String(format: "%.0f MiB", Double(rss) / 1_048_576)),
            ]))
        }
    }
}
