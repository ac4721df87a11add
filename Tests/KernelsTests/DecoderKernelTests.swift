import Foundation
@testable import Kernels
import XCTest

/// The decoder's forward kernels, each against a naive Float64 reference written from its
/// definition (Hugging Face's Llama modules), on random sizes that are not multiples of the
/// vector width.
final class DecoderKernelTests: XCTestCase {
    var generator = SplitMix(seed: 42)

    func random(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in generator.normal() * scale } }

    func maxDifference(_ a: [Float], _ b: [Double]) -> Double { zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0 }

    func testRMSNormMatchesItsDefinition() {
        let N = 5, C = 37
        let x = random(N * C), w = random(C)
        var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
        rmsNormForward(out: &out, rstd: &rstd, inp: x, weight: w, rows: N, channels: C, eps: 1e-5)
        var expected: [Double] = []
        for n in 0..<N {
            let row = x[(n * C)..<((n + 1) * C)].map(Double.init)
            let r = 1 / (row.map { $0 * $0 }.reduce(0, +) / Double(C) + 1e-5).squareRoot()
            expected += row.enumerated().map { $0.element * r * Double(w[$0.offset]) }
            XCTAssertEqual(Double(rstd[n]), r, accuracy: 1e-6 * r)
        }
        XCTAssertLessThan(maxDifference(out, expected), 1e-5)
    }

    func testRotaryEmbeddingRotatesHalfSplitPairs() {
        let B = 2, T = 6, heads = 3, D = 8, past = 4, stride = heads * D + 5  // a row wider than its heads
        let tables = RotaryTables(headDim: D, positions: 32, theta: 10_000)
        let x = random(B * T * stride)
        var rotated = x
        rotaryForward(&rotated, tables: tables, batch: B, tokens: T, past: past, heads: heads, rowStride: stride)
        var expected = x.map(Double.init)
        for row in 0..<(B * T) {
            let p = Double(past + row % T)
            for h in 0..<heads {
                for i in 0..<(D / 2) {
                    let angle = p * (1 / pow(10_000.0, Double(2 * i) / Double(D)))
                    let a = Double(x[row * stride + h * D + i]), b = Double(x[row * stride + h * D + i + D / 2])
                    expected[row * stride + h * D + i] = a * cos(angle) - b * sin(angle)
                    expected[row * stride + h * D + i + D / 2] = b * cos(angle) + a * sin(angle)
                }
            }
        }
        XCTAssertLessThan(maxDifference(rotated, expected), 1e-4)  // angles up to 9 rad rounded to fp32
        // Columns past the heads are untouched.
        for row in 0..<(B * T) { XCTAssertEqual(rotated[(row * stride + heads * D)..<((row + 1) * stride)], x[(row * stride + heads * D)..<((row + 1) * stride)]) }
    }

    func testCausalGroupedQueryAttentionMatchesItsDefinition() {
        for (past, capacity) in [(0, 7), (3, 12)] {
            let B = 2, T = 7, H = 6, KV = 2, D = 5, L = past + T
            let q = random(B * T * H * D), k = random(B * capacity * KV * D), v = random(B * capacity * KV * D)
            var out = [Float](repeating: 0, count: B * T * H * D), probs = [Float](repeating: 0, count: B * H * T * L)
            causalAttentionForward(out: &out, probs: &probs, query: q, key: k, value: v, batch: B, tokens: T, past: past,
                                   keyRows: capacity, heads: H, kvHeads: KV, headDim: D)
            var expected = [Double](repeating: 0, count: out.count)
            for b in 0..<B {
                for h in 0..<H {
                    let g = h / (H / KV)
                    for t in 0..<T {
                        let scores = (0...(past + t)).map { s in
                            (0..<D).reduce(0.0) { $0 + Double(q[(b * T + t) * H * D + h * D + $1]) * Double(k[(b * capacity + s) * KV * D + g * D + $1]) }
                                / Double(D).squareRoot()
                        }
                        let m = scores.max()!
                        let e = scores.map { Foundation.exp($0 - m) }
                        let total = e.reduce(0, +)
                        for j in 0..<D {
                            expected[(b * T + t) * H * D + h * D + j] = e.enumerated().reduce(0.0) {
                                $0 + $1.element / total * Double(v[(b * capacity + $1.offset) * KV * D + g * D + j])
                            }
                        }
                        // Masked keys have probability 0; the row sums to 1.
                        let row = probs[((b * H + h) * T + t) * L..<((b * H + h) * T + t + 1) * L]
                        XCTAssertTrue(row.dropFirst(past + t + 1).allSatisfy { $0 == 0 })
                        XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
                    }
                }
            }
            XCTAssertLessThan(maxDifference(out, expected), 1e-5, "past \(past)")
        }
    }

    func testSwiGLUMatchesItsDefinition() {
        let N = 1_000
        var gate = random(N, scale: 4)
        let up = random(N)
        // Beyond the vectorised exp's clamp (±87) in both directions, and in the scalar tail.
        for (i, z) in [(0, -100), (1, 100), (2, -90), (3, 90), (N - 1, -95)] { gate[i] = Float(z) }
        var out = [Float](repeating: 0, count: N)
        swigluForward(out: &out, gate: gate, up: up, count: N)
        let expected = (0..<N).map { i -> Double in
            let z = Double(gate[i])
            return z / (1 + Foundation.exp(-z)) * Double(up[i])
        }
        XCTAssertLessThan(maxDifference(out, expected), 1e-5)
    }

    func testQuantisedBlockSizes() {
        XCTAssertEqual(GGMLType.q4_1.byteCount(elements: 64), 40)
        XCTAssertEqual(GGMLType.q6_K.byteCount(elements: 512), 420)
        XCTAssertNil(GGMLType.q4_K.byteCount(elements: 100), "a row must be whole blocks")
        XCTAssertNil(GGMLType.q8_0.byteCount(elements: Int.max - 31), "overflow")
    }
}

/// A small seeded generator with normal draws (Box–Muller).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Float {
        Float((-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * .pi * uniform()))
    }
}
