import FoundationEssentials

extension CurlS3Client {
    /// ListMultipartUploads over all pages.
    /// A server that refuses the signature of a prefix holding `/` (moto checks it against
    /// another encoding of the query) is asked for every upload of the bucket instead, and those
    /// under the prefix are kept: what is aborted after a crash must be found on every server.
    public func listMultipartUploads(bucket: String, prefix: String) throws -> [MultipartUploadSummary] {
        do {
            return try listMultipartUploads(bucket: bucket, prefix: prefix, pageSize: nil)
        } catch let error as S3Error where error.isSignatureMismatch && !prefix.isEmpty {
            return try listMultipartUploads(bucket: bucket, prefix: "", pageSize: nil).filter { $0.key.hasPrefix(prefix) }
        }
    }

    /// ListMultipartUploads over all pages, asking for at most `pageSize` uploads per page
    /// (server default when nil).
    func listMultipartUploads(bucket: String, prefix: String, pageSize: Int?) throws -> [MultipartUploadSummary] {
        let operation = "ListMultipartUploads \(bucket)/\(prefix)"
        var all: [MultipartUploadSummary] = []
        var marker: (keyMarker: String, uploadIdMarker: String?)?
        repeat {
            var query: [(name: String, value: String)] = [("uploads", ""), ("prefix", prefix)]
            if let marker {
                query.append(("key-marker", marker.keyMarker))
                if let uploadIdMarker = marker.uploadIdMarker { query.append(("upload-id-marker", uploadIdMarker)) }
            }
            if let pageSize { query.append(("max-uploads", String(pageSize))) }
            let prepared = prepare(method: "GET", bucket: bucket, key: nil, query: query, payloadHash: Crypto.emptySHA256Hex)
            let response = try send(prepared.http, operation: operation)
            guard let page = MultipartXML.UploadsPage.parse(response.body) else {
                throw S3Error(.invalidResponse(message: "ListMultipartUploads answer is not a ListMultipartUploadsResult document"),
                              operation: operation)
            }
            all += page.uploads
            if let next = page.next, let marker, next.keyMarker == marker.keyMarker, next.uploadIdMarker == marker.uploadIdMarker {
                throw S3Error(.invalidResponse(message: "ListMultipartUploads returned the same markers twice"), operation: operation)
            }
            marker = page.next
        } while marker != nil
        return all
    }
}
