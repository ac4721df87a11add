import Foundation
import InputFiles

/// A safetensors file, memory-mapped and validated as a whole when opened, so that a truncated or
/// hostile file fails at once with a message naming the problem rather than part-way through a load.
///
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the data buffer.
/// The JSON maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets
/// relative to the data buffer) and may hold a `"__metadata__"` map of strings. Validation follows
/// the reference implementation (huggingface/safetensors `Metadata::validate`): the tensors must
/// tile the data buffer exactly, with no overlaps, gaps or trailing bytes.
public struct SafeTensorsFile: Sendable {
    public struct Entry: Equatable, Sendable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// The header's `data_offsets`: relative to the start of the data buffer, not of the file.
        public let byteRange: Range<Int>
    }

    public let url: URL
    public let metadata: [String: String]
    /// Every tensor in the file, including those whose dtype `floats` cannot convert.
    public let entries: [String: Entry]
    private let bytes: Data
    private let dataStart: Int

    /// The reference implementation's limit; a larger header is far more likely garbage than real.
    static let maxHeaderLength: UInt64 = 100_000_000

    public init(contentsOf url: URL) throws(ModelInputError) {
        let file = url.path
        func invalid(_ detail: String) -> ModelInputError { ModelInputError(file: file, detail: detail) }

        let bytes: Data
        do {
            bytes = try InputFile.contents(of: url, mapped: true)
        } catch {
            throw invalid("cannot read the file: \(error.reason)")
        }
        guard bytes.count >= 8 else {
            throw invalid("file is \(bytes.count) bytes long, too short for the 8-byte header length")
        }
        let declared = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared <= Self.maxHeaderLength else {
            throw invalid("header length \(declared) is over the \(Self.maxHeaderLength)-byte limit")
        }
        let headerLength = Int(declared)
        guard headerLength <= bytes.count - 8 else {
            throw invalid("header length \(headerLength) runs past the end of the file (\(bytes.count) bytes)")
        }
        let header = bytes.dropFirst(8).prefix(headerLength)
        guard String(bytes: header, encoding: .utf8) != nil else {
            throw invalid("header is not valid UTF-8")
        }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: header)
        } catch {
            throw invalid("header is not valid JSON")
        }
        guard case .object(let fields) = root else {
            throw invalid("header is not a JSON object")
        }

        let dataLength = bytes.count - 8 - headerLength
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw invalid("\"__metadata__\" must be an object of strings")
                }
                for (key, value) in pairs {
                    guard case .string(let text) = value else {
                        throw invalid("\"__metadata__\" value for \"\(key)\" must be a string")
                    }
                    metadata[key] = text
                }
            } else {
                entries[name] = try Self.entry(name, value, dataLength: dataLength, file: file)
            }
        }
        try Self.checkTiling(entries.values, dataLength: dataLength, file: file)

        self.url = url
        self.metadata = metadata
        self.entries = entries
        self.bytes = bytes
        self.dataStart = 8 + headerLength
    }

    /// Looks a tensor up under `name`, then `bert.` + name, then `name` without a leading `bert.`,
    /// because BERT checkpoints are saved both with and without the `bert.` prefix.
    public func resolve(_ name: String) -> Entry? {
        if let entry = entries[name] ?? entries["bert." + name] { return entry }
        return name.hasPrefix("bert.") ? entries[String(name.dropFirst(5))] : nil
    }

    /// Float32 values of the tensor `resolve(name)` finds; F64, F16 and BF16 are converted.
    /// Throws for integer and bool dtypes.
    public func floats(_ name: String) throws(ModelInputError) -> [Float] {
        try floats(of: try entry(named: name))
    }

    /// Like `floats(_:)`, but first checks that the tensor has exactly `shape`.
    public func floats(_ name: String, shape: [Int]) throws(ModelInputError) -> [Float] {
        try floats(of: try entry(named: name, shape: shape))
    }

    /// Like `floats(_:shape:)`, for model weights, which must all be finite: the format allows
    /// NaN and infinity, but one in a weight flows through every prediction and out as `nan` in
    /// JSON, so it is refused here by tensor name and index.
    public func finiteFloats(_ name: String, shape: [Int]) throws(ModelInputError) -> [Float] {
        let entry = try entry(named: name, shape: shape)
        let values = try floats(of: entry)
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            var position: [Int] = [], rest = index
            for size in entry.shape.reversed() { position.insert(rest % size, at: 0); rest /= size }
            throw ModelInputError(file: url.path,
                                  detail: "tensor \"\(entry.name)\" holds a non-finite value (\(values[index])) at index \(position); weights must be finite numbers")
        }
        return values
    }

    /// The header entry of tensor `name`, which must have exactly `shape` (reads no data).
    public func entry(named name: String, shape: [Int]) throws(ModelInputError) -> Entry {
        let entry = try entry(named: name)
        guard entry.shape == shape else {
            throw ModelInputError(file: url.path,
                                  detail: "tensor \"\(entry.name)\" has shape \(entry.shape), expected \(shape)")
        }
        return entry
    }

    private func entry(named name: String) throws(ModelInputError) -> Entry {
        guard let entry = resolve(name) else {
            let tried = name.hasPrefix("bert.") ? String(name.dropFirst(5)) : "bert." + name
            throw ModelInputError(file: url.path, detail: "tensor \"\(name)\" not found (also tried \"\(tried)\")")
        }
        return entry
    }

    private func floats(of entry: Entry) throws(ModelInputError) -> [Float] {
        // Element loads are little-endian as the format requires; the F32 fast path is a plain copy,
        // which is right on every little-endian host (all platforms this package builds for).
        switch DType(rawValue: entry.dtype) {
        case .F32:
            return decode(entry, elementSize: 4) { source, out in
                UnsafeMutableRawBufferPointer(out).copyMemory(from: source)
            }
        case .F64:
            return decode(entry, elementSize: 8) { source, out in
                for i in out.indices {
                    let bits = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    out[i] = Float(Double(bitPattern: bits))
                }
            }
        case .F16:
            return decode(entry, elementSize: 2) { source, out in
                for i in out.indices {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = Float(Float16(bitPattern: bits))
                }
            }
        case .BF16:
            // bfloat16 is the upper half of a float32, so widening is a shift.
            return decode(entry, elementSize: 2) { source, out in
                for i in out.indices {
                    let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    out[i] = Float(bitPattern: UInt32(bits) << 16)
                }
            }
        default:
            throw ModelInputError(
                file: url.path,
                detail: "tensor \"\(entry.name)\" has dtype \(entry.dtype), which cannot be read as floats (expected F32, F64, F16 or BF16)")
        }
    }

    /// Runs `body` on the tensor's bytes (already validated to lie inside the file) and a fresh buffer
    /// of `byteRange.count / elementSize` floats for it to fill.
    private func decode(_ entry: Entry, elementSize: Int,
                        _ body: (UnsafeRawBufferPointer, UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        let count = entry.byteRange.count / elementSize
        let start = dataStart + entry.byteRange.lowerBound
        return bytes.withUnsafeBytes { raw in
            let source = UnsafeRawBufferPointer(rebasing: raw[start ..< start + entry.byteRange.count])
            return [Float](unsafeUninitializedCapacity: count) { out, initialized in
                body(source, out)
                initialized = count
            }
        }
    }

    /// Parses and checks one header entry on its own; how entries fit together is `checkTiling`'s job.
    private static func entry(_ name: String, _ value: JSONValue, dataLength: Int,
                              file: String) throws(ModelInputError) -> Entry {
        func invalid(_ detail: String) -> ModelInputError {
            ModelInputError(file: file, detail: "tensor \"\(name)\": \(detail)")
        }
        guard case .object(let fields) = value else {
            throw invalid("expected an object with dtype, shape and data_offsets")
        }
        guard let dtypeValue = fields["dtype"] else { throw invalid("missing \"dtype\"") }
        guard case .string(let dtypeName) = dtypeValue else { throw invalid("\"dtype\" must be a string") }
        guard let dtype = DType(rawValue: dtypeName) else {
            let known = DType.allCases.map(\.rawValue).joined(separator: ", ")
            throw invalid("unknown dtype \"\(dtypeName)\" (known: \(known))")
        }
        guard let shapeValue = fields["shape"] else { throw invalid("missing \"shape\"") }
        guard let shape = shapeValue.nonNegativeIntegers else {
            throw invalid("\"shape\" must be an array of non-negative integers")
        }
        guard let offsetsValue = fields["data_offsets"] else { throw invalid("missing \"data_offsets\"") }
        guard let offsets = offsetsValue.nonNegativeIntegers, offsets.count == 2 else {
            throw invalid("\"data_offsets\" must be two non-negative integers [begin, end]")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end else { throw invalid("data_offsets begin \(begin) is after end \(end)") }
        guard end <= dataLength else {
            throw invalid("data_offsets end \(end) is past the end of the data buffer (\(dataLength) bytes)")
        }
        var byteCount = dtype.size
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw invalid("shape \(shape) is too large (byte count overflows)") }
            byteCount = product
        }
        guard end - begin == byteCount else {
            throw invalid("data_offsets span \(end - begin) bytes, but \(dtypeName) shape \(shape) needs \(byteCount)")
        }
        return Entry(name: name, dtype: dtypeName, shape: shape, byteRange: begin ..< end)
    }

    /// Checks that the tensors, in offset order, cover the data buffer exactly once.
    private static func checkTiling(_ entries: some Sequence<Entry>, dataLength: Int,
                                    file: String) throws(ModelInputError) {
        func invalid(_ detail: String) -> ModelInputError { ModelInputError(file: file, detail: detail) }
        let ordered = entries.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name)
                < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        var previous: Entry?
        for entry in ordered {
            let end = previous?.byteRange.upperBound ?? 0
            if let previous, entry.byteRange.lowerBound < end {
                throw invalid("tensor \"\(entry.name)\" (bytes \(entry.byteRange)) overlaps tensor \"\(previous.name)\" (bytes \(previous.byteRange))")
            }
            if entry.byteRange.lowerBound > end {
                let after = previous.map { "tensor \"\($0.name)\"" } ?? "the start of the data buffer"
                throw invalid("tensor \"\(entry.name)\" starts at byte \(entry.byteRange.lowerBound), leaving a gap of \(entry.byteRange.lowerBound - end) bytes after \(after)")
            }
            previous = entry
        }
        let covered = previous?.byteRange.upperBound ?? 0
        guard covered == dataLength else {
            throw invalid("the last \(dataLength - covered) bytes of the data buffer belong to no tensor")
        }
    }
}

/// Writes safetensors files that the reference implementation reads back unchanged.
public enum SafeTensorsWriter {
    /// Writes F32 tensors, sorted by name as the reference implementation orders same-dtype tensors,
    /// with the header padded with spaces to a multiple of 8 bytes so the data stays aligned.
    /// The write is atomic (temporary file in the same folder, then rename), so a crash never leaves
    /// a half-written checkpoint where a good one was.
    public static func write(_ tensors: [(name: String, shape: [Int], values: [Float])],
                             metadata: [String: String] = [:], to url: URL) throws {
        func invalid(_ detail: String) -> ModelInputError { ModelInputError(file: url.path, detail: detail) }
        let sorted = tensors.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }

        var fields: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map { "\(jsonString($0.key)):\(jsonString($0.value))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for (index, tensor) in sorted.enumerated() {
            guard tensor.name != "__metadata__" else { throw invalid("\"__metadata__\" cannot name a tensor") }
            guard index == 0 || sorted[index - 1].name != tensor.name else {
                throw invalid("tensor \"\(tensor.name)\" is given twice")
            }
            guard tensor.shape.allSatisfy({ $0 >= 0 }), tensor.shape.reduce(1, *) == tensor.values.count else {
                throw invalid("tensor \"\(tensor.name)\" has \(tensor.values.count) values, which does not fit shape \(tensor.shape)")
            }
            let end = offset + 4 * tensor.values.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonString(tensor.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)

        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for tensor in sorted {
            tensor.values.withUnsafeBufferPointer { data.append($0) }
        }
        try data.write(to: url, options: .atomic)
    }

    /// A JSON string literal, escaped the way serde_json (the reference writer) escapes it.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// The dtypes of the safetensors format (reference implementation 0.4), with element sizes.
private enum DType: String, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E5M2, F8_E4M3

    var size: Int {
        switch self {
        case .F64, .I64, .U64: 8
        case .F32, .I32, .U32: 4
        case .F16, .BF16, .I16, .U16: 2
        case .I8, .U8, .BOOL, .F8_E5M2, .F8_E4M3: 1
        }
    }
}

/// Any JSON value, so that the header's types can be checked field by field with precise messages
/// (a Codable struct would only say "type mismatch" somewhere).
private enum JSONValue: Decodable {
    case null, bool(Bool), integer(Int), number(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// The value as an array of integers ≥ 0, or nil if it is anything else.
    var nonNegativeIntegers: [Int]? {
        guard case .array(let items) = self else { return nil }
        var result: [Int] = []
        for item in items {
            guard case .integer(let value) = item, value >= 0 else { return nil }
            result.append(value)
        }
        return result
    }
}
