import Foundation
import InputFiles
import Kernels

/// A GGUF file (llama.cpp's format, versions 2 and 3), memory-mapped and validated as a whole when
/// opened — header, every metadata value, every tensor's type, shape, offset and extent — so that a
/// truncated or hostile file fails at once with a message naming the field, never part-way
/// through a load or inside a kernel.
///
/// Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count; the
/// metadata as (string key, u32 value type, value); the tensor table as (string name, u32 n_dims,
/// u64 × n_dims dimensions fastest first, u32 ggml type, u64 offset relative to the data section);
/// then the data section, starting at the next multiple of `general.alignment` (default 32). Strings
/// are a u64 byte length and UTF-8 bytes.
public struct GGUFFile: Sendable {
    public struct Tensor: Equatable, Sendable {
        public let name: String
        public let type: GGMLType
        /// Dimensions as GGUF stores them, fastest-varying first (ne0, ne1, …): a [rows × columns]
        /// matrix is `[columns, rows]`.
        public let dimensions: [Int]
        /// Relative to the start of the data section.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { dimensions.reduce(1, *) }
        /// Row-major shape (slowest first), as numpy and PyTorch give it.
        public var shape: [Int] { dimensions.reversed() }
    }

    public let url: URL
    public let version: UInt32
    public let alignment: Int
    /// Metadata in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensors in file order.
    public let tensors: [Tensor]
    private let tensorIndex: [String: Int]
    private let metadataIndex: [String: Int]
    private let bytes: Data
    /// Byte offset of the data section in the file.
    public let dataStart: Int

    /// Limits far beyond any real model, so that a hostile count cannot make the reader allocate
    /// before it notices the file is too short.
    static let maxTensors = 1 << 20
    static let maxMetadata = 1 << 20
    static let maxArrayDepth = 4

    public init(contentsOf url: URL) throws(ModelInputError) {
        let file = url.path
        let bytes: Data
        do {
            bytes = try InputFile.contents(of: url, mapped: true)
        } catch {
            throw ModelInputError(file: file, detail: "cannot read the file: \(error.reason)")
        }
        var reader = GGUFReader(bytes: bytes, file: file)
        let magic = try reader.bytes(4, "the magic number")
        guard magic.elementsEqual("GGUF".utf8) else {
            throw ModelInputError(file: file, detail: "not a GGUF file (it starts with \(magic.map { String(format: "%02x", $0) }.joined()), expected \"GGUF\")")
        }
        let version = try reader.u32("the version")
        guard version == 2 || version == 3 else {
            throw ModelInputError(file: file, detail: "GGUF version \(version) is not supported (expected 2 or 3)")
        }
        let tensorCount = try reader.count("the tensor count", limit: Self.maxTensors)
        let metadataCount = try reader.count("the metadata count", limit: Self.maxMetadata)

        var metadata: [(key: String, value: GGUFValue)] = []
        var metadataIndex: [String: Int] = [:]
        for index in 0..<metadataCount {
            let key = try reader.string("the key of metadata entry \(index)")
            guard metadataIndex[key] == nil else {
                throw ModelInputError(file: file, detail: "metadata key \"\(key)\" appears twice")
            }
            let typeCode = try reader.u32("the value type of metadata \"\(key)\"")
            let value = try reader.value(typeCode, field: "metadata \"\(key)\"", depth: 0)
            metadataIndex[key] = metadata.count
            metadata.append((key, value))
        }
        var alignment = 32
        if let index = metadataIndex["general.alignment"] {
            guard case .uint32(let declared) = metadata[index].value, declared > 0, declared & (declared - 1) == 0,
                  declared <= 1 << 16 else {
                throw ModelInputError(file: file, detail: "metadata \"general.alignment\" must be a uint32 power of two up to 65536 (got \(metadata[index].value))")
            }
            alignment = Int(declared)
        }

        var tensors: [Tensor] = []
        var tensorIndex: [String: Int] = [:]
        for index in 0..<tensorCount {
            let name = try reader.string("the name of tensor \(index)")
            guard tensorIndex[name] == nil else {
                throw ModelInputError(file: file, detail: "tensor \"\(name)\" appears twice in the tensor table")
            }
            let dimensionCount = try reader.u32("the dimension count of tensor \"\(name)\"")
            guard (1...4).contains(dimensionCount) else {
                throw ModelInputError(file: file, detail: "tensor \"\(name)\" has \(dimensionCount) dimensions (expected 1 to 4)")
            }
            var dimensions: [Int] = []
            for axis in 0..<Int(dimensionCount) {
                let size = try reader.u64("dimension \(axis) of tensor \"\(name)\"")
                guard size >= 1, size <= UInt64(Int32.max) else {
                    throw ModelInputError(file: file, detail: "tensor \"\(name)\" dimension \(axis) is \(size) (expected 1 to \(Int32.max))")
                }
                dimensions.append(Int(size))
            }
            let typeCode = try reader.u32("the type of tensor \"\(name)\"")
            guard let type = GGMLType(rawValue: typeCode) else {
                throw ModelInputError(file: file, detail: "tensor \"\(name)\" has ggml type \(typeCode), which is not supported (expected one of \(GGMLType.allCases.map { "\($0.name) (\($0.rawValue))" }.joined(separator: ", ")))")
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw ModelInputError(file: file, detail: "tensor \"\(name)\" (\(type.name)) has rows of \(dimensions[0]) weights, not a multiple of its block size \(type.blockSize)")
            }
            guard let elements = CheckedCount.product(dimensions).value, let byteCount = type.byteCount(elements: elements) else {
                throw ModelInputError(file: file, detail: "tensor \"\(name)\" dimensions \(dimensions) overflow")
            }
            let offset = try reader.u64("the offset of tensor \"\(name)\"")
            guard offset <= UInt64(Int.max / 2), Int(offset) % alignment == 0 else {
                throw ModelInputError(file: file, detail: "tensor \"\(name)\" offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            tensorIndex[name] = tensors.count
            tensors.append(Tensor(name: name, type: type, dimensions: dimensions, offset: Int(offset), byteCount: byteCount))
        }
        let dataStart = (reader.position + alignment - 1) / alignment * alignment
        guard dataStart <= bytes.count else {
            throw ModelInputError(file: file, detail: "the data section would start at byte \(dataStart), past the end of the file (\(bytes.count) bytes)")
        }
        let dataLength = bytes.count - dataStart
        // Every tensor inside the data section, none overlapping another.
        var previousEnd = 0, previousName = ""
        for tensor in tensors.sorted(by: { $0.offset < $1.offset }) {
            guard tensor.offset <= dataLength, tensor.byteCount <= dataLength - tensor.offset else {
                throw ModelInputError(file: file, detail: "tensor \"\(tensor.name)\" (\(tensor.byteCount) bytes at data offset \(tensor.offset)) runs past the end of the file (the data section has \(dataLength) bytes)")
            }
            guard tensor.offset >= previousEnd else {
                throw ModelInputError(file: file, detail: "tensor \"\(tensor.name)\" overlaps tensor \"\(previousName)\"")
            }
            previousEnd = tensor.offset + tensor.byteCount
            previousName = tensor.name
        }

        self.url = url
        self.version = version
        self.alignment = alignment
        self.metadata = metadata
        self.metadataIndex = metadataIndex
        self.tensors = tensors
        self.tensorIndex = tensorIndex
        self.bytes = bytes
        self.dataStart = dataStart
    }

    // MARK: Metadata

    public func value(_ key: String) -> GGUFValue? { metadataIndex[key].map { metadata[$0].value } }

    private func missing(_ key: String, _ expected: String) -> ModelInputError {
        ModelInputError(file: url.path, detail: "metadata \"\(key)\" is missing (expected \(expected))")
    }

    private func wrongType(_ key: String, _ expected: String, _ value: GGUFValue) -> ModelInputError {
        ModelInputError(file: url.path, detail: "metadata \"\(key)\" is \(value.typeName), expected \(expected)")
    }

    public func string(_ key: String) throws(ModelInputError) -> String {
        guard let value = value(key) else { throw missing(key, "a string") }
        guard case .string(let text) = value else { throw wrongType(key, "a string", value) }
        return text
    }

    /// An integer of any integer type, as an Int within `range`.
    public func integer(_ key: String, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws(ModelInputError) -> Int {
        guard let value = value(key) else { throw missing(key, "an integer") }
        guard let number = value.integerValue else { throw wrongType(key, "an integer", value) }
        guard let int = Int(exactly: number), range.contains(int) else {
            throw ModelInputError(file: url.path, detail: "metadata \"\(key)\" is \(number), expected \(range.lowerBound)...\(range.upperBound)")
        }
        return int
    }

    public func float(_ key: String) throws(ModelInputError) -> Double {
        guard let value = value(key) else { throw missing(key, "a number") }
        switch value {
        case .float32(let x): return Double(x)
        case .float64(let x): return x
        default:
            if let number = value.integerValue { return Double(number) }
            throw wrongType(key, "a number", value)
        }
    }

    public func strings(_ key: String) throws(ModelInputError) -> [String] {
        guard let value = value(key) else { throw missing(key, "an array of strings") }
        guard case .array(let elements) = value else { throw wrongType(key, "an array of strings", value) }
        var out: [String] = []
        out.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { throw wrongType(key, "an array of strings", value) }
            out.append(text)
        }
        return out
    }

    public func integers(_ key: String) throws(ModelInputError) -> [Int] {
        guard let value = value(key) else { throw missing(key, "an array of integers") }
        guard case .array(let elements) = value else { throw wrongType(key, "an array of integers", value) }
        var out: [Int] = []
        out.reserveCapacity(elements.count)
        for element in elements {
            guard let number = element.integerValue, let int = Int(exactly: number) else { throw wrongType(key, "an array of integers", value) }
            out.append(int)
        }
        return out
    }

    // MARK: Tensors

    public func tensor(_ name: String) -> Tensor? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor `name`, which must have exactly `shape` (row-major, slowest first).
    public func tensor(_ name: String, shape: [Int]) throws(ModelInputError) -> Tensor {
        guard let tensor = tensor(name) else {
            throw ModelInputError(file: url.path, detail: "tensor \"\(name)\" is missing")
        }
        guard tensor.shape == shape else {
            throw ModelInputError(file: url.path, detail: "tensor \"\(name)\" has shape \(tensor.shape), expected \(shape)")
        }
        return tensor
    }

    /// The tensor's values as Float32, dequantised, in row-major order.
    public func floats(_ tensor: Tensor) -> [Float] {
        [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, count in
            withBytes(of: tensor) { Dequantize.run(tensor.type, from: $0, count: tensor.elementCount, into: buffer.baseAddress!) }
            count = tensor.elementCount
        }
    }

    /// Like `floats(_:)`, refusing a NaN or an infinity (they would flow into every prediction).
    public func finiteFloats(_ name: String, shape: [Int]) throws(ModelInputError) -> [Float] {
        let tensor = try tensor(name, shape: shape)
        let values = floats(tensor)
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw ModelInputError(file: url.path, detail: "tensor \"\(name)\" holds \(values[index]) at flat index \(index); weights must be finite")
        }
        return values
    }

    /// The tensor's stored bytes, copied; with `rowOrder`, row i of the copy is row rowOrder[i] of
    /// the tensor (rows are whole blocks, so quantised rows can be reordered without decoding).
    /// Refuses a tensor holding a NaN or an infinity, found by decoding it a few rows at a time.
    public func finiteBlocks(_ name: String, shape: [Int], rowOrder: [Int]? = nil) throws(ModelInputError) -> [UInt8] {
        let tensor = try tensor(name, shape: shape)
        let columns = tensor.dimensions[0], rows = tensor.elementCount / columns
        let rowBytes = tensor.byteCount / rows
        let chunkRows = max(1, 65_536 / columns)
        var scratch = [Float](repeating: 0, count: chunkRows * columns)
        var bad: (row: Int, value: Float)? = nil
        withBytes(of: tensor) { base in
            var row = 0
            while row < rows, bad == nil {
                let count = min(chunkRows, rows - row)
                scratch.withUnsafeMutableBufferPointer { Dequantize.run(tensor.type, from: base + row * rowBytes, count: count * columns, into: $0.baseAddress!) }
                if let index = scratch[0..<(count * columns)].firstIndex(where: { !$0.isFinite }) {
                    bad = (row + index / columns, scratch[index])
                }
                row += count
            }
        }
        if let bad {
            throw ModelInputError(file: url.path, detail: "tensor \"\(name)\" holds \(bad.value) in row \(bad.row); weights must be finite")
        }
        return withBytes(of: tensor) { base in
            guard let rowOrder else { return [UInt8](UnsafeRawBufferPointer(start: base, count: tensor.byteCount)) }
            var out = [UInt8](repeating: 0, count: tensor.byteCount)
            out.withUnsafeMutableBytes { target in
                for (i, source) in rowOrder.enumerated() {
                    target.baseAddress!.advanced(by: i * rowBytes).copyMemory(from: base + source * rowBytes, byteCount: rowBytes)
                }
            }
            return out
        }
    }

    /// The tensor's stored bytes (validated to lie inside the file when it was opened).
    public func withBytes<R>(of tensor: Tensor, _ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { raw in try body(raw.baseAddress! + dataStart + tensor.offset) }
    }
}

/// A GGUF metadata value.
public indirect enum GGUFValue: Equatable, Sendable, CustomStringConvertible {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// The value of an integer type, widened.
    public var integerValue: Int64? {
        switch self {
        case .uint8(let x): Int64(x)
        case .int8(let x): Int64(x)
        case .uint16(let x): Int64(x)
        case .int16(let x): Int64(x)
        case .uint32(let x): Int64(x)
        case .int32(let x): Int64(x)
        case .uint64(let x): Int64(exactly: x)
        case .int64(let x): x
        default: nil
        }
    }

    public var typeName: String {
        switch self {
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .uint32: "uint32"
        case .int32: "int32"
        case .uint64: "uint64"
        case .int64: "int64"
        case .float32: "float32"
        case .float64: "float64"
        case .bool: "bool"
        case .string: "a string"
        case .array(let elements): "an array of \(elements.count)"
        }
    }

    public var description: String {
        switch self {
        case .string(let text): "\"\(text.count > 40 ? String(text.prefix(40)) + "…" : text)\""
        case .array(let elements): "[\(elements.count) elements]"
        case .bool(let x): String(x)
        case .float32(let x): String(x)
        case .float64(let x): String(x)
        default: integerValue.map(String.init) ?? "?"
        }
    }
}

/// A bounds-checked cursor over the file's bytes: every read names what it was reading when the
/// file ends too early.
struct GGUFReader {
    let bytes: Data
    let file: String
    private(set) var position = 0

    init(bytes: Data, file: String) { self.bytes = bytes; self.file = file }

    private func truncated(_ what: String, needing count: Int) -> ModelInputError {
        ModelInputError(file: file, detail: "the file ends at byte \(bytes.count) while reading \(what) (\(count) bytes needed at byte \(position))")
    }

    mutating func bytes(_ count: Int, _ what: String) throws(ModelInputError) -> Data {
        guard count >= 0, count <= bytes.count - position else { throw truncated(what, needing: count) }
        defer { position += count }
        let start = bytes.startIndex + position
        return bytes[start..<(start + count)]
    }

    private mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: String) throws(ModelInputError) -> T {
        let size = MemoryLayout<T>.size
        guard size <= bytes.count - position else { throw truncated(what, needing: size) }
        defer { position += size }
        return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: T.self)) }
    }

    mutating func u32(_ what: String) throws(ModelInputError) -> UInt32 { try load(UInt32.self, what) }
    mutating func u64(_ what: String) throws(ModelInputError) -> UInt64 { try load(UInt64.self, what) }

    /// A u64 count no larger than `limit`.
    mutating func count(_ what: String, limit: Int) throws(ModelInputError) -> Int {
        let value = try u64(what)
        guard value <= UInt64(limit) else {
            throw ModelInputError(file: file, detail: "\(what) is \(value) (at most \(limit) supported)")
        }
        return Int(value)
    }

    mutating func string(_ what: String) throws(ModelInputError) -> String {
        let length = try u64("the length of \(what)")
        guard length <= UInt64(bytes.count - position) else {
            throw ModelInputError(file: file, detail: "\(what) declares \(length) bytes, more than the \(bytes.count - position) left in the file")
        }
        let data = try bytes(Int(length), what)
        guard let text = String(data: data, encoding: .utf8) else {
            throw ModelInputError(file: file, detail: "\(what) is not valid UTF-8")
        }
        return text
    }

    /// A value of GGUF value type `code`: 0 uint8, 1 int8, 2 uint16, 3 int16, 4 uint32, 5 int32,
    /// 6 float32, 7 bool, 8 string, 9 array, 10 uint64, 11 int64, 12 float64.
    mutating func value(_ code: UInt32, field: String, depth: Int) throws(ModelInputError) -> GGUFValue {
        switch code {
        case 0: return .uint8(try load(UInt8.self, field))
        case 1: return .int8(try load(Int8.self, field))
        case 2: return .uint16(try load(UInt16.self, field))
        case 3: return .int16(try load(Int16.self, field))
        case 4: return .uint32(try load(UInt32.self, field))
        case 5: return .int32(try load(Int32.self, field))
        case 6: return .float32(Float(bitPattern: try load(UInt32.self, field)))
        case 7:
            let raw = try load(UInt8.self, field)
            guard raw <= 1 else { throw ModelInputError(file: file, detail: "\(field) is a bool with byte \(raw) (expected 0 or 1)") }
            return .bool(raw == 1)
        case 8: return .string(try string(field))
        case 9:
            guard depth < GGUFFile.maxArrayDepth else {
                throw ModelInputError(file: file, detail: "\(field) nests arrays deeper than \(GGUFFile.maxArrayDepth)")
            }
            let elementType = try u32("the element type of \(field)")
            let declared = try u64("the length of \(field)")
            // Every element takes at least one byte: a longer array cannot fit in what is left.
            guard declared <= UInt64(bytes.count - position) else {
                throw ModelInputError(file: file, detail: "\(field) declares \(declared) elements, more than the \(bytes.count - position) bytes left in the file")
            }
            var elements: [GGUFValue] = []
            elements.reserveCapacity(Int(declared))
            for index in 0..<Int(declared) {
                elements.append(try value(elementType, field: "\(field)[\(index)]", depth: depth + 1))
            }
            return .array(elements)
        case 10: return .uint64(try load(UInt64.self, field))
        case 11: return .int64(try load(Int64.self, field))
        case 12: return .float64(Double(bitPattern: try load(UInt64.self, field)))
        default:
            throw ModelInputError(file: file, detail: "\(field) has value type \(code) (expected 0 to 12)")
        }
    }
}
