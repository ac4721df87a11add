import Foundation
import Model
import TestSupport
import XCTest

final class SafeTensorsTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("SafeTensorsTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: folder)
    }

    // MARK: - Helpers

    /// Writes a file with the given JSON header (padded to 8 bytes as the reference does) and data.
    private func file(header: String, data: [UInt8] = [], name: String = "t.safetensors") throws -> URL {
        var json = Array(header.utf8)
        json += repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        return try rawFile(withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + data, name: name)
    }

    private func rawFile(_ bytes: [UInt8], name: String = "t.safetensors") throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    private func bytes<T>(of values: [T]) -> [UInt8] { values.withUnsafeBytes(Array.init) }

    /// Asserts that opening `url` fails and that the message names the file and every fragment.
    private func assertRejected(_ url: URL, mentions fragments: [String],
                                file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try SafeTensorsFile(contentsOf: url)
            XCTFail("expected \(url.lastPathComponent) to be rejected", file: file, line: line)
        } catch {
            assertMessage(error, names: url, fragments, file: file, line: line)
        }
    }

    private func assertMessage(_ error: ModelInputError, names url: URL, _ fragments: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        let message = error.description
        XCTAssertEqual(error.file, url.path, message, file: file, line: line)
        XCTAssertTrue(message.hasPrefix(url.path + ": "), message, file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(message.contains(fragment), "\"\(message)\" should mention \(fragment)", file: file, line: line)
        }
    }

    // MARK: - Round trip

    func testWriteThenReadRoundTrips() throws {
        let url = folder.appendingPathComponent("round.safetensors")
        let a: [Float] = [1, -2.5, .pi, 0, -0, .greatestFiniteMagnitude]
        let b: [Float] = (0 ..< 24).map { Float($0) * 0.25 }
        try SafeTensorsWriter.write([("zeta.weight", [2, 3], a), ("alpha.bias", [2, 3, 4], b), ("empty", [0, 5], [])],
                                    metadata: ["format": "pt", "note": "line\n\"quoted\" \\ \u{01}"], to: url)

        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "line\n\"quoted\" \\ \u{01}"])
        XCTAssertEqual(Set(file.entries.keys), ["zeta.weight", "alpha.bias", "empty"])
        XCTAssertEqual(file.entries["zeta.weight"]?.shape, [2, 3])
        XCTAssertEqual(file.entries["alpha.bias"]?.dtype, "F32")
        XCTAssertEqual(try file.floats("zeta.weight").map(\.bitPattern), a.map(\.bitPattern))
        XCTAssertEqual(try file.floats("alpha.bias", shape: [2, 3, 4]), b)
        XCTAssertEqual(try file.floats("empty"), [])
        // Sorted by name, so data follows header order regardless of the order given.
        XCTAssertEqual(file.entries["alpha.bias"]?.byteRange, 0 ..< 96)
        XCTAssertEqual(file.entries["empty"]?.byteRange, 96 ..< 96)
        XCTAssertEqual(file.entries["zeta.weight"]?.byteRange, 96 ..< 120)
    }

    func testWriterOutputDoesNotDependOnInputOrder() throws {
        let first = folder.appendingPathComponent("first.safetensors")
        let second = folder.appendingPathComponent("second.safetensors")
        let tensors: [(name: String, shape: [Int], values: [Float])] = [("b", [1], [2]), ("a", [2], [0, 1]), ("c", [], [3])]
        try SafeTensorsWriter.write(tensors, metadata: ["x": "1", "y": "2"], to: first)
        try SafeTensorsWriter.write(tensors.reversed(), metadata: ["y": "2", "x": "1"], to: second)
        XCTAssertEqual(try Data(contentsOf: first), try Data(contentsOf: second))
    }

    /// The exact bytes the reference implementation's own serialization test expects.
    func testWriterMatchesReferenceBytes() throws {
        let url = folder.appendingPathComponent("ref.safetensors")
        try SafeTensorsWriter.write([("attn.0", [1, 2, 3], [0, 1, 2, 3, 4, 5])], to: url)
        let header = #"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#
        XCTAssertEqual(header.utf8.count, 64)
        let expected = [64, 0, 0, 0, 0, 0, 0, 0] + Array(header.utf8) + bytes(of: [Float]([0, 1, 2, 3, 4, 5]))
        XCTAssertEqual(Array(try Data(contentsOf: url)), expected)
    }

    func testWriterPadsHeaderToEightBytesAndReplacesExistingFile() throws {
        let url = folder.appendingPathComponent("pad.safetensors")
        try SafeTensorsWriter.write([("attn0", [1, 1, 2, 3], [0, 1, 2, 3, 4, 5])], to: url)
        try SafeTensorsWriter.write([("x", [1], [7])], to: url)
        let data = Array(try Data(contentsOf: url))
        let length = Int(data[0])
        XCTAssertEqual(length % 8, 0)
        XCTAssertEqual(data[8 + length - 1], UInt8(ascii: " "))
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).floats("x"), [7])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["pad.safetensors"],
                       "no temporary file is left behind")
    }

    func testWriterRejectsValuesThatDoNotFitTheShape() {
        let url = folder.appendingPathComponent("bad.safetensors")
        XCTAssertThrowsError(try SafeTensorsWriter.write([("w", [2, 2], [1, 2, 3])], to: url)) { error in
            XCTAssertTrue("\(error)".contains("\"w\""), "\(error)")
        }
        XCTAssertThrowsError(try SafeTensorsWriter.write([("w", [1], [1]), ("w", [1], [2])], to: url))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    // MARK: - Lookup

    func testResolveTriesWithAndWithoutBertPrefix() throws {
        let url = folder.appendingPathComponent("names.safetensors")
        try SafeTensorsWriter.write([("bert.pooler.dense.bias", [1], [1]), ("encoder.weight", [1], [2])], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.resolve("pooler.dense.bias")?.name, "bert.pooler.dense.bias")
        XCTAssertEqual(file.resolve("bert.pooler.dense.bias")?.name, "bert.pooler.dense.bias")
        XCTAssertEqual(file.resolve("encoder.weight")?.name, "encoder.weight")
        XCTAssertEqual(file.resolve("bert.encoder.weight")?.name, "encoder.weight")
        XCTAssertNil(file.resolve("missing"))
        XCTAssertEqual(try file.floats("pooler.dense.bias", shape: [1]), [1])
    }

    func testMissingTensorAndWrongShapeAreNamed() throws {
        let url = folder.appendingPathComponent("names.safetensors")
        try SafeTensorsWriter.write([("w", [2, 3], [Float](repeating: 0, count: 6))], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        do {
            _ = try file.floats("nope", shape: [1])
            XCTFail("missing tensor accepted")
        } catch {
            assertMessage(error, names: url, ["\"nope\"", "not found", "bert.nope"])
        }
        do {
            _ = try file.floats("w", shape: [3, 2])
            XCTFail("wrong shape accepted")
        } catch {
            assertMessage(error, names: url, ["\"w\"", "[2, 3]", "expected [3, 2]"])
        }
    }

    // MARK: - Conversion

    func testHalfPrecisionIsConvertedToFloat() throws {
        // 1, -2, 65504 (max), 2^-24 (smallest subnormal), +inf, -0
        let half: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x8000]
        let url = try file(header: #"{"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]}}"#, data: bytes(of: half))
        let values = try SafeTensorsFile(contentsOf: url).floats("h")
        XCTAssertEqual(values, [1, -2, 65504, 0x1p-24, .infinity, -0])
        XCTAssertEqual(values[5].sign, .minus)
    }

    func testBFloat16IsConvertedToFloat() throws {
        // 1, -2, 3.140625, a float32 subnormal, -inf, +0
        let bf16: [UInt16] = [0x3F80, 0xC000, 0x4049, 0x0001, 0xFF80, 0x0000]
        let url = try file(header: #"{"b":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}}"#, data: bytes(of: bf16))
        let values = try SafeTensorsFile(contentsOf: url).floats("b", shape: [2, 3])
        XCTAssertEqual(values, [1, -2, 3.140625, Float(bitPattern: 0x0001_0000), -.infinity, 0])
    }

    func testDoublesAreNarrowedToFloat() throws {
        let url = try file(header: #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#, data: bytes(of: [0.1, -3.0]))
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).floats("d"), [Float(0.1), -3])
    }

    func testIntegerTensorsAreListedButNotReadAsFloats() throws {
        let url = try file(header: #"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#, data: bytes(of: [Int64(0), 1]))
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.entries["ids"]?.dtype, "I64")
        XCTAssertThrowsError(try file.floats("ids")) { error in
            guard let error = error as? ModelInputError else { return XCTFail("\(error)") }
            assertMessage(error, names: url, ["\"ids\"", "I64"])
        }
    }

    // MARK: - Malformed files

    func testRejectsFileShorterThanEightBytes() throws {
        assertRejected(try rawFile([1, 0, 0]), mentions: ["3 bytes", "too short"])
    }

    func testRejectsMissingFile() {
        assertRejected(folder.appendingPathComponent("absent.safetensors"), mentions: ["cannot read"])
    }

    func testRejectsHeaderLengthPastEndOfFile() throws {
        assertRejected(try rawFile([64, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8)), mentions: ["header length 64", "past the end"])
    }

    func testRejectsAbsurdHeaderLength() throws {
        assertRejected(try rawFile([UInt8](repeating: 0xFF, count: 16)), mentions: ["header length 18446744073709551615", "limit"])
    }

    func testRejectsHeaderThatIsNotUTF8() throws {
        assertRejected(try rawFile([8, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0xFF, 0xFE, 0x7D, 32, 32, 32, 32]), mentions: ["UTF-8"])
    }

    func testRejectsHeaderThatIsNotJSON() throws {
        assertRejected(try file(header: "{not json"), mentions: ["not valid JSON"])
    }

    func testRejectsHeaderThatIsNotAnObject() throws {
        assertRejected(try file(header: "[1, 2]"), mentions: ["not a JSON object"])
    }

    func testRejectsEntryThatIsNotAnObject() throws {
        assertRejected(try file(header: #"{"w": 5}"#), mentions: ["\"w\"", "expected an object"])
    }

    func testRejectsBadMetadata() throws {
        assertRejected(try file(header: #"{"__metadata__": {"format": 1}}"#), mentions: ["__metadata__", "\"format\"", "string"])
        assertRejected(try file(header: #"{"__metadata__": []}"#), mentions: ["__metadata__"])
    }

    func testRejectsEntryMissingAField() throws {
        assertRejected(try file(header: #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), mentions: ["\"w\"", "missing \"dtype\""])
        assertRejected(try file(header: #"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), mentions: ["\"w\"", "missing \"shape\""])
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: [0, 0, 0, 0]), mentions: ["\"w\"", "missing \"data_offsets\""])
    }

    func testRejectsFieldsOfTheWrongJSONType() throws {
        let cases = [
            (#"{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#, "\"dtype\" must be a string"),
            (#"{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, "\"shape\""),
            (#"{"w":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, "\"shape\""),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":"0,4"}}"#, "\"data_offsets\""),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, "\"data_offsets\""),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[null,4]}}"#, "\"data_offsets\""),
        ]
        for (header, fragment) in cases {
            assertRejected(try file(header: header, data: [0, 0, 0, 0]), mentions: ["\"w\"", fragment])
        }
    }

    func testRejectsNegativeOrFractionalShapeDimensions() throws {
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                       mentions: ["\"w\"", "non-negative integers"])
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                       mentions: ["\"w\"", "non-negative integers"])
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                       mentions: ["\"w\"", "non-negative integers"])
    }

    func testRejectsNegativeOffsets() throws {
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: [0, 0, 0, 0]),
                       mentions: ["\"w\"", "non-negative integers"])
    }

    func testRejectsUnknownDtype() throws {
        assertRejected(try file(header: #"{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16)),
                       mentions: ["\"w\"", "unknown dtype \"F128\"", "F32"])
    }

    func testRejectsBeginAfterEnd() throws {
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: [0, 0, 0, 0]),
                       mentions: ["\"w\"", "begin 4 is after end 0"])
    }

    func testRejectsEndPastDataBuffer() throws {
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]),
                       mentions: ["\"w\"", "end 8", "past the end of the data buffer (4 bytes)"])
    }

    func testRejectsByteCountThatDoesNotMatchShape() throws {
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                       mentions: ["\"w\"", "span 4 bytes", "needs 8"])
    }

    func testRejectsShapeWhoseByteCountOverflows() throws {
        let big = Int.max / 2
        assertRejected(try file(header: #"{"w":{"dtype":"F32","shape":[\#(big),\#(big)],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                       mentions: ["\"w\"", "overflows"])
    }

    func testRejectsOverlappingTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        assertRejected(try file(header: header, data: [UInt8](repeating: 0, count: 12)), mentions: ["\"a\"", "\"b\"", "overlaps"])
    }

    func testRejectsGapsAndTrailingBytes() throws {
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        assertRejected(try file(header: gap, data: [UInt8](repeating: 0, count: 12)), mentions: ["\"b\"", "gap of 4 bytes", "\"a\""])
        let leading = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        assertRejected(try file(header: leading, data: [UInt8](repeating: 0, count: 8)), mentions: ["\"a\"", "start of the data buffer"])
        let trailing = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        assertRejected(try file(header: trailing, data: [UInt8](repeating: 0, count: 6)), mentions: ["last 2 bytes", "no tensor"])
    }

    func testAcceptsEmptyFileAndZeroSizedTensors() throws {
        XCTAssertEqual(try SafeTensorsFile(contentsOf: try file(header: "{}")).entries.count, 0)
        let header = #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"c":{"dtype":"I8","shape":[0,3],"data_offsets":[4,4]}}"#
        let file = try SafeTensorsFile(contentsOf: try file(header: header, data: bytes(of: [Float(5)])))
        XCTAssertEqual(try file.floats("b"), [5])
        XCTAssertEqual(file.entries.count, 3)
    }

    // MARK: - The real model

    func testReadsRealModel() throws {
        let url = try TestPaths.realModel().appendingPathComponent("model.safetensors")
        let start = Date()
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.entries.count, 104)
        XCTAssertEqual(file.metadata["format"], "pt")
        let floatEntries = file.entries.values.filter { $0.dtype == "F32" }
        XCTAssertEqual(floatEntries.count, 103)
        XCTAssertEqual(floatEntries.reduce(0) { $0 + $1.shape.reduce(1, *) }, 22_713_216)
        XCTAssertEqual(file.entries["embeddings.position_ids"]?.dtype, "I64")
        XCTAssertEqual(file.entries["embeddings.position_ids"]?.shape, [1, 512])
        XCTAssertEqual(file.entries["embeddings.word_embeddings.weight"]?.shape, [30522, 384])
        XCTAssertEqual(file.entries["encoder.layer.5.attention.self.query.weight"]?.shape, [384, 384])
        XCTAssertEqual(file.entries["encoder.layer.0.intermediate.dense.weight"]?.shape, [1536, 384])
        XCTAssertNil(file.entries["bert.embeddings.word_embeddings.weight"])
        XCTAssertEqual(file.resolve("bert.embeddings.word_embeddings.weight")?.name, "embeddings.word_embeddings.weight")

        var total = 0
        for entry in floatEntries {
            let values = try file.floats(entry.name, shape: entry.shape)
            XCTAssertTrue(values.allSatisfy(\.isFinite), entry.name)
            total += values.count
        }
        XCTAssertEqual(total, 22_713_216)
        print("SafeTensorsTests: opened and converted all tensors of \(url.lastPathComponent) in \(String(format: "%.3f", Date().timeIntervalSince(start))) s")

        let gamma = try file.floats("embeddings.LayerNorm.weight", shape: [384])
        XCTAssertGreaterThan(gamma.reduce(0, +) / 384, 0.1, "LayerNorm scales are near 1, not garbage")
        XCTAssertThrowsError(try file.floats("embeddings.position_ids")) { error in
            guard let error = error as? ModelInputError else { return XCTFail("\(error)") }
            assertMessage(error, names: url, ["embeddings.position_ids", "I64", "cannot be read as floats"])
        }
    }
}
