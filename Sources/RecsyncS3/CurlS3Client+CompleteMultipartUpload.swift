import FoundationEssentials

extension CurlS3Client {
    /// POST `?uploadId` with the part list. S3 sends the 200 status line at once and then
    /// whitespace while it assembles the object, so a failure can arrive as an `<Error>` body
    /// of a 200 answer: it is thrown like an error status with the same code (`InternalError`
    /// is retryable, `InvalidPart` is not). A result without an ETag counts as unconfirmed
    /// (retryable `invalidResponse`) unless HeadObject shows the multipart ETag of `parts`.
    /// How long CompleteMultipartUpload may go without a byte (at least): assembling a large
    /// object can take minutes. S3 sends whitespace meanwhile; radosgw and moto send nothing until
    /// they are done, and a request cut off by the ordinary stall timeout would be cut off again
    /// on every retry.
    static let completeStallTimeout: TimeInterval = 300

    public func completeMultipartUpload(bucket: String, key: String, uploadId: String,
                                        parts: [CompletedPart]) throws -> PutObjectResult {
        let operation = "CompleteMultipartUpload \(bucket)/\(key)"
        guard !parts.isEmpty else {
            throw S3Error(.invalidRequest(message: "no parts to complete the upload with; upload at least one part"),
                          operation: operation)
        }
        guard !key.isEmpty, !uploadId.isEmpty else {
            throw S3Error(.invalidRequest(message: "the object key and the upload id must not be empty"), operation: operation)
        }
        let body = MultipartXML.completeBody(parts)
        var prepared = prepare(method: "POST", bucket: bucket, key: key, query: [("uploadId", uploadId)],
                               headers: [("Content-Type", "application/xml")], payloadHash: Crypto.hex(Crypto.sha256(body)))
        prepared.http.body = DataBodySource(body)
        prepared.http.minimumStallTimeout = Self.completeStallTimeout
        let response = try sendForUpload(prepared.http, operation: operation)
        switch MultipartXML.completeOutcome(response.body) {
        case let .completed(etag):
            let versionId = response.headers["x-amz-version-id"]
            let encryption = response.headers["x-amz-server-side-encryption-customer-algorithm"] != nil
                ? "SSE-C" : response.headers["x-amz-server-side-encryption"]
            if let etag, !etag.isEmpty { return PutObjectResult(etag: etag, versionId: versionId, serverSideEncryption: encryption) }
            // Some radosgw releases answer with an empty ETag element; the object's HEAD
            // confirms it when it carries the multipart ETag of this many parts.
            if let info = try? headObject(bucket: bucket, key: key), info.etag.hasSuffix("-\(parts.count)") {
                logger.debug("CompleteMultipartUpload answer had no ETag; took it from HeadObject",
                             metadata: ["operation": "\(operation)"])
                return PutObjectResult(etag: info.etag, versionId: versionId, serverSideEncryption: encryption)
            }
            throw S3Error(.invalidResponse(message: "CompleteMultipartUpload answer has no ETag, so the object cannot be confirmed"),
                          operation: operation)
        case let .failed(error):
            let status = S3Error.statusForCode(error.code)
            logger.debug("CompleteMultipartUpload failed inside a 200 answer",
                         metadata: ["operation": "\(operation)", "code": "\(error.code)"])
            throw MultipartXML.normalizingMissingUpload(
                S3Error(.http(status: status, code: error.code, message: error.message,
                              requestId: error.requestId ?? response.headers["x-amz-request-id"]),
                        operation: operation))
        case .unreadable:
            throw S3Error(.invalidResponse(message: "CompleteMultipartUpload answer is neither a result nor an error document"),
                          operation: operation)
        }
    }
}
