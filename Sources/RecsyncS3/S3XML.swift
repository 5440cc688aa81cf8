import FoundationEssentials

/// A flat view of a small S3 XML document: for each element, its path from the root
/// (e.g. `ListBucketResult/Contents/Key`) and its text. Used for error bodies and listings.
struct S3XMLDocument {
    struct Element { var path: String; var text: String }
    /// Leaf elements in document order; an element starting with path `P` opens a new record.
    var elements: [Element] = []
    var rootName: String?

    /// The most bytes of element paths one answer may produce (a page of 1,000 listed keys
    /// needs well under 1 MiB).
    static let maximumPathBytes = 16 << 20

    init?(data: Data) {
        // S3 may send whitespace before the document while it works (CompleteMultipartUpload);
        // an XML declaration is only valid at the very start, so skip it.
        var body = data[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }  // a UTF-8 byte order mark
        let start = body.firstIndex { !S3XMLReader.isSpace($0) } ?? body.endIndex
        // S3 answers in UTF-8; anything else is refused before it is read.
        let bytes = Array(body[start...])
        guard String(validating: bytes, as: UTF8.self) != nil, let events = S3XMLReader.events(bytes) else { return nil }
        // The path of each open element, built once when it opens: the element list then holds
        // one shared string per element, and no answer can make it grow past the bytes it sent
        // times the (bounded) depth.
        var paths: [String] = []
        var text = ""
        var pathBytes = 0
        for event in events {
            switch event {
            case .start(let name):
                if rootName == nil { rootName = name }
                let path = paths.last.map { $0 + "/" + name } ?? name
                // Deep paths of long names, repeated: refused before they add up.
                pathBytes += 2 * path.utf8.count
                guard pathBytes <= Self.maximumPathBytes else { return nil }
                paths.append(path)
                // A marker so records() can tell where each repeated element starts.
                elements.append(Element(path: path + "\u{0}start", text: ""))
                text = ""
            case .text(let string):
                text += string
            case .end:
                elements.append(Element(path: paths.removeLast(), text: text))
                text = ""
            }
        }
    }

    /// A size in bytes: a whole number, not negative. Anything else makes the answer invalid.
    static func size(_ text: String) -> Int64? {
        Int64(text).flatMap { $0 >= 0 ? $0 : nil }
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
package struct ListObjectsPage {
    package var objects: [ObjectSummary]
    var nextContinuationToken: String?

    package static func parse(_ data: Data) -> ListObjectsPage? {
        guard let doc = S3XMLDocument(data: data), doc.rootName == "ListBucketResult" else { return nil }
        var objects: [ObjectSummary] = []
        for record in doc.records("ListBucketResult/Contents") {
            guard let key = record["Key"], let size = record["Size"].flatMap(S3XMLDocument.size) else { return nil }
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
        var s = raw.trimmingASCIIWhitespace()
        if s.hasPrefix("W/") { s.removeFirst(2) }
        if s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") { s = String(s.dropFirst().dropLast()) }
        return s
    }
}
