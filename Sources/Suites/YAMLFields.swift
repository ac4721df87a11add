import Foundation
import Yams

/// Reading a composed YAML tree with errors that name the file, the line and the field path.
/// Every accessor either returns a value of the expected shape or throws a `SuiteError`
/// "expected …, got …".
final class YAMLReadContext {
    let file: String
    /// Field path → line, for `SuiteSpec.lines`.
    var lines: [String: Int] = [:]

    init(file: String) { self.file = file }

    func error(_ line: Int?, _ field: String?, _ message: String) -> SuiteError {
        SuiteError(file: file, line: line, field: field, message: message)
    }
}

/// One value in the tree, with where it is.
struct Field {
    let node: Node
    /// `task.labels[1]`, `candidates[2].rank`.
    let path: String
    let line: Int
    let context: YAMLReadContext

    init(node: Node, path: String, line: Int? = nil, context: YAMLReadContext) {
        self.node = node
        self.path = path
        self.line = line ?? node.mark?.line ?? 1
        self.context = context
        context.lines[path] = self.line
    }

    func error(_ message: String) -> SuiteError { context.error(line, path.isEmpty ? nil : path, message) }

    func typeError(_ expected: String) -> SuiteError { error("expected \(expected), got \(Field.describe(node))") }

    var isNull: Bool { Field.isNull(node) }

    static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// How an unexpected value is shown: numbers as written, other scalars quoted, containers by kind.
    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar):
            if isNull(node) { return "nothing" }
            let text = scalar.string
            if scalar.style == .plain || scalar.style == .any, Double(text) != nil { return text }
            return quoted(text)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for character in text {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(character)
            }
        }
        return out + "\""
    }

    // MARK: Scalars

    /// The scalar's text (any non-null scalar; numbers and booleans are read as written).
    func string() throws(SuiteError) -> String {
        guard case .scalar(let scalar) = node, !isNull else { throw typeError("a string") }
        return scalar.string
    }

    func nonEmptyString() throws(SuiteError) -> String {
        let text = try string()
        guard !text.isEmpty else { throw error("expected a non-empty string") }
        return text
    }

    /// A name made of `[A-Za-z0-9._-]` (or without "." when `allowDot` is false).
    func name(allowDot: Bool = true) throws(SuiteError) -> String {
        guard case .scalar(let scalar) = node, !isNull else {
            throw typeError(allowDot ? "a name of letters, digits, '.', '_' or '-'" : "a name of letters, digits, '_' or '-'")
        }
        let text = scalar.string
        let valid = !text.isEmpty && text.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-"
                || (allowDot && c == ".")
        }
        guard valid else {
            throw typeError(allowDot ? "a name of letters, digits, '.', '_' or '-'" : "a name of letters, digits, '_' or '-'")
        }
        // Names become folder and file names (adapters/<candidate>, reports/<suite>): "." and ".."
        // would name the folder itself or its parent.
        guard !text.allSatisfy({ $0 == "." }) else {
            throw error("\(Field.quoted(text)) is not a usable name: names become folder names, and dots alone name a folder's self or parent")
        }
        // Hidden folders are evalharness's own (staging and partial outputs): a name may not hide.
        guard !text.hasPrefix(".") else {
            throw error("\(Field.quoted(text)) is not a usable name: names become folder names and may not start with '.' (hidden folders hold evalharness's partial outputs)")
        }
        return text
    }

    private var scalarText: String? {
        guard case .scalar(let scalar) = node, !isNull else { return nil }
        return scalar.string.replacingOccurrences(of: "_", with: "")
    }

    /// An integer in `range`; `expected` words the range ("a positive integer").
    func int(_ range: ClosedRange<Int>, expected: String) throws(SuiteError) -> Int {
        guard let text = scalarText, let value = Int(text), range.contains(value) else { throw typeError(expected) }
        return value
    }

    func positiveInt() throws(SuiteError) -> Int { try int(1...Int.max, expected: "a positive integer") }
    func nonNegativeInt() throws(SuiteError) -> Int { try int(0...Int.max, expected: "a non-negative integer") }

    func uint64() throws(SuiteError) -> UInt64 {
        guard let text = scalarText, let value = UInt64(text) else {
            throw typeError("a non-negative integer below 2^64")
        }
        return value
    }

    /// A finite number accepted by `accept`; `expected` words the condition.
    func number(expected: String, _ accept: (Double) -> Bool) throws(SuiteError) -> Double {
        guard let text = scalarText, let value = Double(text), value.isFinite, accept(value) else {
            throw typeError(expected)
        }
        return value
    }

    func positiveNumber() throws(SuiteError) -> Double { try number(expected: "a positive number") { $0 > 0 } }
    func nonNegativeNumber() throws(SuiteError) -> Double { try number(expected: "a non-negative number") { $0 >= 0 } }
    /// A probability-like value in [0, 1).
    func fraction() throws(SuiteError) -> Double {
        try number(expected: "a number from 0 up to (not including) 1") { $0 >= 0 && $0 < 1 }
    }
    func anyNumber() throws(SuiteError) -> Double { try number(expected: "a number") { _ in true } }

    func bool() throws(SuiteError) -> Bool {
        if let text = scalarText?.lowercased() {
            if ["true", "yes", "on"].contains(text) { return true }
            if ["false", "no", "off"].contains(text) { return false }
        }
        throw typeError("true or false")
    }

    /// One of `allowed` (exact spelling), with a suggestion when the value is close to one.
    func choice(_ allowed: [String]) throws(SuiteError) -> String {
        let expected = "one of " + allowed.joined(separator: ", ")
        guard case .scalar(let scalar) = node, !isNull else { throw typeError(expected) }
        guard allowed.contains(scalar.string) else {
            throw error("expected \(expected), got \(Field.describe(node))" + Suggestions.hint(scalar.string, allowed))
        }
        return scalar.string
    }

    // MARK: Containers

    func list(expected: String = "a list") throws(SuiteError) -> [Field] {
        guard case .sequence(let sequence) = node else { throw typeError(expected) }
        return sequence.enumerated().map { Field(node: $1, path: "\(path)[\($0)]", context: context) }
    }

    /// A mapping's entries in the order written, for mappings whose keys are data (label codes),
    /// not field names; nil when the value is not a mapping. Keys must be distinct scalars.
    func orderedEntries() throws(SuiteError) -> [(key: String, value: Field)]? {
        guard case .mapping(let mapping) = node else { return nil }
        var out: [(key: String, value: Field)] = []
        for (keyNode, value) in mapping {
            let keyLine = keyNode.mark?.line ?? line
            guard case .scalar(let key) = keyNode, !key.string.isEmpty else {
                throw context.error(keyLine, path.isEmpty ? nil : path, "expected keys to be the data's label values, got \(Field.describe(keyNode))")
            }
            let keyPath = Field.child(path, key.string)
            guard !out.contains(where: { $0.key == key.string }) else {
                throw context.error(keyLine, keyPath, "the value \(Field.quoted(key.string)) is mapped twice")
            }
            out.append((key.string, Field(node: value, path: keyPath, line: value.mark?.line ?? keyLine, context: context)))
        }
        return out
    }

    /// A non-empty list of strings.
    func stringList() throws(SuiteError) -> [String] {
        let items = try list(expected: "a list of strings")
        guard !items.isEmpty else { throw error("expected a non-empty list of strings") }
        var out: [String] = []
        for item in items { out.append(try item.nonEmptyString()) }
        return out
    }

    /// The mapping, checked against the keys it may have: an unknown key is an error naming its line,
    /// with the closest allowed key when one is close.
    func mapping(allowed: [String], what: String = "a mapping") throws(SuiteError) -> Mapping {
        guard case .mapping(let mapping) = node else { throw typeError(what) }
        var entries: [String: (keyLine: Int, value: Node)] = [:]
        for (keyNode, value) in mapping {
            let keyLine = keyNode.mark?.line ?? line
            guard case .scalar(let key) = keyNode else {
                throw context.error(keyLine, path.isEmpty ? nil : path, "expected keys to be plain names, got \(Field.describe(keyNode))")
            }
            let keyPath = Field.child(path, key.string)
            if key.string == "<<" {
                throw context.error(keyLine, keyPath, "YAML merge keys are not supported; write the keys out (settings shared by every candidate belong under training:)")
            }
            guard allowed.contains(key.string) else {
                let hint = Suggestions.closest(to: key.string, in: allowed).map { "unknown key; did you mean \"\($0)\"?" }
                    ?? "unknown key; expected one of " + allowed.joined(separator: ", ")
                throw context.error(keyLine, keyPath, hint)
            }
            entries[key.string] = (keyLine, value)
        }
        return Mapping(path: path, line: line, entries: entries, context: context)
    }

    static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

/// A mapping whose keys have been checked; values come out as `Field`s.
struct Mapping {
    let path: String
    /// Where missing-key errors point: the line of the key that holds this mapping, or its first line.
    let line: Int
    let entries: [String: (keyLine: Int, value: Node)]
    let context: YAMLReadContext

    /// The value of `key`; nil when the key is absent or its value is null (`key:`, `key: ~`).
    func field(_ key: String) -> Field? {
        guard let entry = entries[key], !Field.isNull(entry.value) else { return nil }
        return Field(node: entry.value, path: Field.child(path, key), line: valueLine(entry), context: context)
    }

    /// The value of a required key; `expected` says what it should be.
    func required(_ key: String, _ expected: String) throws(SuiteError) -> Field {
        if let field = field(key) { return field }
        if let entry = entries[key] {
            throw context.error(entry.keyLine, Field.child(path, key), "expected \(expected), got nothing")
        }
        throw context.error(line, Field.child(path, key), "required field missing; expected \(expected)")
    }

    func has(_ key: String) -> Bool { field(key) != nil }

    /// Line of the key (for errors about the key itself, e.g. "only used with …").
    func keyLine(_ key: String) -> Int { entries[key]?.keyLine ?? line }

    /// A scalar's line is its own; a block list or mapping starts below its key, so errors about the
    /// whole value point at the key.
    private func valueLine(_ entry: (keyLine: Int, value: Node)) -> Int {
        switch entry.value {
        case .scalar: return entry.value.mark?.line ?? entry.keyLine
        default: return entry.keyLine
        }
    }
}
