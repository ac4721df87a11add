import Foundation
import Kernels
import XCTest

/// The decoder's backward kernels (RMSNorm, SwiGLU, rotary embedding, causal grouped-query
/// attention, the chunked language-model-head loss) against central finite differences of their
/// forwards, on tiny random shapes that are not multiples of the vector width.
final class DecoderKernelGradientTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testRMSNormBackward() {
        var check = GradientCheck()
        let N = 4, C = 19
        var x = check.random(N * C, scale: 2), w = check.random(C)
        let g = check.random(N * C)
        func forward(_ x: [Float], _ w: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
            rmsNormForward(out: &out, rstd: &rstd, inp: x, weight: w, rows: N, channels: C, eps: 1e-5)
            return out
        }
        var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
        rmsNormForward(out: &out, rstd: &rstd, inp: x, weight: w, rows: N, channels: C, eps: 1e-5)
        // Gradients accumulate: start from ones and subtract them after.
        var dx = [Float](repeating: 1, count: N * C), dw = [Float](repeating: 1, count: C)
        rmsNormBackward(dinp: &dx, dweight: &dw, dout: g, inp: x, weight: w, rstd: rstd, rows: N, channels: C)
        GradientCheck.compare("dinp", x: &x, analytic: dx.map { $0 - 1 }, step: 1e-3) { dot(forward($0, w), g) }
        GradientCheck.compare("dweight", x: &w, analytic: dw.map { $0 - 1 }) { dot(forward(x, $0), g) }
    }

    func testSwiGLUBackward() {
        var check = GradientCheck()
        let N = 37
        var gate = check.random(N, scale: 3), up = check.random(N)
        let g = check.random(N)
        func forward(_ gate: [Float], _ up: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N)
            swigluForward(out: &out, gate: gate, up: up, count: N)
            return out
        }
        var dgate = [Float](repeating: 0, count: N), dup = [Float](repeating: 0, count: N)
        swigluBackward(dgate: &dgate, dup: &dup, dout: g, gate: gate, up: up, count: N)
        GradientCheck.compare("dgate", x: &gate, analytic: dgate, step: 1e-3) { dot(forward($0, up), g) }
        GradientCheck.compare("dup", x: &up, analytic: dup, step: 1e-3) { dot(forward(gate, $0), g) }
    }

    func testRotaryBackward() {
        var check = GradientCheck()
        let B = 2, T = 5, heads = 2, D = 6, past = 3, stride = heads * D + 3
        let tables = RotaryTables(headDim: D, positions: 16, theta: 10_000)
        var x = check.random(B * T * stride)
        let g = check.random(B * T * stride)
        func forward(_ x: [Float]) -> [Float] {
            var rotated = x
            rotaryForward(&rotated, tables: tables, batch: B, tokens: T, past: past, heads: heads, rowStride: stride)
            return rotated
        }
        var grad = g
        rotaryBackward(&grad, tables: tables, batch: B, tokens: T, past: past, heads: heads, rowStride: stride)
        GradientCheck.compare("dx", x: &x, analytic: grad, step: 1e-3) { dot(forward($0), g) }
    }

    func testCausalGroupedQueryAttentionBackward() {
        for (past, capacity) in [(0, 5), (2, 9)] {
            var check = GradientCheck()
            let B = 2, T = 5, H = 4, KV = 2, D = 3, L = past + T
            var q = check.random(B * T * H * D), k = check.random(B * capacity * KV * D), v = check.random(B * capacity * KV * D)
            let g = check.random(B * T * H * D)
            func forward(_ q: [Float], _ k: [Float], _ v: [Float]) -> ([Float], [Float]) {
                var out = [Float](repeating: 0, count: B * T * H * D), probs = [Float](repeating: 0, count: B * H * T * L)
                causalAttentionForward(out: &out, probs: &probs, query: q, key: k, value: v, batch: B, tokens: T, past: past,
                                       keyRows: capacity, heads: H, kvHeads: KV, headDim: D)
                return (out, probs)
            }
            let probs = forward(q, k, v).1
            var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
            causalAttentionBackward(dquery: &dq, dkey: &dk, dvalue: &dv, dout: g, probs: probs, query: q, key: k, value: v,
                                    batch: B, tokens: T, past: past, keyRows: capacity, heads: H, kvHeads: KV, headDim: D)
            GradientCheck.compare("dquery past \(past)", x: &q, analytic: dq, step: 1e-3) { dot(forward($0, k, v).0, g) }
            GradientCheck.compare("dkey past \(past)", x: &k, analytic: dk, step: 1e-3) { dot(forward(q, $0, v).0, g) }
            GradientCheck.compare("dvalue past \(past)", x: &v, analytic: dv, step: 1e-3) { dot(forward(q, k, $0).0, g) }
            // Key rows beyond the positions attended to get no gradient.
            for b in 0..<B {
                for row in L..<capacity {
                    XCTAssertEqual(Array(dk[((b * capacity + row) * KV * D)..<((b * capacity + row + 1) * KV * D)]),
                                   [Float](repeating: 0, count: KV * D))
                }
            }
        }
    }

    func testLanguageModelHeadLossIsChunkedAndDifferentiable() {
        var check = GradientCheck()
        let R = 7, d = 5, V = 11
        var h = check.random(R * d), w = check.random(V * d)
        let targets: [Int32] = [0, 10, 3, 3, 7, 1, 9]
        func loss(_ h: [Float], _ w: [Float], chunk: Int = 3) -> Double {
            languageModelHeadLoss(dhidden: nil, dweight: nil, hidden: h, weight: w, targets: targets, rows: R, dim: d,
                                  vocabulary: V, chunkRows: chunk).loss
        }
        // The definition, in Float64 over the full (R, V) logits.
        var expected = 0.0
        for r in 0..<R {
            let logits = (0..<V).map { v in (0..<d).reduce(0.0) { $0 + Double(h[r * d + $1]) * Double(w[v * d + $1]) } }
            let top = logits.max()!
            expected += top + Foundation.log(logits.reduce(0) { $0 + Foundation.exp($1 - top) }) - logits[Int(targets[r])]
        }
        XCTAssertEqual(loss(h, w), expected / Double(R), accuracy: 1e-5)
        let correct = (0..<R).count { r in
            let logits = (0..<V).map { v in (0..<d).reduce(0.0) { $0 + Double(h[r * d + $1]) * Double(w[v * d + $1]) } }
            return logits.indices.max { logits[$0] < logits[$1] } == Int(targets[r])
        }
        XCTAssertEqual(languageModelHeadLoss(dhidden: nil, dweight: nil, hidden: h, weight: w, targets: targets, rows: R, dim: d,
                                             vocabulary: V, chunkRows: 3).correct, correct)
        XCTAssertEqual(loss(h, w, chunk: 3), loss(h, w, chunk: 64), accuracy: 1e-12, "chunking changes nothing")
        var dh = [Float](repeating: 0, count: R * d), dw = [Float](repeating: 0, count: V * d)
        _ = languageModelHeadLoss(dhidden: &dh, dweight: &dw, hidden: h, weight: w, targets: targets, rows: R, dim: d,
                                  vocabulary: V, chunkRows: 3)
        GradientCheck.compare("dhidden", x: &h, analytic: dh, step: 1e-3) { loss($0, w) }
        GradientCheck.compare("dweight", x: &w, analytic: dw, step: 1e-3) { loss(h, $0) }
    }
}
