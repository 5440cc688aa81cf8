import FoundationEssentials
import RecsyncPrimitives

/// The XML documents of the multipart upload operations. Result documents are accepted under
/// S3's `…Result` root names and the `…Response` names some servers (moto) still use.
package enum MultipartXML {
    /// The `UploadId` of an `InitiateMultipartUploadResult`.
    package static func uploadId(from data: Data) -> String? {
        guard let doc = S3XMLDocument(data: data), let root = doc.root(named: "InitiateMultipartUpload"),
              let id = doc.first("\(root)/UploadId"), !id.isEmpty else { return nil }
        return id
    }

    /// The `CompleteMultipartUpload` request body. ETags are sent quoted, as S3 returned them;
    /// a part's digest, when known, as its base64 `ChecksumSHA256` or `ChecksumCRC32C`.
    static func completeBody(_ parts: [CompletedPart]) -> Data {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><PartNumber>\(part.partNumber)</PartNumber><ETag>\"\(escape(ETag.normalize(part.etag)))\"</ETag>"
            if let checksum = part.digest.flatMap(base64OfHex) {
                let element = "Checksum\(part.checksum.algorithmName)"
                xml += "<\(element)>\(checksum)</\(element)>"
            }
            xml += "</Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Data(xml.utf8)
    }

    /// What a CompleteMultipartUpload answer with status 200 says.
    package enum CompleteOutcome: Equatable {
        /// The object was assembled; its ETag without quotes (nil or empty when missing).
        case completed(etag: String?)
        /// The server failed after sending the 200 status line.
        case failed(S3ErrorBody)
        /// Neither document.
        case unreadable
    }

    package static func completeOutcome(_ data: Data) -> CompleteOutcome {
        guard let doc = S3XMLDocument(data: data) else { return .unreadable }
        if let root = doc.root(named: "CompleteMultipartUpload") {
            return .completed(etag: doc.first("\(root)/ETag").map(ETag.normalize))
        }
        guard doc.rootName == "Error", let body = S3ErrorBody.parse(data) else { return .unreadable }
        return .failed(body)
    }

    /// One page of a ListParts answer.
    package struct PartsPage {
        package var parts: [ListedPart]
        /// Where the next page starts, when the listing is truncated.
        var nextMarker: String?

        package static func parse(_ data: Data) -> PartsPage? {
            guard let doc = S3XMLDocument(data: data), let root = doc.root(named: "ListParts") else { return nil }
            var parts: [ListedPart] = []
            for record in doc.records("\(root)/Part") {
                guard let number = record["PartNumber"].flatMap({ Int($0) }), (1...10_000).contains(number),
                      let size = record["Size"].flatMap(S3XMLDocument.size) else { return nil }
                parts.append(ListedPart(partNumber: number, etag: ETag.normalize(record["ETag"] ?? ""), size: size))
            }
            let truncated = doc.first("\(root)/IsTruncated")?.lowercased() == "true"
            let marker = doc.first("\(root)/NextPartNumberMarker")
            return PartsPage(parts: parts, nextMarker: truncated ? marker : nil)
        }
    }

    /// One page of a ListMultipartUploads answer.
    package struct UploadsPage {
        package var uploads: [MultipartUploadSummary]
        /// Where the next page starts, when the listing is truncated.
        var next: (keyMarker: String, uploadIdMarker: String?)?

        package static func parse(_ data: Data) -> UploadsPage? {
            guard let doc = S3XMLDocument(data: data), let root = doc.root(named: "ListMultipartUploads") else { return nil }
            var uploads: [MultipartUploadSummary] = []
            for record in doc.records("\(root)/Upload") {
                guard let key = record["Key"], let id = record["UploadId"] else { return nil }
                uploads.append(MultipartUploadSummary(key: key, uploadId: id,
                                                      initiated: record["Initiated"].flatMap(HTTPDate.parseISO8601)))
            }
            let truncated = doc.first("\(root)/IsTruncated")?.lowercased() == "true"
            var next: (String, String?)?
            if truncated, let keyMarker = doc.first("\(root)/NextKeyMarker") ?? uploads.last?.key {
                next = (keyMarker, doc.first("\(root)/NextUploadIdMarker") ?? uploads.last?.uploadId)
            }
            return UploadsPage(uploads: uploads, next: next)
        }
    }

    /// Maps an error of a call naming an upload id to `NoSuchUpload` when it means that the
    /// upload is gone: radosgw answers `NoSuchKey` there (its upload record is an object).
    static func normalizingMissingUpload(_ error: S3Error) -> S3Error {
        guard case let .http(404, "NoSuchKey", message, requestId) = error.kind else { return error }
        return S3Error(.http(status: 404, code: "NoSuchUpload", message: message.isEmpty ? "The specified upload does not exist" : message,
                             requestId: requestId), operation: error.operation)
    }

    /// Base64 of the bytes a lowercase or uppercase hex string spells, nil if it is not hex.
    static func base64OfHex(_ hex: String) -> String? {
        let digits = Array(hex.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return Data(bytes).base64EncodedString()
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingBytes(of: "&", with: "&amp;").replacingBytes(of: "<", with: "&lt;")
            .replacingBytes(of: ">", with: "&gt;")
    }
}

extension S3XMLDocument {
    /// The root element's name if it is `<operation>Result` or `<operation>Response`.
    func root(named operation: String) -> String? {
        guard let rootName, rootName == operation + "Result" || rootName == operation + "Response" else { return nil }
        return rootName
    }
}
