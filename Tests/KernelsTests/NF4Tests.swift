import Foundation
import Kernels
import XCTest

/// NF4 (QLoRA 4-bit) against the real bitsandbytes 0.50.2 on CPU, from the fixtures of
/// scripts/fixtures/make_nf4_fixture.py: packed bytes, absmax, double-quantisation state and
/// dequantised values must be bit-identical. Then the fast path against the scalar reference,
/// the round-trip error bound and the storage size.
final class NF4Tests: XCTestCase {
    // MARK: bitsandbytes parity

    func testCodeTablesAreBitsandbytes() throws {
        let fixture = try NF4Fixture.load("random_333")
        assertBitwiseEqual(NF4.code, try fixture.floats("code"), "get_4bit_type(\"nf4\")")
        assertBitwiseEqual(NF4.dynamicCode, try fixture.floats("dq.code"), "create_dynamic_map(signed=True)")
        // The literals of the CUDA kernel dQuantizeNF4 are the double-precision midpoints. Through
        // double (as numpy/torch take them) they round to exactly the float32 midpoints the CPU
        // backend bucketizes on; rounded straight to float (as a C++ `f` literal, and Swift's) four
        // of them land one ulp away, so CUDA bitsandbytes codes a value exactly on one of those
        // four midpoints one step differently.
        let kernelLiterals: [Double] = [
            -0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544,
            -0.23460740596055984, -0.13791173323988914, -0.045525018125772476, 0.03979014977812767,
            0.1202552504837513, 0.2035212516784668, 0.2920137718319893, 0.3893125355243683,
            0.5016634166240692, 0.6427869200706482, 0.8614784181118011,
        ]
        assertBitwiseEqual(NF4.thresholds, kernelLiterals.map { Float($0) }, "decision thresholds")
        let floatLiterals: [Float] = [
            -0.8480964004993439, -0.6106329262256622, -0.4599952697753906, -0.33967943489551544,
            -0.23460740596055984, -0.13791173323988914, -0.045525018125772476, 0.03979014977812767,
            0.1202552504837513, 0.2035212516784668, 0.2920137718319893, 0.3893125355243683,
            0.5016634166240692, 0.6427869200706482, 0.8614784181118011,
        ]
        let oneUlpOff = NF4.thresholds.indices.filter { NF4.thresholds[$0] != floatLiterals[$0] }
        XCTAssertEqual(oneUlpOff, [0, 8, 12, 14])
        for k in oneUlpOff {
            XCTAssertTrue(NF4.thresholds[k].nextUp == floatLiterals[k] || NF4.thresholds[k].nextDown == floatLiterals[k])
        }
    }

    func testQueryWeightMatchesBitsandbytes() throws { try checkParity("query_384x384") }
    func testIntermediateWeightMatchesBitsandbytes() throws { try checkParity("intermediate_1536x384") }
    /// Odd count, partial block, an all-zero block, values exactly on the thresholds and one ulp above.
    func testTiesZeroBlockAndOddCountMatchBitsandbytes() throws { try checkParity("random_333") }
    /// An all-zero partial block: bitsandbytes stores its absmax as 1e-38.
    func testZeroPartialBlockMatchesBitsandbytes() throws { try checkParity("zero_tail_200") }
    /// Every block has absmax 0.5: the nested block is all zeros, its absmax 0 and its codes 0.
    func testZeroNestedBlockMatchesBitsandbytes() throws { try checkParity("uniform_absmax_16384") }

    private func checkParity(_ name: String) throws {
        let fixture = try NF4Fixture.load(name)
        let count = try XCTUnwrap(Int(fixture.metadata["count"] ?? ""))
        let input = try fixture.input()
        XCTAssertEqual(input.count, count)
        XCTAssertEqual(fnv1a64(input), fixture.metadata["input_fnv1a64"], "\(name): not the input bitsandbytes saw")
        let bnbPacked = try fixture.bytes("packed")
        let bnbAbsmax = try fixture.floats("absmax")
        let bnbCodes = try fixture.bytes("dq.codes")
        let bnbNestedAbsmax = try fixture.floats("dq.absmax")
        let bnbOffset = try fixture.floats("dq.offset")[0]

        // Without double quantisation: fast path and reference.
        let plain = NF4Tensor.quantize(input, count: count, doubleQuantize: false)
        assertBytesEqual(plain.packed, bnbPacked, "\(name) packed")
        assertBitwiseEqual(plain.absmax, bnbAbsmax, "\(name) absmax")
        var referencePacked = [UInt8](repeating: 0, count: (count + 1) / 2)
        var referenceAbsmax = [Float](repeating: 0, count: bnbAbsmax.count)
        nf4QuantizeReference(packed: &referencePacked, absmax: &referenceAbsmax, values: input, count: count)
        assertBytesEqual(referencePacked, bnbPacked, "\(name) reference packed")
        assertBitwiseEqual(referenceAbsmax, bnbAbsmax, "\(name) reference absmax")
        try checkDequantized(plain, fixture, key: "dequantized", name: name)
        var referenceOut = [Float](repeating: 0, count: count)
        nf4DequantizeReference(out: &referenceOut, packed: bnbPacked, absmax: bnbAbsmax, count: count)
        try checkValues(referenceOut, fixture, key: "dequantized", name: "\(name) reference")

        // With double quantisation.
        let nested = NF4Tensor.quantize(input, count: count, doubleQuantize: true)
        assertBytesEqual(nested.packed, bnbPacked, "\(name) packed (double-quantised)")
        XCTAssertTrue(nested.absmax.isEmpty)
        let state = try XCTUnwrap(nested.doubleQuantized)
        XCTAssertEqual(state.offset.bitPattern, bnbOffset.bitPattern, "\(name) offset \(state.offset) vs \(bnbOffset)")
        assertBytesEqual(state.codes, bnbCodes, "\(name) nested codes")
        assertBitwiseEqual(state.absmax, bnbNestedAbsmax, "\(name) nested absmax")
        try checkDequantized(nested, fixture, key: "dq.dequantized", name: name)
        // bitsandbytes' own state, dequantised here.
        let fromBnb = NF4Tensor(count: count, packed: bnbPacked, absmax: [], doubleQuantized:
            DoubleQuantizedAbsmax(codes: bnbCodes, absmax: bnbNestedAbsmax, offset: bnbOffset))
        try checkDequantized(fromBnb, fixture, key: "dq.dequantized", name: "\(name) from bnb state")
        print("NF4 parity \(name): \(count) values, \(bnbAbsmax.count) blocks, offset \(bnbOffset): packed, absmax, "
              + "nested codes/absmax/offset and dequantised values bit-identical to bitsandbytes")
    }

    private func checkDequantized(_ tensor: NF4Tensor, _ fixture: NF4Fixture, key: String, name: String) throws {
        var out = [Float](repeating: .nan, count: tensor.count)
        tensor.dequantize(into: &out)
        try checkValues(out, fixture, key: key, name: name)
    }

    /// Full values where stored, else every 16th value plus the hash of all of them.
    private func checkValues(_ values: [Float], _ fixture: NF4Fixture, key: String, name: String) throws {
        if fixture.has(key) {
            assertBitwiseEqual(values, try fixture.floats(key), "\(name) \(key)")
        } else {
            let sample = try fixture.floats("\(key).every16")
            assertBitwiseEqual(stride(from: 0, to: values.count, by: 16).map { values[$0] }, sample, "\(name) \(key) sample")
        }
        XCTAssertEqual(fnv1a64(values), fixture.metadata["\(key)_fnv1a64"], "\(name) \(key): hash of all values")
    }

    // MARK: fast path, reference, error bound, size

    func testFastPathEqualsReference() {
        let savedThreads = Parallel.threadCount
        defer { Parallel.configure(threads: savedThreads) }
        var generator = SeededGenerator(seed: 4)
        let cases: [(count: Int, blockSize: Int)] = [
            (0, 64), (1, 64), (2, 64), (63, 64), (64, 64), (65, 64), (333, 64), (4096, 64), (64 * 300 + 17, 64),
            (384 * 384, 64), (1000, 32), (1001, 128), (5000, 4096), (70_000, 256),
        ]
        for threads in [1, 3] {
            Parallel.configure(threads: threads)
            for (count, blockSize) in cases {
                var values = (0..<count).map { _ in generator.nextNormal() * 0.05 }
                // A zero block, exact thresholds (absmax 1), tiny and large magnitudes.
                if count >= 3 * blockSize {
                    for i in blockSize..<2 * blockSize { values[i] = 0 }
                    values[2 * blockSize] = 1
                    for (k, t) in NF4.thresholds.enumerated() where k + 1 < blockSize / 2 {
                        values[2 * blockSize + 1 + 2 * k] = t
                        values[2 * blockSize + 2 + 2 * k] = t.nextUp
                    }
                }
                if count > 10 { values[count - 1] *= 1e-30; values[count / 2] = 3e4 }
                let fast = NF4Tensor.quantize(values, count: count, blockSize: blockSize, doubleQuantize: false)
                var packed = [UInt8](repeating: 0, count: (count + 1) / 2)
                var absmax = [Float](repeating: 0, count: fast.blockCount)
                nf4QuantizeReference(packed: &packed, absmax: &absmax, values: values, count: count, blockSize: blockSize)
                let label = "count \(count) block \(blockSize) threads \(threads)"
                assertBytesEqual(fast.packed, packed, "\(label) packed")
                assertBitwiseEqual(fast.absmax, absmax, "\(label) absmax")
                var fastOut = [Float](repeating: .nan, count: count)
                var referenceOut = [Float](repeating: .nan, count: count)
                fast.dequantize(into: &fastOut)
                nf4DequantizeReference(out: &referenceOut, packed: packed, absmax: absmax, count: count, blockSize: blockSize)
                assertBitwiseEqual(fastOut, referenceOut, "\(label) dequantised")
                // Double quantisation: the fast dequantisation uses the same rebuilt absmax.
                let nested = NF4Tensor.quantize(values, count: count, blockSize: blockSize, doubleQuantize: true)
                assertBytesEqual(nested.packed, packed, "\(label) packed (double-quantised)")
                nested.dequantize(into: &fastOut)
                nf4DequantizeReference(out: &referenceOut, packed: packed, absmax: nested.blockAbsmax(), count: count,
                                       blockSize: blockSize)
                assertBitwiseEqual(fastOut, referenceOut, "\(label) dequantised (double-quantised)")
                // Any span (a panel of rows): odd starts and ends, inside a block, across blocks.
                guard count > 0 else { continue }
                for _ in 0..<6 {
                    let a = Int(generator.next() % UInt64(count)), b = Int(generator.next() % UInt64(count)) + 1
                    let span = min(a, b - 1)..<max(a + 1, b)
                    var part = [Float](repeating: .nan, count: span.count)
                    nested.dequantize(span, into: &part)
                    assertBitwiseEqual(part, Array(referenceOut[span]), "\(label) values \(span)")
                }
            }
        }
    }

    /// |x − deq(q(x))| ≤ absmax · (largest code gap) / 2 per block; with double quantisation plus the
    /// error of the rebuilt absmax (|code| ≤ 1).
    func testRoundTripErrorIsWithinHalfTheLargestCodeGap() {
        let maxGap = zip(NF4.code.dropFirst(), NF4.code).map { $0 - $1 }.max()!
        var generator = SeededGenerator(seed: 9)
        let count = 64 * 500 + 31
        let values = (0..<count).map { i in generator.nextNormal() * (i % 3 == 0 ? 0.02 : 0.2) }
        for doubleQuantize in [false, true] {
            let tensor = NF4Tensor.quantize(values, count: count, doubleQuantize: doubleQuantize)
            var out = [Float](repeating: .nan, count: count)
            tensor.dequantize(into: &out)
            let used = tensor.blockAbsmax()
            var worstRatio: Float = 0
            for block in 0..<tensor.blockCount {
                let range = block * 64..<min(block * 64 + 64, count)
                let trueAbsmax = range.map { abs(values[$0]) }.max()!
                let bound = trueAbsmax * maxGap / 2 * (1 + 1e-6) + abs(used[block] - trueAbsmax)
                for i in range {
                    let error = abs(values[i] - out[i])
                    XCTAssertLessThanOrEqual(error, bound, "value \(i) (double quantised: \(doubleQuantize))")
                    worstRatio = max(worstRatio, error / (trueAbsmax * maxGap / 2))
                }
            }
            print("NF4 round trip (double quantised: \(doubleQuantize)): worst error / (absmax · max gap / 2) = \(worstRatio)")
        }
    }

    func testRealWeightStorageIsUnderSixteenPercentOfFloat32() throws {
        for name in ["encoder.layer.0.attention.self.query.weight", "encoder.layer.0.intermediate.dense.weight"] {
            let weight = try NF4Fixture.modelTensor(name)
            let float32Bytes = weight.count * MemoryLayout<Float>.size
            for doubleQuantize in [false, true] {
                let tensor = NF4Tensor.quantize(weight, count: weight.count, doubleQuantize: doubleQuantize)
                let ratio = Double(tensor.byteCount) / Double(float32Bytes)
                print(String(format: "NF4 %@ (%d values), double quantised %@: %d bytes vs %d fp32 bytes = %.2f %%",
                             name, weight.count, "\(doubleQuantize)", tensor.byteCount, float32Bytes, 100 * ratio))
                XCTAssertLessThanOrEqual(ratio, 0.16)
            }
        }
    }

    /// Prints the dequantisation throughput (output float32 bytes per second); asserts nothing,
    /// timing on a shared machine is not a test. Meaningful with `-c release`.
    func testDequantizeThroughput() {
        let savedThreads = Parallel.threadCount
        defer { Parallel.configure(threads: savedThreads) }
        var generator = SeededGenerator(seed: 1)
        let count = 1536 * 384
        let values = (0..<count).map { _ in generator.nextNormal() * 0.05 }
        var out = [Float](repeating: 0, count: count)
        #if DEBUG
        let repeats = 3
        #else
        let repeats = 200
        #endif
        for doubleQuantize in [false, true] {
            let tensor = NF4Tensor.quantize(values, count: count, doubleQuantize: doubleQuantize)
            for threads in [1, 2] {
                Parallel.configure(threads: threads)
                tensor.dequantize(into: &out)
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<repeats { tensor.dequantize(into: &out) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                let gigabytes = Double(repeats * count * 4) / 1e9
                print(String(format: "NF4 dequantize 1536x384 (double quantised %@), %d thread(s): "
                             + "%.2f GB/s of float32 output, %.1f µs per matrix",
                             "\(doubleQuantize)", threads, gigabytes / seconds, seconds / Double(repeats) * 1e6))
            }
        }
        let tensor = NF4Tensor.quantize(values, count: count, doubleQuantize: false)
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<max(1, repeats / 10) {
            nf4DequantizeReference(out: &out, packed: tensor.packed, absmax: tensor.absmax, count: count)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(String(format: "NF4 dequantize reference (scalar), 1 thread: %.2f GB/s",
                     Double(max(1, repeats / 10) * count * 4) / 1e9 / seconds))
    }

    // MARK: helpers

    private func assertBytesEqual(_ a: [UInt8], _ b: [UInt8], _ what: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        guard a.count == b.count else { return XCTFail("\(what): \(a.count) vs \(b.count) bytes", file: file, line: line) }
        let mismatches = a.indices.filter { a[$0] != b[$0] }
        if let first = mismatches.first {
            XCTFail("\(what): \(mismatches.count) of \(a.count) bytes differ, first at \(first): \(a[first]) vs \(b[first])",
                    file: file, line: line)
        }
    }

    private func assertBitwiseEqual(_ a: [Float], _ b: [Float], _ what: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        guard a.count == b.count else { return XCTFail("\(what): \(a.count) vs \(b.count) values", file: file, line: line) }
        let mismatches = a.indices.filter { a[$0].bitPattern != b[$0].bitPattern }
        if let first = mismatches.first {
            let worst = mismatches.map { abs(a[$0] - b[$0]) }.max()!
            XCTFail("\(what): \(mismatches.count) of \(a.count) values differ, first at \(first): "
                    + "\(a[first]) vs \(b[first]), max |Δ| \(worst)",
                    file: file, line: line)
        }
    }
}

/// FNV-1a 64-bit hash of float32 values' little-endian bytes, as the fixture script computes it.
private func fnv1a64(_ values: [Float]) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for value in values {
        var bits = value.bitPattern.littleEndian
        for _ in 0..<4 {
            hash = (hash ^ UInt64(bits & 0xFF)) &* 0x0000_0100_0000_01B3
            bits >>= 8
        }
    }
    return String(hash, radix: 16).leftPadded(to: 16)
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// A safetensors file read with a small local parser (Kernels tests cannot import Model, whose
/// reader converts floats only): F32 and U8 tensors, and the string metadata.
private struct NF4Fixture {
    let metadata: [String: String]
    private let entries: [String: (dtype: String, range: Range<Int>)]
    private let data: Data

    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func load(_ name: String) throws -> NF4Fixture {
        try NF4Fixture(url: repositoryRoot.appendingPathComponent("Tests/Fixtures/nf4/\(name).safetensors"))
    }

    /// A float32 tensor of the real model: `$EVALHARNESS_MODEL_DIR` or models/all-MiniLM-L6-v2, which
    /// CI always fetches, so its absence is a failure, not a skip.
    static func modelTensor(_ name: String) throws -> [Float] {
        let directory = ProcessInfo.processInfo.environment["EVALHARNESS_MODEL_DIR"].map { URL(fileURLWithPath: $0) }
            ?? repositoryRoot.appendingPathComponent("models/all-MiniLM-L6-v2")
        let url = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else {
            XCTFail("the real model is missing at \(directory.path): run scripts/fetch_model.sh")
            throw XCTSkip("model missing")
        }
        return try NF4Fixture(url: url).floats(name)
    }

    init(url: URL) throws {
        data = try Data(contentsOf: url, options: .alwaysMapped)
        guard data.count >= 8 else { throw FixtureError.malformed(url.path) }
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard 8 + headerLength <= data.count,
              let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + headerLength)) as? [String: Any]
        else { throw FixtureError.malformed(url.path) }
        metadata = header["__metadata__"] as? [String: String] ?? [:]
        var entries: [String: (dtype: String, range: Range<Int>)] = [:]
        for (key, value) in header where key != "__metadata__" {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
                  offsets[0] <= offsets[1], 8 + headerLength + offsets[1] <= data.count
            else { throw FixtureError.malformed("\(url.path): \(key)") }
            entries[key] = (dtype, 8 + headerLength + offsets[0]..<8 + headerLength + offsets[1])
        }
        self.entries = entries
    }

    func has(_ key: String) -> Bool { entries[key] != nil }

    func floats(_ key: String) throws -> [Float] {
        guard let entry = entries[key], entry.dtype == "F32", entry.range.count % 4 == 0 else { throw FixtureError.missing(key) }
        return data[entry.range].withUnsafeBytes { raw in
            (0..<entry.range.count / 4).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
    }

    func bytes(_ key: String) throws -> [UInt8] {
        guard let entry = entries[key], entry.dtype == "U8" else { throw FixtureError.missing(key) }
        return [UInt8](data[entry.range])
    }

    /// The values bitsandbytes quantised: stored for the small cases, read from the model otherwise.
    func input() throws -> [Float] {
        if has("input") { return try floats("input") }
        return try NF4Fixture.modelTensor(try XCTUnwrap(metadata["source_tensor"]))
    }

    enum FixtureError: Error { case malformed(String), missing(String) }
}
