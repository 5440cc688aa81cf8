import FoundationEssentials

extension CurlS3Client {
    /// Copies `sourceKey` to `key` inside `bucket` on the server: no byte crosses the network.
    /// The copy gets `contentType` and `metadata` (metadata directive REPLACE). With
    /// `sourceETag`, the copy happens only if the source still has that ETag and `size`
    /// (otherwise 412 PreconditionFailed, or 404 NoSuchKey when it is gone): checked with a HEAD
    /// first, because servers differ on `x-amz-copy-source-if-match` (radosgw reads another
    /// header name, moto ignores it), and also sent for those that honour it. Objects above `singleCopyLimit` (S3's 5 GiB) are copied as a
    /// multipart upload of UploadPartCopy ranges of `partSize` bytes.
    public func copyObject(bucket: String, sourceKey: String, key: String, size: Int64, sourceETag: String?,
                           contentType: String, metadata: [String: String], partSize: Int64,
                           singleCopyLimit: Int64) throws -> PutObjectResult {
        let operation = "CopyObject \(bucket)/\(sourceKey) to \(key)"
        let source = "/\(bucket)/" + URIEncoding.encode(sourceKey, keepSlash: true)
        var conditions: [(name: String, value: String)] = []
        if let sourceETag {
            let expected = ETag.normalize(sourceETag)
            guard let info = try headObject(bucket: bucket, key: sourceKey) else {
                throw S3Error(.http(status: 404, code: "NoSuchKey", message: "the copy source \(sourceKey) does not exist", requestId: nil),
                              operation: operation)
            }
            guard ETag.normalize(info.etag) == expected, info.size == size else {
                throw S3Error(.http(status: 412, code: "PreconditionFailed",
                                    message: "the copy source \(sourceKey) is no longer the object that was uploaded", requestId: nil),
                              operation: operation)
            }
            conditions.append(("x-amz-copy-source-if-match", "\"\(expected)\""))
        }
        if size > singleCopyLimit {
            return try multipartCopy(bucket: bucket, source: source, key: key, size: size, conditions: conditions,
                                     contentType: contentType, metadata: metadata, partSize: partSize)
        }
        var headers: [(name: String, value: String)] = [("Content-Type", contentType), ("x-amz-copy-source", source),
                                                        ("x-amz-metadata-directive", "REPLACE")]
        headers += try objectHeaders(key: key, contentType: contentType, metadata: metadata, operation: operation)
        headers += conditions
        var prepared = prepare(method: "PUT", bucket: bucket, key: key, headers: headers, payloadHash: Crypto.emptySHA256Hex)
        prepared.http.body = DataBodySource(Data())
        let response = try send(prepared.http, operation: operation)
        return PutObjectResult(etag: try Self.copyResultETag(response, root: "CopyObject", operation: operation),
                               versionId: response.headers["x-amz-version-id"])
    }

    private func multipartCopy(bucket: String, source: String, key: String, size: Int64,
                               conditions: [(name: String, value: String)], contentType: String,
                               metadata: [String: String], partSize: Int64) throws -> PutObjectResult {
        let uploadId = try createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata,
                                                 declaring: nil)
        do {
            var parts: [CompletedPart] = []
            var offset: Int64 = 0
            var number = 1
            while offset < size {
                let end = min(offset + partSize, size) - 1
                let operation = "UploadPartCopy \(bucket)/\(key) part \(number)"
                let headers = [("x-amz-copy-source", source), ("x-amz-copy-source-range", "bytes=\(offset)-\(end)")] + conditions
                var prepared = prepare(method: "PUT", bucket: bucket, key: key,
                                       query: [("partNumber", String(number)), ("uploadId", uploadId)],
                                       headers: headers, payloadHash: Crypto.emptySHA256Hex)
                prepared.http.body = DataBodySource(Data())
                let response = try sendForUpload(prepared.http, operation: operation)
                parts.append(CompletedPart(partNumber: number, etag: try Self.copyResultETag(response, root: "CopyPart", operation: operation)))
                offset = end + 1
                number += 1
            }
            return try completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
        } catch {
            try? abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
            throw error
        }
    }

    /// The ETag of a `CopyObjectResult` / `CopyPartResult`. Like CompleteMultipartUpload, a copy
    /// may fail after its 200 status line: an `<Error>` body is thrown as that error.
    static func copyResultETag(_ response: HTTPResponse, root: String, operation: String) throws -> String {
        guard let doc = S3XMLDocument(data: response.body) else {
            throw S3Error(.invalidResponse(message: "\(root) answer is not XML"), operation: operation)
        }
        if let name = doc.root(named: root), let etag = doc.first("\(name)/ETag").map(ETag.normalize), !etag.isEmpty {
            return etag
        }
        if doc.rootName == "Error", let error = S3ErrorBody.parse(response.body) {
            throw S3Error(.http(status: S3Error.statusForCode(error.code), code: error.code, message: error.message,
                                requestId: error.requestId ?? response.headers["x-amz-request-id"]), operation: operation)
        }
        throw S3Error(.invalidResponse(message: "\(root) answer has no ETag"), operation: operation)
    }
}
