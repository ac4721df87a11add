import Foundation
import InputFiles

/// One value of a data record, as the file wrote it.
enum FieldValue: Equatable {
    case string(String)
    /// A JSON number: its text as JSON would print it (integers without a decimal point) and value.
    case number(text: String, value: Double)
    case bool(Bool)
    case null
    /// A JSON array whose every element is a string.
    case strings([String])
    /// Any other JSON array, or an object.
    case nested

    var kindName: String {
        switch self {
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        case .strings: return "a list of strings"
        case .nested: return "an array or object"
        }
    }
}

/// A data file read into records: JSONL objects or CSV/TSV rows under a header.
struct RecordFile {
    let path: String
    let format: DataFormat
    /// SHA-256 of the file's bytes.
    let sha256: String
    /// CSV/TSV column names, in order.
    let header: [String]
    let headerIndex: [String: Int]
    let records: [Record]

    struct Record {
        /// 1-based line where the record starts.
        let line: Int
        let object: [String: FieldValue]?
        let row: [String]?
    }

    func error(_ line: Int?, _ field: String?, _ message: String) -> SuiteError {
        SuiteError(file: path, line: line, field: field, message: message)
    }

    /// The record's value for `field`; nil when the key or column is absent.
    func value(_ record: Record, _ field: String) -> FieldValue? {
        if let row = record.row {
            guard let index = headerIndex[field] else { return nil }
            return .string(row[index])
        }
        return record.object?[field]
    }

    static func convert(_ raw: Any) -> FieldValue {
        if let string = raw as? String { return .string(string) }
        if raw is NSNull { return .null }
        if let number = raw as? NSNumber {
            switch String(cString: number.objCType) {
            case "c", "B": return .bool(number.boolValue)
            case "d", "f": return .number(text: String(number.doubleValue), value: number.doubleValue)
            case "Q", "L", "I", "S", "C": return .number(text: String(number.uint64Value), value: number.doubleValue)
            default: return .number(text: String(number.int64Value), value: number.doubleValue)
            }
        }
        if let bool = raw as? Bool { return .bool(bool) }
        if let array = raw as? [Any], !array.isEmpty {
            let strings = array.compactMap { $0 as? String }
            if strings.count == array.count { return .strings(strings) }
        }
        return .nested
    }

    /// Checks that CSV/TSV headers have the columns; JSONL records are checked one by one.
    func requireColumns(_ fields: [String]) throws(SuiteError) {
        guard format != .jsonl else { return }
        for field in fields where headerIndex[field] == nil {
            throw error(1, field, "no such column; the header has \(header.joined(separator: ", "))")
        }
    }

    /// "missing; the record has keys a, b" for a JSONL record without `field`.
    func missing(_ record: Record, _ field: String) -> SuiteError {
        let keys = record.object.map { $0.keys.sorted().joined(separator: ", ") } ?? header.joined(separator: ", ")
        return error(record.line, field, "missing; the record has \(keys.isEmpty ? "no keys" : "keys \(keys)")")
    }

    /// An id: a non-empty string, or a number (normalised to its text: 17, 2.5).
    func id(_ record: Record, _ field: String) throws(SuiteError) -> String {
        guard let value = value(record, field) else { throw missing(record, field) }
        switch value {
        case .string(let text):
            guard !text.isEmpty else { throw error(record.line, field, "empty id") }
            return text
        case .number(let text, _): return text
        default: throw error(record.line, field, "expected a string or a number, got \(value.kindName)")
        }
    }

    /// A text: a non-empty string.
    func text(_ record: Record, _ field: String) throws(SuiteError) -> String {
        guard let value = value(record, field) else { throw missing(record, field) }
        guard case .string(let text) = value else {
            throw error(record.line, field, "expected a string, got \(value.kindName)")
        }
        guard !text.isEmpty else { throw error(record.line, field, "empty text") }
        return text
    }

    /// A label as text: a string, or an integer number.
    func label(_ record: Record, _ field: String) throws(SuiteError) -> String {
        guard let value = value(record, field) else { throw missing(record, field) }
        switch value {
        case .string(let text):
            guard !text.isEmpty else { throw error(record.line, field, "empty label") }
            return text
        case .number(let text, let number) where number == number.rounded(): return text
        default: throw error(record.line, field, "expected a string or an integer, got \(value.kindName)")
        }
    }

    /// A generation task's reference answers: a non-empty string, or (JSONL) a non-empty list of
    /// them, the first the one trained on.
    func answers(_ record: Record, _ field: String) throws(SuiteError) -> [String] {
        guard let value = value(record, field) else { throw missing(record, field) }
        switch value {
        case .string(let text):
            guard !text.isEmpty else { throw error(record.line, field, "empty answer") }
            return [text]
        case .strings(let texts):
            if let position = texts.firstIndex(where: \.isEmpty) { throw error(record.line, field, "answer \(position + 1) of the list is empty") }
            return texts
        default: throw error(record.line, field, "expected an answer (a string) or a list of accepted answers (strings), got \(value.kindName)")
        }
    }

    /// A finite number (in CSV/TSV: a decimal text).
    func number(_ record: Record, _ field: String) throws(SuiteError) -> Double {
        guard let value = value(record, field) else { throw missing(record, field) }
        switch value {
        case .number(_, let number) where number.isFinite: return number
        case .string(let text) where record.row != nil:
            guard let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite else {
                throw error(record.line, field, "expected a number, got \(Field.quoted(text))")
            }
            return number
        default: throw error(record.line, field, "expected a number, got \(value.kindName)")
        }
    }
}

enum DataFileReader {
    /// Reads and parses a data file. `format` nil: from the extension.
    static func read(path: String, format: DataFormat?) throws(SuiteError) -> RecordFile {
        guard let format = format ?? DataFormat.inferred(fromPath: path) else {
            throw SuiteError(file: path, message: "cannot tell the format from the extension; use .jsonl, .csv or .tsv, or give the format")
        }
        let data: Data
        do {
            data = try InputFile.contents(of: URL(fileURLWithPath: path))
        } catch {
            let note = error.isMissing ? SuitePaths.relativeNote(path) : ""
            throw SuiteError(file: path, message: error.reason + note)
        }
        return try parse(data: data, path: path, format: format)
    }

    static func parse(data: Data, path: String, format: DataFormat) throws(SuiteError) -> RecordFile {
        let sha = SHA256.hex(of: data)
        let result: Result<RecordFile, SuiteError> = data.withUnsafeBytes { raw in
            var bytes = UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
                bytes = UnsafeBufferPointer(rebasing: bytes[3...])
            }
            do throws(SuiteError) {
                switch format {
                case .jsonl: return .success(try parseJSONL(bytes, path: path, sha: sha))
                case .csv: return .success(try parseCSV(bytes, path: path, sha: sha))
                case .tsv: return .success(try parseTSV(bytes, path: path, sha: sha))
                }
            } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Byte ranges of the lines (without "\n" and a trailing "\r"), with 1-based numbers.
    static func lines(_ bytes: UnsafeBufferPointer<UInt8>) -> [(number: Int, range: Range<Int>)] {
        var out: [(Int, Range<Int>)] = []
        guard let base = bytes.baseAddress else { return out }
        var start = 0, number = 1
        while start < bytes.count {
            let found = memchr(base + start, 0x0A, bytes.count - start)
            let end = found.map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? bytes.count
            var stop = end
            if stop > start, bytes[stop - 1] == 0x0D { stop -= 1 }
            out.append((number, start..<stop))
            start = end + 1
            number += 1
        }
        return out
    }

    static func isBlank(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        range.allSatisfy { bytes[$0] == 0x20 || bytes[$0] == 0x09 || bytes[$0] == 0x0D }
    }

    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Offset of the first byte that does not belong to a well-formed UTF-8 sequence (overlong
    /// forms, surrogates and values above U+10FFFF are ill-formed); nil when all are valid.
    static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            var length = 0
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return i
            }
            guard i + length <= n else { return i }
            let b1 = bytes[i + 1]
            guard b1 >= low, b1 <= high else { return i }
            for k in 2..<max(2, length) where bytes[i + k] & 0xC0 != 0x80 { return i }
            i += length
        }
        return nil
    }

    /// Throws "not valid UTF-8" naming the line of the first bad byte.
    static func requireUTF8(_ bytes: UnsafeBufferPointer<UInt8>, path: String, firstLine: Int = 1) throws(SuiteError) {
        guard let offset = firstInvalidUTF8(bytes) else { return }
        let line = 1 + UnsafeBufferPointer(rebasing: bytes[..<offset]).reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        throw SuiteError(file: path, line: line + firstLine - 1, message: "is not valid UTF-8; save the file as UTF-8")
    }

    static func parseJSONL(_ bytes: UnsafeBufferPointer<UInt8>, path: String, sha: String) throws(SuiteError) -> RecordFile {
        var records: [RecordFile.Record] = []
        for (number, range) in lines(bytes) where !isBlank(bytes, range) {
            let line = UnsafeBufferPointer(rebasing: bytes[range])
            if let values = FlatJSONObject.parse(line) {
                records.append(RecordFile.Record(line: number, object: values, row: nil))
                continue
            }
            // Anything the fast path does not take (nested values, escapes it leaves alone, errors):
            // Foundation decides, and words the error.
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line), options: [])
            } catch {
                var detail = ((error as NSError).userInfo["NSDebugDescription"] as? String) ?? "\(error)"
                // Foundation counts characters from 0; say "column" from 1 like the rest of the messages.
                if let range = detail.range(of: #"around character (\d+)"#, options: .regularExpression),
                   let offset = Int(detail[range].split(separator: " ").last ?? "") {
                    detail.replaceSubrange(range, with: "around column \(offset + 1)")
                }
                try requireUTF8(line, path: path, firstLine: number)
                throw SuiteError(file: path, line: number, message: "invalid JSON: \(detail)")
            }
            guard let dictionary = object as? [String: Any] else {
                throw SuiteError(file: path, line: number, message: "expected a JSON object ({...}) on each line, got \(RecordFile.convert(object).kindName)")
            }
            records.append(RecordFile.Record(line: number, object: dictionary.mapValues(RecordFile.convert), row: nil))
        }
        return RecordFile(path: path, format: .jsonl, sha256: sha, header: [], headerIndex: [:], records: records)
    }

    static func parseTSV(_ bytes: UnsafeBufferPointer<UInt8>, path: String, sha: String) throws(SuiteError) -> RecordFile {
        try requireUTF8(bytes, path: path)
        var rows: [(line: Int, fields: [String])] = []
        for (number, range) in lines(bytes) where !isBlank(bytes, range) {
            let text = decode(bytes, range)
            rows.append((number, text.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)))
        }
        return try table(rows, path: path, format: .tsv, sha: sha)
    }

    /// RFC 4180: fields separated by commas; a field in double quotes may hold commas, line breaks
    /// and quotes written twice (""). A quote inside an unquoted field is kept as a character.
    /// Records end at CRLF or LF outside quotes; blank lines are skipped.
    static func parseCSV(_ bytes: UnsafeBufferPointer<UInt8>, path: String, sha: String) throws(SuiteError) -> RecordFile {
        try requireUTF8(bytes, path: path)
        var rows: [(line: Int, fields: [String])] = []
        var index = 0, line = 1
        let count = bytes.count
        var fields: [String] = []
        var field: [UInt8] = []
        var recordLine = 1
        var atRecordStart = true

        func finishField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
        }

        while index < count {
            if atRecordStart {
                // Skip blank lines between records.
                if bytes[index] == 0x0A { index += 1; line += 1; continue }
                if bytes[index] == 0x0D, index + 1 < count, bytes[index + 1] == 0x0A { index += 2; line += 1; continue }
                recordLine = line
                atRecordStart = false
            }
            if bytes[index] == 0x22, field.isEmpty {
                // Quoted field.
                let quoteLine = line
                index += 1
                var closed = false
                while index < count {
                    let byte = bytes[index]
                    if byte == 0x22 {
                        if index + 1 < count, bytes[index + 1] == 0x22 { field.append(0x22); index += 2; continue }
                        index += 1
                        closed = true
                        break
                    }
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                    index += 1
                }
                guard closed else {
                    throw SuiteError(file: path, line: quoteLine, message: "unterminated quoted field (a \" opens it on this line and none closes it)")
                }
                if index < count {
                    let next = bytes[index]
                    let endsRecord = next == 0x0A || (next == 0x0D && index + 1 < count && bytes[index + 1] == 0x0A) || (next == 0x0D && index + 1 == count)
                    guard next == 0x2C || endsRecord else {
                        throw SuiteError(file: path, line: line, message: "unexpected character after a closing quote; inside a quoted field write a quote as \"\"")
                    }
                }
                continue
            }
            let byte = bytes[index]
            if byte == 0x2C {
                finishField()
                index += 1
            } else if byte == 0x0A || (byte == 0x0D && (index + 1 == count || bytes[index + 1] == 0x0A)) {
                finishField()
                rows.append((recordLine, fields))
                fields.removeAll()
                index += byte == 0x0D && index + 1 < count ? 2 : 1
                line += 1
                atRecordStart = true
            } else {
                field.append(byte)
                index += 1
            }
        }
        if !atRecordStart {
            finishField()
            rows.append((recordLine, fields))
        }
        return try table(rows, path: path, format: .csv, sha: sha)
    }

    /// Header row + rows with the same number of fields.
    static func table(_ rows: [(line: Int, fields: [String])], path: String, format: DataFormat, sha: String) throws(SuiteError) -> RecordFile {
        guard let headerRow = rows.first else {
            return RecordFile(path: path, format: format, sha256: sha, header: [], headerIndex: [:], records: [])
        }
        var index: [String: Int] = [:]
        for (position, name) in headerRow.fields.enumerated() {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            if let first = index[trimmed] {
                throw SuiteError(file: path, line: headerRow.line, field: trimmed,
                                 message: "the header names this column twice (columns \(first + 1) and \(position + 1))")
            }
            index[trimmed] = position
        }
        let header = headerRow.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        var records: [RecordFile.Record] = []
        records.reserveCapacity(rows.count - 1)
        for row in rows.dropFirst() {
            guard row.fields.count == header.count else {
                let hint = format == .tsv ? "" : " (a field with a comma must be in double quotes)"
                throw SuiteError(file: path, line: row.line,
                                 message: "expected \(header.count) fields as in the header, got \(row.fields.count)\(hint)")
            }
            records.append(RecordFile.Record(line: row.line, object: nil, row: row.fields))
        }
        return RecordFile(path: path, format: format, sha256: sha, header: header, headerIndex: index, records: records)
    }
}
