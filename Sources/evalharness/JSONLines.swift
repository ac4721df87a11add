import Foundation

/// One record of an input JSONL file: its id (any JSON value, echoed back unchanged) and text.
struct TextRecord {
    let idJSON: String
    let text: String
}

/// Reads `{"id": …, "text": …}` lines; blank lines are skipped. Errors name the file, the line
/// and what was expected.
func readTextRecords(path: String) throws -> [TextRecord] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw InputError(description: "\(path): file not found or not readable")
    }
    guard let content = String(data: data, encoding: .utf8) else {
        throw InputError(description: "\(path): not valid UTF-8")
    }
    var records: [TextRecord] = []
    for (index, line) in content.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { continue }
        let location = "\(path):\(index + 1)"
        guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8), options: [.fragmentsAllowed]) as? [String: Any] else {
            throw InputError(description: "\(location): expected a JSON object like {\"id\": 1, \"text\": \"…\"}")
        }
        guard let id = object["id"] else {
            throw InputError(description: "\(location): missing field \"id\"")
        }
        guard let text = object["text"] as? String else {
            throw InputError(description: "\(location): field \"text\" must be a string")
        }
        let idData = try JSONSerialization.data(withJSONObject: id, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        records.append(TextRecord(idJSON: String(decoding: idData, as: UTF8.self), text: text))
    }
    return records
}

/// Writes lines to stdout through one buffered handle (printing 20k embeddings line by line via
/// `print` is needlessly slow).
struct LineWriter {
    private var buffer = ""
    mutating func write(_ line: String) {
        buffer += line
        buffer += "\n"
        if buffer.utf8.count > 1 << 20 { flush() }
    }
    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer.utf8))
        buffer = ""
    }
}
