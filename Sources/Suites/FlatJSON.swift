/// The fast path for JSONL records: one JSON object whose values are strings, numbers, booleans
/// or null — every data set here. It returns nil for anything else (a nested value, an integer
/// beyond ±2^53, a lone surrogate escape, a syntax error, invalid UTF-8), and the caller then asks
/// Foundation's JSONSerialization, which handles the general case and words the errors. For the
/// lines it accepts, the values are those JSONSerialization would give (as `FieldValue`s).
enum FlatJSONObject {
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> [String: FieldValue]? {
        var parser = Parser(bytes: bytes)
        return parser.object()
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipSpace()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func object() -> [String: FieldValue]? {
            guard consume(0x7B) else { return nil }   // {
            var values: [String: FieldValue] = [:]
            if consume(0x7D) { return finished(values) }   // }
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                guard consume(0x3A) else { return nil }   // :
                skipSpace()
                guard let value = value() else { return nil }
                values[key] = value
                if consume(0x2C) { continue }   // ,
                guard consume(0x7D) else { return nil }
                return finished(values)
            }
        }

        mutating func finished(_ values: [String: FieldValue]) -> [String: FieldValue]? {
            skipSpace()
            return index == bytes.count ? values : nil
        }

        mutating func value() -> FieldValue? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case 0x22: return string().map(FieldValue.string)
            case 0x74: return literal("true", .bool(true))
            case 0x66: return literal("false", .bool(false))
            case 0x6E: return literal("null", .null)
            case 0x2D, 0x30...0x39: return number()
            default: return nil   // nested array or object, or invalid
            }
        }

        mutating func literal(_ word: StaticString, _ value: FieldValue) -> FieldValue? {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return nil }
            for k in 0..<count where bytes[index + k] != word.utf8Start[k] { return nil }
            index += count
            return value
        }

        /// RFC 8259 number grammar; integers as Int64 text, others as Double text (as
        /// JSONSerialization gives them: 17, 2.5, 100.0 for 1e2).
        mutating func number() -> FieldValue? {
            let start = index
            var isInteger = true
            if bytes[index] == 0x2D { index += 1 }
            guard index < bytes.count else { return nil }
            if bytes[index] == 0x30 {
                index += 1
            } else if (0x31...0x39).contains(bytes[index]) {
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            } else {
                return nil
            }
            if index < bytes.count, bytes[index] == 0x2E {   // .
                isInteger = false
                index += 1
                let digits = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
                guard index > digits else { return nil }
            }
            if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {   // e E
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
                let digits = index
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
                guard index > digits else { return nil }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger {
                // Beyond ±2^53 Foundation's choice of integer or double varies: its call.
                guard let value = Int64(text), value.magnitude <= 1 << 53 else { return nil }
                return .number(text: String(value), value: Double(value))
            }
            guard let value = Double(text), value.isFinite else { return nil }
            return .number(text: String(value), value: value)
        }

        /// A string at `index` (which holds the opening quote).
        mutating func string() -> String? {
            guard index < bytes.count, bytes[index] == 0x22 else { return nil }
            index += 1
            let start = index
            // Common case: no escapes.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x22 {
                    let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                    index += 1
                    guard DataFileReader.firstInvalidUTF8(slice) == nil else { return nil }
                    return String(decoding: slice, as: UTF8.self)
                }
                if byte == 0x5C { break }   // backslash
                if byte < 0x20 { return nil }   // control characters must be escaped
                index += 1
            }
            guard index < bytes.count else { return nil }
            var out = Array(bytes[start..<index])
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 0x22 {
                    index += 1
                    guard DataFileReader.firstInvalidUTF8(out.withUnsafeBufferPointer { $0 }) == nil else { return nil }
                    return String(decoding: out, as: UTF8.self)
                }
                if byte < 0x20 { return nil }
                if byte != 0x5C { out.append(byte); index += 1; continue }
                index += 1
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case 0x22: out.append(0x22)
                case 0x5C: out.append(0x5C)
                case 0x2F: out.append(0x2F)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    guard var scalar = hex4() else { return nil }
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == 0x5C, bytes[index + 1] == 0x75 else { return nil }
                        index += 2
                        guard let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        return nil
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { return nil }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case 0x30...0x39: digit = UInt32(byte - 0x30)
                case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
                case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
                default: return nil
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
