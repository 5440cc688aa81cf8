import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A flat view of a small S3 XML document: for each element, its path from the root
/// (e.g. `ListBucketResult/Contents/Key`) and its text. Used for error bodies and listings.
struct S3XMLDocument {
    struct Element { var path: String; var text: String }
    /// Leaf elements in document order; an element starting with path `P` opens a new record.
    var elements: [Element] = []
    var rootName: String?

    init?(data: Data) {
        let collector = Collector()
        // S3 may send whitespace before the document while it works (CompleteMultipartUpload);
        // an XML declaration is only valid at the very start, so skip it.
        let start = data.firstIndex { !$0.isXMLSpace } ?? data.endIndex
        // S3 answers in UTF-8. Anything else is refused before the parser sees it: Foundation's
        // XMLParser traps on an element name that is not valid UTF-8 (found by FuzzTests), and a
        // server's answer must never be able to stop the daemon.
        guard String(validating: data[start...], as: UTF8.self) != nil, Self.isPlainDocument(data[start...]) else { return nil }
        let parser = XMLParser(data: Data(data[start...]))
        parser.shouldProcessNamespaces = true
        parser.delegate = collector
        guard parser.parse() else { return nil }
        elements = collector.elements
        rootName = collector.root
    }

    /// Whether the body holds nothing but elements, text, comments and CDATA after an optional
    /// XML declaration, as every S3 answer does. Processing instructions and DTDs are refused:
    /// Foundation's XMLParser crashes on a processing instruction without data (found by
    /// FuzzTests), and a DTD could declare entities that expand without bound.
    static func isPlainDocument(_ body: Data.SubSequence) -> Bool {
        let bytes = Array(body)
        var index = 0
        while let open = bytes[index...].firstIndex(of: UInt8(ascii: "<")) {
            let rest = bytes[(open + 1)...]
            if rest.first == UInt8(ascii: "?") {
                let declaration = Array("?xml".utf8)
                guard open == 0, rest.starts(with: declaration),
                      let after = rest.dropFirst(declaration.count).first, after == 0x20 || after == 0x09 || after == 0x0A || after == 0x0D
                else { return false }
            } else if rest.first == UInt8(ascii: "!") {
                guard rest.starts(with: Array("!--".utf8)) || rest.starts(with: Array("![CDATA[".utf8)) else { return false }
            }
            index = open + 1
        }
        return true
    }

    /// Text of the first element at `path`, if any.
    func first(_ path: String) -> String? { elements.first { $0.path == path }?.text }

    /// Splits the leaves under `recordPath` into one dictionary (child name -> text) per record.
    func records(_ recordPath: String) -> [[String: String]] {
        var out: [[String: String]] = []
        let prefix = recordPath + "/"
        for element in elements {
            if element.path == recordPath + "\u{0}start" { out.append([:]); continue }
            guard element.path.hasPrefix(prefix), !out.isEmpty else { continue }
            out[out.count - 1][String(element.path.dropFirst(prefix.count))] = element.text
        }
        return out
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var stack: [String] = []
        var text = ""
        var root: String?

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            if root == nil { root = elementName }
            stack.append(elementName)
            // A marker so records() can tell where each repeated element starts.
            elements.append(Element(path: stack.joined(separator: "/") + "\u{0}start", text: ""))
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            elements.append(Element(path: stack.joined(separator: "/"), text: text))
            text = ""
            stack.removeLast()
        }
    }
}

private extension UInt8 {
    var isXMLSpace: Bool { self == 0x20 || self == 0x09 || self == 0x0a || self == 0x0d }
}

/// The `<Error>` body S3 sends with failed requests.
public struct S3ErrorBody: Equatable, Sendable {
    public var code: String
    public var message: String
    public var requestId: String?
    /// The server's clock (ISO 8601), sent with `RequestTimeTooSkewed`.
    public var serverTime: String?

    public init(code: String, message: String, requestId: String? = nil, serverTime: String? = nil) {
        self.code = code
        self.message = message
        self.requestId = requestId
        self.serverTime = serverTime
    }

    /// Parses an S3 XML error document; nil if `data` is not one.
    public static func parse(_ data: Data) -> S3ErrorBody? {
        guard !data.isEmpty, let doc = S3XMLDocument(data: data), doc.rootName == "Error",
              let code = doc.first("Error/Code") else { return nil }
        return S3ErrorBody(code: code, message: doc.first("Error/Message") ?? "",
                           requestId: doc.first("Error/RequestId"), serverTime: doc.first("Error/ServerTime"))
    }
}

/// One page of a ListObjectsV2 answer.
struct ListObjectsPage {
    var objects: [ObjectSummary]
    var nextContinuationToken: String?

    static func parse(_ data: Data) -> ListObjectsPage? {
        guard let doc = S3XMLDocument(data: data), doc.rootName == "ListBucketResult" else { return nil }
        var objects: [ObjectSummary] = []
        for record in doc.records("ListBucketResult/Contents") {
            guard let key = record["Key"], let size = record["Size"].flatMap({ Int64($0) }) else { return nil }
            objects.append(ObjectSummary(key: key, size: size, etag: ETag.normalize(record["ETag"] ?? ""),
                                         lastModified: record["LastModified"].flatMap(HTTPDate.parseISO8601)))
        }
        let truncated = doc.first("ListBucketResult/IsTruncated")?.lowercased() == "true"
        let token = doc.first("ListBucketResult/NextContinuationToken")
        return ListObjectsPage(objects: objects, nextContinuationToken: truncated ? token : nil)
    }
}

enum ETag {
    /// Removes the surrounding quotes S3 puts around ETags (and a weak `W/` prefix).
    static func normalize(_ raw: String) -> String {
        var s = raw.trimmingCharacters(in: .whitespaces)
        if s.hasPrefix("W/") { s.removeFirst(2) }
        if s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") { s = String(s.dropFirst().dropLast()) }
        return s
    }
}
