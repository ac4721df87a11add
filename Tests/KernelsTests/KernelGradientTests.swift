import Foundation
import Kernels
import XCTest

/// Every backward kernel against central finite differences on tiny random shapes.
final class KernelGradientTests: XCTestCase {
    override func setUp() { Parallel.configure(threads: 2) }

    func testMatmulBackward() {
        var check = GradientCheck()
        let N = 5, IC = 7, OC = 3
        var x = check.random(N * IC), w = check.random(OC * IC), b = check.random(OC)
        let g = check.random(N * OC)
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N * OC)
            matmulForward(out: &out, inp: x, weight: w, bias: b, rows: N, inFeatures: IC, outFeatures: OC)
            return out
        }
        var dx = [Float](repeating: 0, count: N * IC), dw = [Float](repeating: 0, count: OC * IC), db = [Float](repeating: 0, count: OC)
        matmulBackward(dinp: &dx, dweight: &dw, dbias: &db, dout: g, inp: x, weight: w, rows: N, inFeatures: IC, outFeatures: OC)
        GradientCheck.compare("dinp", x: &x, analytic: dx) { dot(forward($0, w, b), g) }
        GradientCheck.compare("dweight", x: &w, analytic: dw) { dot(forward(x, $0, b), g) }
        GradientCheck.compare("dbias", x: &b, analytic: db) { dot(forward(x, w, $0), g) }
    }

    func testMatmulForwardMatchesNaiveReference() {
        var check = GradientCheck()
        let N = 67, IC = 33, OC = 19 // odd sizes: row split across workers with a remainder
        let x = check.random(N * IC), w = check.random(OC * IC), b = check.random(OC)
        var out = [Float](repeating: 0, count: N * OC)
        matmulForward(out: &out, inp: x, weight: w, bias: b, rows: N, inFeatures: IC, outFeatures: OC)
        for n in 0..<N {
            for o in 0..<OC {
                var sum = Double(b[o])
                for i in 0..<IC { sum += Double(x[n * IC + i]) * Double(w[o * IC + i]) }
                XCTAssertEqual(Double(out[n * OC + o]), sum, accuracy: 1e-4)
            }
        }
    }

    func testLayerNormBackward() {
        var check = GradientCheck()
        let N = 4, C = 6
        var x = check.random(N * C, scale: 2), w = check.random(C), b = check.random(C)
        let g = check.random(N * C)
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
            layerNormForward(out: &out, mean: &mean, rstd: &rstd, inp: x, weight: w, bias: b, rows: N, channels: C, eps: 1e-5)
            return out
        }
        var mean = [Float](repeating: 0, count: N), rstd = mean, out = [Float](repeating: 0, count: N * C)
        layerNormForward(out: &out, mean: &mean, rstd: &rstd, inp: x, weight: w, bias: b, rows: N, channels: C, eps: 1e-5)
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C), db = dw
        layerNormBackward(dinp: &dx, dweight: &dw, dbias: &db, dout: g, inp: x, weight: w, mean: mean, rstd: rstd, rows: N, channels: C)
        GradientCheck.compare("dinp", x: &x, analytic: dx, step: 1e-3) { dot(forward($0, w, b), g) }
        GradientCheck.compare("dweight", x: &w, analytic: dw) { dot(forward(x, $0, b), g) }
        GradientCheck.compare("dbias", x: &b, analytic: db) { dot(forward(x, w, $0), g) }
    }

    func testGeluBackward() {
        var check = GradientCheck()
        let N = 40 // two vectors of 16 and a scalar tail
        var x = check.random(N, scale: 2)
        let g = check.random(N)
        func forward(_ x: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N)
            geluForward(out: &out, inp: x, count: N)
            return out
        }
        var dx = [Float](repeating: 0, count: N)
        geluBackward(dinp: &dx, inp: x, dout: g, count: N)
        GradientCheck.compare("dinp", x: &x, analytic: dx, step: 1e-3) { dot(forward($0), g) }
        var inPlace = g
        geluBackwardInPlace(&inPlace, inp: x, count: N)
        XCTAssertEqual(inPlace, dx, "the in-place form computes the same gradient")
    }

    func testAttentionBackwardWithPadding() {
        var check = GradientCheck()
        let B = 2, T = 5, C = 8, NH = 2
        let lengths: [Int32] = [5, 3] // second item padded: its padded rows carry no gradient
        var qkv = check.random(B * T * 3 * C)
        let g = check.random(B * T * C)
        func forward(_ qkv: [Float]) -> ([Float], [Float]) {
            var out = [Float](repeating: 0, count: B * T * C), probs = [Float](repeating: 0, count: B * NH * T * T)
            attentionForward(out: &out, probs: &probs, qkv: qkv, lengths: lengths, batch: B, tokens: T, channels: C, heads: NH)
            return (out, probs)
        }
        let (_, probs) = forward(qkv)
        // Masked keys get probability exactly zero; each real query row sums to 1.
        for t in 0..<3 {
            let row = Array(probs[(1 * NH * T * T + t * T)..<(1 * NH * T * T + t * T + T)])
            XCTAssertEqual(row[3], 0); XCTAssertEqual(row[4], 0)
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-6)
        }
        var dqkv = [Float](repeating: 0, count: B * T * 3 * C)
        var scratch = [Float](repeating: 0, count: Parallel.threadCount * 2 * T * T)
        attentionBackward(dqkv: &dqkv, dout: g, qkv: qkv, probs: probs, lengths: lengths, scratch: &scratch,
                          batch: B, tokens: T, channels: C, heads: NH)
        GradientCheck.compare("dqkv", x: &qkv, analytic: dqkv, step: 1e-3) { dot(forward($0).0, g) }
    }

    func testAttentionBackwardWithDropout() {
        var check = GradientCheck()
        let B = 2, T = 4, C = 4, NH = 2
        let lengths: [Int32] = [4, 3]
        var qkv = check.random(B * T * 3 * C)
        let g = check.random(B * T * C)
        var mask = [UInt8](repeating: 0, count: B * NH * T * T)
        dropoutMaskFill(mask: &mask, count: mask.count, probability: 0.3, seed: 11)
        XCTAssertTrue(mask.contains(0) && mask.contains(1), "the mask should drop some and keep the rest")
        let scale = dropoutScale(probability: 0.3)
        var forwardScratch = [Float](repeating: 0, count: Parallel.threadCount * T * T)
        func forward(_ qkv: [Float]) -> ([Float], [Float]) {
            var out = [Float](repeating: 0, count: B * T * C), probs = [Float](repeating: 0, count: B * NH * T * T)
            attentionForward(out: &out, probs: &probs, qkv: qkv, lengths: lengths, dropoutMask: mask, dropoutScale: scale, scratch: &forwardScratch,
                             batch: B, tokens: T, channels: C, heads: NH)
            return (out, probs)
        }
        let (_, probs) = forward(qkv)
        var dqkv = [Float](repeating: 0, count: B * T * 3 * C)
        var scratch = [Float](repeating: 0, count: Parallel.threadCount * 2 * T * T)
        attentionBackward(dqkv: &dqkv, dout: g, qkv: qkv, probs: probs, lengths: lengths, dropoutMask: mask, dropoutScale: scale, scratch: &scratch,
                          batch: B, tokens: T, channels: C, heads: NH)
        GradientCheck.compare("dqkv", x: &qkv, analytic: dqkv, step: 1e-3) { dot(forward($0).0, g) }
    }

    func testDropoutMaskIsReproducibleAndHasTheRightRate() {
        let n = 100_000
        var a = [UInt8](repeating: 0, count: n), b = a
        dropoutMaskFill(mask: &a, count: n, probability: 0.1, seed: 5)
        Parallel.configure(threads: 1)
        dropoutMaskFill(mask: &b, count: n, probability: 0.1, seed: 5)
        Parallel.configure(threads: 2)
        XCTAssertEqual(a, b, "the mask must not depend on the thread count")
        let dropped = Double(a.filter { $0 == 0 }.count) / Double(n)
        XCTAssertEqual(dropped, 0.1, accuracy: 0.005)
        XCTAssertEqual(dropoutScale(probability: 0.1), 1 / 0.9, accuracy: 1e-6)
        var x = [Float](repeating: 2, count: 4)
        applyDropoutMask(&x, [1, 0, 1, 0], scale: 1.25, count: 4)
        XCTAssertEqual(x, [2.5, 0, 2.5, 0])
    }

    func testCounterHashIsTheGeneratorsNthValue() {
        var generator = SeededGenerator(seed: 99)
        for counter in 0..<5 { XCTAssertEqual(counterHash(99, UInt64(counter)), generator.next()) }
    }

    func testCrossEntropyAndTanhBackward() {
        var check = GradientCheck()
        let B = 3, K = 4
        var logits = check.random(B * K, scale: 2)
        let labels: [Int32] = [0, 3, 2]
        var probs = [Float](repeating: 0, count: B * K)
        crossEntropyForward(probabilities: &probs, logits: logits, labels: labels, batch: B, classes: K)
        var dlogits = [Float](repeating: 0, count: B * K)
        crossEntropyBackward(dlogits: &dlogits, probabilities: probs, labels: labels, batch: B, classes: K)
        GradientCheck.compare("dlogits", x: &logits, analytic: dlogits, step: 1e-3) { logits in
            var p = [Float](repeating: 0, count: B * K)
            return crossEntropyForward(probabilities: &p, logits: logits, labels: labels, batch: B, classes: K)
        }
        var x = check.random(10)
        let g = check.random(10)
        var y = [Float](repeating: 0, count: 10), dx = y
        tanhForward(out: &y, inp: x, count: 10)
        tanhBackward(dinp: &dx, out: y, dout: g, count: 10)
        GradientCheck.compare("tanh", x: &x, analytic: dx, step: 1e-3) { x in
            var y = [Float](repeating: 0, count: 10)
            tanhForward(out: &y, inp: x, count: 10)
            return dot(y, g)
        }
    }

    func testWeightedCrossEntropyBackward() {
        var check = GradientCheck()
        let B = 5, K = 3
        var logits = check.random(B * K, scale: 2)
        let labels: [Int32] = [0, 2, 2, 1, 0]
        let weights: [Float] = [0.5, 3, 1.25]
        var probs = [Float](repeating: 0, count: B * K)
        crossEntropyForward(probabilities: &probs, logits: logits, labels: labels, classWeights: weights, batch: B, classes: K)
        var dlogits = [Float](repeating: 0, count: B * K)
        crossEntropyBackward(dlogits: &dlogits, probabilities: probs, labels: labels, classWeights: weights, batch: B, classes: K)
        GradientCheck.compare("dlogits (weighted)", x: &logits, analytic: dlogits, step: 1e-3) { logits in
            var p = [Float](repeating: 0, count: B * K)
            return crossEntropyForward(probabilities: &p, logits: logits, labels: labels, classWeights: weights, batch: B, classes: K)
        }
    }

    /// `F.cross_entropy(logits, labels, weight=w)` and its gradient, from PyTorch
    /// (Tests/Fixtures/evaluation/imbalance.json, scripts/fixtures/make_imbalance_fixture.py).
    func testWeightedCrossEntropyMatchesPyTorch() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/evaluation/imbalance.json")
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try XCTUnwrap(root["weighted_cross_entropy"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 6)
        for c in cases {
            let name = c["name"] as! String
            let rows = (c["logits"] as! [[Double]])
            let B = rows.count, K = rows[0].count
            let logits = rows.flatMap { $0.map(Float.init) }
            let labels = (c["labels"] as! [Int]).map(Int32.init)
            let weights = (c["weights"] as! [Double]).map(Float.init)
            var probs = [Float](repeating: 0, count: B * K)
            let loss = crossEntropyForward(probabilities: &probs, logits: logits, labels: labels, classWeights: weights, batch: B, classes: K)
            let expected = c["loss"] as! Double
            XCTAssertEqual(loss, expected, accuracy: 1e-5 * max(1, abs(expected)), name)
            var dlogits = [Float](repeating: 0, count: B * K)
            crossEntropyBackward(dlogits: &dlogits, probabilities: probs, labels: labels, classWeights: weights, batch: B, classes: K)
            let grad = (c["grad"] as! [[Double]]).flatMap { $0 }
            for i in grad.indices {
                XCTAssertEqual(Double(dlogits[i]), grad[i], accuracy: 1e-6, "\(name) dlogits[\(i)]")
            }
        }
    }

    /// With equal weights the weighted loss is the plain mean, bit for bit in the gradient.
    func testEqualClassWeightsAreThePlainMean() {
        var check = GradientCheck()
        let B = 4, K = 3
        let logits = check.random(B * K, scale: 2)
        let labels: [Int32] = [0, 2, 1, 1]
        var p1 = [Float](repeating: 0, count: B * K), p2 = p1
        let plain = crossEntropyForward(probabilities: &p1, logits: logits, labels: labels, batch: B, classes: K)
        let weighted = crossEntropyForward(probabilities: &p2, logits: logits, labels: labels, classWeights: [2, 2, 2], batch: B, classes: K)
        XCTAssertEqual(plain, weighted, accuracy: 1e-12)
        var d1 = [Float](repeating: 0, count: B * K), d2 = d1
        crossEntropyBackward(dlogits: &d1, probabilities: p1, labels: labels, batch: B, classes: K)
        crossEntropyBackward(dlogits: &d2, probabilities: p2, labels: labels, classWeights: [1, 1, 1], batch: B, classes: K)
        XCTAssertEqual(d1, d2)
    }

    func testMeanPoolBackward() {
        var check = GradientCheck()
        let B = 2, T = 4, C = 3
        let starts: [Int32] = [0, 1], lengths: [Int32] = [4, 2]
        var x = check.random(B * T * C)
        let g = check.random(B * C)
        func forward(_ x: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: B * C)
            meanPoolForward(out: &out, inp: x, starts: starts, lengths: lengths, batch: B, tokens: T, channels: C)
            return out
        }
        var dx = [Float](repeating: 0, count: B * T * C)
        meanPoolBackward(dinp: &dx, dout: g, starts: starts, lengths: lengths, batch: B, tokens: T, channels: C)
        GradientCheck.compare("dinp", x: &x, analytic: dx) { dot(forward($0), g) }
    }

    func testEmbeddingBackwardAccumulatesRepeatedTokens() {
        var check = GradientCheck()
        let B = 2, T = 3, C = 4, V = 5, P = 6
        let ids: [Int32] = [1, 3, 1, 4, 1, 0], lengths: [Int32] = [3, 2]
        var wte = check.random(V * C), wpe = check.random(P * C), wtt = check.random(2 * C)
        let g = check.random(B * T * C)
        // Padded positions are excluded from the loss, as pooling excludes them downstream.
        let mask: [Float] = (0..<(B * T * C)).map { i in Int32((i / C) % T) < lengths[i / (T * C)] ? 1 : 0 }
        func forward(_ wte: [Float], _ wpe: [Float], _ wtt: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: B * T * C)
            embeddingForward(out: &out, ids: ids, wordEmbeddings: wte, positionEmbeddings: wpe, tokenTypeEmbeddings: wtt, batch: B, tokens: T, channels: C)
            return zip(out, mask).map { $0 * $1 }
        }
        var dwte = [Float](repeating: 0, count: V * C), dwpe = [Float](repeating: 0, count: P * C), dwtt = [Float](repeating: 0, count: 2 * C)
        embeddingBackward(dwordEmbeddings: &dwte, dpositionEmbeddings: &dwpe, dtokenTypeEmbeddings: &dwtt, dout: g, ids: ids, lengths: lengths, batch: B, tokens: T, channels: C)
        GradientCheck.compare("dwte", x: &wte, analytic: dwte) { dot(forward($0, wpe, wtt), g) }
        GradientCheck.compare("dwpe", x: &wpe, analytic: dwpe) { dot(forward(wte, $0, wtt), g) }
        GradientCheck.compare("dwtt", x: &wtt, analytic: dwtt) { dot(forward(wte, wpe, $0), g) }
    }
}
