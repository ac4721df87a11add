import CLibXML2
import Foundation
import XCTest

/// An XML element read back with libxml2, for asserting on the JUnit writer's output.
struct ParsedElement {
    let name: String
    let attributes: [String: String]
    let children: [ParsedElement]
    let text: String

    func elements(_ name: String) -> [ParsedElement] { children.filter { $0.name == name } }
    func element(_ name: String) -> ParsedElement? { children.first { $0.name == name } }
    subscript(_ attribute: String) -> String? { attributes[attribute] }

    /// Parses a whole document; nil when libxml2 rejects it.
    static func parse(_ data: Data) -> ParsedElement? {
        let document = data.withUnsafeBytes { raw in
            xmlReadMemory(raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count), "junit.xml", nil,
                          Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue))
        }
        guard let document else { return nil }
        defer { xmlFreeDoc(document) }
        return xmlDocGetRootElement(document).map(element(from:))
    }

    private static func element(from node: xmlNodePtr) -> ParsedElement {
        var attributes: [String: String] = [:]
        var attribute = node.pointee.properties
        while let current = attribute {
            // An attribute's value is its text children (an entity reference would add more).
            var value = ""
            var part = current.pointee.children
            while let text = part {
                if let content = text.pointee.content { value += String(cString: content) }
                part = text.pointee.next
            }
            attributes[String(cString: current.pointee.name)] = value
            attribute = current.pointee.next
        }
        var children: [ParsedElement] = []
        var text = ""
        var child = node.pointee.children
        while let current = child {
            if current.pointee.type == XML_ELEMENT_NODE {
                children.append(element(from: current))
            } else if current.pointee.type == XML_TEXT_NODE || current.pointee.type == XML_CDATA_SECTION_NODE,
                      let content = current.pointee.content
            {
                text += String(cString: content)
            }
            child = current.pointee.next
        }
        return ParsedElement(name: String(cString: node.pointee.name), attributes: attributes, children: children,
                          text: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// The JUnit schemas every junit.xml is validated against: the repository's own
/// (`schemas/junit.xsd`, always) and Jenkins' (`<repo>/../shared/schemas/junit-10.xsd`) when it sits
/// beside the checkout, as it does on the developers' machines and CI — never copied in, and never
/// required, so the tests pass in any clone.
enum JUnitSchema {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let own = root.appendingPathComponent("schemas/junit.xsd")
    static let jenkins = root.appendingPathComponent("../shared/schemas/junit-10.xsd").standardizedFileURL

    /// The schemas to validate against: ours, then Jenkins' where present.
    static var schemas: [URL] { [own] + (FileManager.default.fileExists(atPath: jenkins.path) ? [jenkins] : []) }

    /// Validates the XML file at `path` against every schema; fails the test with every message
    /// libxml2 gives.
    static func assertValid(_ path: String, file: StaticString = #filePath, line: UInt = #line) {
        for schema in schemas {
            let errors = validate(path, schema: schema)
            XCTAssertTrue(errors.isEmpty, "\(path) does not conform to \(schema.lastPathComponent):\n" + errors.joined(separator: "\n"),
                          file: file, line: line)
        }
    }

    /// The schema's complaints about the file at `path` (empty: valid).
    static func validate(_ path: String, schema url: URL = own) -> [String] {
        let collector = ErrorCollector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        let collect: xmlStructuredErrorFunc = { userData, error in
            guard let userData, let error, let message = error.pointee.message else { return }
            let collector = Unmanaged<ErrorCollector>.fromOpaque(userData).takeUnretainedValue()
            let text = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
            collector.messages.append("line \(error.pointee.line): \(text)")
        }

        guard let parserContext = xmlSchemaNewParserCtxt(url.path) else { return ["cannot read \(url.path)"] }
        defer { xmlSchemaFreeParserCtxt(parserContext) }
        xmlSchemaSetParserStructuredErrors(parserContext, collect, context)
        guard let schema = xmlSchemaParse(parserContext) else {
            return ["cannot parse the schema \(url.path)"] + collector.messages
        }
        defer { xmlSchemaFree(schema) }
        guard let validation = xmlSchemaNewValidCtxt(schema) else { return ["cannot create a validation context"] }
        defer { xmlSchemaFreeValidCtxt(validation) }
        xmlSchemaSetValidStructuredErrors(validation, collect, context)
        guard let document = xmlReadFile(path, nil, Int32(XML_PARSE_NONET.rawValue)) else {
            return ["\(path) is not well-formed XML"] + collector.messages
        }
        defer { xmlFreeDoc(document) }
        let status = xmlSchemaValidateDoc(validation, document)
        withExtendedLifetime(collector) {}
        if status != 0 && collector.messages.isEmpty { return ["validation failed with status \(status)"] }
        return collector.messages
    }

    private final class ErrorCollector {
        var messages: [String] = []
    }
}
