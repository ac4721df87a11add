import Foundation
import Kernels
@testable import Model
import Suites
import TestSupport
import XCTest

/// The GGUF reader against the `gguf` Python package (fixtures from
/// scripts/fixtures/make_gguf_fixture.py): every metadata value type and every supported tensor
/// type in a small synthetic file, value for value; every tensor of the real SmolLM2 file by the
/// SHA-256 of its dequantised values; and malformed files refused with the field named.
final class GGUFFileTests: XCTestCase {
    static let syntheticFile = TestPaths.fixtures.appendingPathComponent("gguf/quant_types.gguf")

    func testEveryTensorTypeDequantisesBitForBitAsGGUFPy() throws {
        let fixture = try TestPaths.json("gguf/quant_types.json")
        let file = try GGUFFile(contentsOf: Self.syntheticFile)
        let header = try XCTUnwrap(fixture["header"] as? [String: Any])
        XCTAssertEqual(Int(file.version), header["version"] as? Int)
        XCTAssertEqual(file.alignment, header["alignment"] as? Int)
        XCTAssertEqual(file.dataStart, header["data_section_offset"] as? Int)
        let tensors = try XCTUnwrap(fixture["tensors"] as? [[String: Any]])
        XCTAssertEqual(file.tensors.map(\.name), tensors.map { $0["name"] as! String })
        var typesSeen: Set<String> = []
        for expected in tensors {
            let name = expected["name"] as! String
            let tensor = try XCTUnwrap(file.tensor(name))
            XCTAssertEqual(tensor.type.name, expected["type"] as? String, name)
            XCTAssertEqual(tensor.dimensions, expected["ne"] as? [Int], name)
            XCTAssertEqual(tensor.shape, expected["numpy_shape"] as? [Int], name)
            XCTAssertEqual(tensor.byteCount, expected["n_bytes"] as? Int, name)
            let values = file.floats(tensor)
            let reference = (expected["values"] as! [Any]).floats
            XCTAssertEqual(values.count, reference.count, name)
            let mismatches = zip(values, reference).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
            XCTAssertTrue(mismatches.isEmpty, "\(name): \(mismatches.count) values differ, first at \(mismatches.first.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "")")
            var hash = SHA256()
            values.withUnsafeBytes { hash.update(buffer: $0) }
            XCTAssertEqual(hash.finalizeHex(), expected["sha256_f32"] as? String, name)
            typesSeen.insert(tensor.type.name)
        }
        XCTAssertEqual(typesSeen, Set(GGMLType.allCases.map(\.name)), "the fixture covers every supported type")
    }

    func testEveryMetadataValueType() throws {
        let fixture = try TestPaths.json("gguf/quant_types.json")
        let file = try GGUFFile(contentsOf: Self.syntheticFile)
        let entries = try XCTUnwrap(fixture["metadata"] as? [[String: Any]])
        XCTAssertEqual(file.metadata.map(\.key), entries.map { $0["key"] as! String })
        func same(_ value: GGUFValue, _ expected: Any, _ type: String, _ key: String) {
            switch value {
            case .string(let text): XCTAssertEqual(text, expected as? String, key)
            case .bool(let flag): XCTAssertEqual(flag, expected as? Bool, key)
            case .float32(let x): XCTAssertEqual(x, Float((expected as! NSNumber).doubleValue), key)
            case .float64(let x): XCTAssertEqual(x, (expected as! NSNumber).doubleValue, key)
            case .uint64(let x): XCTAssertEqual(x, (expected as! NSNumber).uint64Value, key)
            case .array(let elements):
                let list = expected as! [Any]
                XCTAssertEqual(elements.count, list.count, key)
                for (element, item) in zip(elements, list) { same(element, item, type, key) }
            default: XCTAssertEqual(value.integerValue, (expected as! NSNumber).int64Value, key)
            }
        }
        for entry in entries {
            let key = entry["key"] as! String
            let value = try XCTUnwrap(file.value(key), key)
            same(value, entry["values"] ?? entry["value"]!, entry["type"] as! String, key)
            XCTAssertEqual(Self.fixtureTypeName(value), entry["type"] as? String, key)
            if case .array(let elements) = value, let first = elements.first {
                XCTAssertEqual(Self.fixtureTypeName(first), entry["element_type"] as? String, key)
            }
        }
    }

    func testTheRealFileMatchesGGUFPyTensorByTensor() throws {
        let fixture = try TestPaths.json("gguf/smollm2_tensors.json")
        let file = try GGUFFile(contentsOf: try TestPaths.decoderModel())
        let tensors = try XCTUnwrap(fixture["tensors"] as? [[String: Any]])
        XCTAssertEqual(file.tensors.count, 272)
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertEqual(try file.strings("tokenizer.ggml.tokens").count, 49_152)
        XCTAssertEqual(try file.strings("tokenizer.ggml.merges").count, 48_900)
        XCTAssertEqual(try file.integer("llama.block_count"), 30)
        XCTAssertEqual(try file.float("llama.rope.freq_base"), 100_000)
        for expected in tensors {
            let name = expected["name"] as! String
            let tensor = try XCTUnwrap(file.tensor(name), name)
            XCTAssertEqual(file.dataStart + tensor.offset, expected["data_offset"] as? Int, name)
            XCTAssertEqual(tensor.shape, expected["numpy_shape"] as? [Int], name)
            let values = file.floats(tensor)
            var hash = SHA256()
            values.withUnsafeBytes { hash.update(buffer: $0) }
            XCTAssertEqual(hash.finalizeHex(), expected["sha256_f32"] as? String, "\(name) (\(tensor.type.name))")
        }
    }

    /// gguf-py's name of a value's type (GGUFValueType), as the fixture records it.
    static func fixtureTypeName(_ value: GGUFValue) -> String {
        switch value {
        case .string: "STRING"
        case .array: "ARRAY"
        default: value.typeName.uppercased()
        }
    }

    // MARK: Malformed files

    private func refusal(_ bytes: [UInt8], _ expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).gguf")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try GGUFFile(contentsOf: url), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(url.path) && text.contains(expected), "\(text) does not say \(expected)", file: file, line: line)
        }
    }

    static func u32(_ x: UInt32) -> [UInt8] { withUnsafeBytes(of: x.littleEndian, Array.init) }
    static func u64(_ x: UInt64) -> [UInt8] { withUnsafeBytes(of: x.littleEndian, Array.init) }
    static func string(_ text: String) -> [UInt8] { u64(UInt64(text.utf8.count)) + Array(text.utf8) }
    static func header(tensors: UInt64, metadata: UInt64) -> [UInt8] { Array("GGUF".utf8) + u32(3) + u64(tensors) + u64(metadata) }
    static func tensorInfo(_ name: String, _ dims: [UInt64], type: UInt32, offset: UInt64) -> [UInt8] {
        string(name) + u32(UInt32(dims.count)) + dims.flatMap(u64) + u32(type) + u64(offset)
    }

    func testMalformedFilesAreRefusedNamingTheField() throws {
        try refusal(Array("GGML".utf8) + Self.u32(3), "not a GGUF file")
        try refusal(Array("GGUF".utf8) + Self.u32(7), "GGUF version 7 is not supported")
        try refusal(Array("GGUF".utf8) + Self.u32(3) + Self.u64(1), "while reading the metadata count")
        try refusal(Self.header(tensors: UInt64.max, metadata: 0), "the tensor count is 18446744073709551615")
        // A string longer than the file, an unknown value type, a bool that is not 0/1.
        try refusal(Self.header(tensors: 0, metadata: 1) + Self.u64(1 << 40), "declares 1099511627776 bytes")
        try refusal(Self.header(tensors: 0, metadata: 1) + Self.string("k") + Self.u32(13), "metadata \"k\" has value type 13")
        try refusal(Self.header(tensors: 0, metadata: 1) + Self.string("k") + Self.u32(7) + [2], "metadata \"k\" is a bool with byte 2")
        // An array claiming more elements than bytes left.
        try refusal(Self.header(tensors: 0, metadata: 1) + Self.string("k") + Self.u32(9) + Self.u32(0) + Self.u64(1 << 50),
                    "metadata \"k\" declares 1125899906842624 elements")
        try refusal(Self.header(tensors: 0, metadata: 2) + Self.string("k") + Self.u32(0) + [1] + Self.string("k") + Self.u32(0) + [1],
                    "metadata key \"k\" appears twice")
        try refusal(Self.header(tensors: 0, metadata: 1) + Self.string("general.alignment") + Self.u32(4) + Self.u32(24),
                    "\"general.alignment\" must be a uint32 power of two")
        // Tensors: an unknown type, a row that is not whole blocks, data past the end, overlaps, dimensions.
        try refusal(Self.header(tensors: 1, metadata: 0) + Self.tensorInfo("w", [32], type: 6, offset: 0), "ggml type 6, which is not supported")
        try refusal(Self.header(tensors: 1, metadata: 0) + Self.tensorInfo("w", [33], type: 2, offset: 0), "not a multiple of its block size 32")
        let short = Self.header(tensors: 1, metadata: 0) + Self.tensorInfo("w", [64, 4], type: 0, offset: 0)
        try refusal(short, "the data section would start at byte 96, past the end of the file")
        try refusal(short + [UInt8](repeating: 0, count: 96 - short.count + 1000), "tensor \"w\" (1024 bytes at data offset 0) runs past the end of the file (the data section has 1000 bytes)")
        try refusal(Self.header(tensors: 1, metadata: 0) + Self.tensorInfo("w", [0], type: 0, offset: 0), "tensor \"w\" dimension 0 is 0")
        try refusal(Self.header(tensors: 1, metadata: 0) + Self.tensorInfo("w", [1, 1, 1, 1, 1], type: 0, offset: 0), "tensor \"w\" has 5 dimensions")
        try refusal(Self.header(tensors: 1, metadata: 0) + Self.tensorInfo("w", [4], type: 0, offset: 8), "offset 8 is not a multiple of the alignment 32")
        let two = Self.header(tensors: 2, metadata: 0) + Self.tensorInfo("a", [16], type: 0, offset: 0) + Self.tensorInfo("b", [16], type: 0, offset: 32)
        try refusal(two + [UInt8](repeating: 0, count: (32 - two.count % 32) % 32 + 128), "tensor \"b\" overlaps tensor \"a\"")
        let duplicate = Self.header(tensors: 2, metadata: 0) + Self.tensorInfo("a", [8], type: 0, offset: 0) + Self.tensorInfo("a", [8], type: 0, offset: 32)
        try refusal(duplicate + [UInt8](repeating: 0, count: 128), "tensor \"a\" appears twice")
        try refusal(Self.header(tensors: 1, metadata: 0) + Self.tensorInfo("w", [UInt64(Int32.max), UInt64(Int32.max), UInt64(Int32.max)], type: 0, offset: 0),
                    "dimensions [2147483647, 2147483647, 2147483647] overflow")
    }
}
