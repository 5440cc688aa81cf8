import FoundationEssentials

extension CurlS3Client {
    /// POST `?uploads`: starts a multipart upload; the object's type and metadata are given here.
    /// The upload declares SHA256 as its checksum algorithm: every part is sent with its
    /// SHA-256 (see `uploadPart`), which S3 checks and keeps with the part.
    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String]) throws -> String {
        try createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata, declaring: .sha256)
    }

    /// The same, declaring `checksum` as the algorithm every part is sent with.
    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String],
                                      checksum: UploadChecksum) throws -> String {
        try createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata, declaring: checksum)
    }

    /// `declaring: nil` for uploads whose parts are copied on the server (UploadPartCopy sends no
    /// part checksums, which an upload that declared an algorithm would require at Complete).
    func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String],
                               declaring checksum: UploadChecksum?) throws -> String {
        let operation = "CreateMultipartUpload \(bucket)/\(key)"
        var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
        if let checksum { headers.append(("x-amz-checksum-algorithm", checksum.algorithmName)) }
        headers += try objectHeaders(key: key, contentType: contentType, metadata: metadata, operation: operation)
        let prepared = prepare(method: "POST", bucket: bucket, key: key, query: [("uploads", "")], headers: headers,
                               payloadHash: Crypto.emptySHA256Hex)
        let response = try send(prepared.http, operation: operation)
        guard let uploadId = MultipartXML.uploadId(from: response.body) else {
            throw S3Error(.invalidResponse(message: "CreateMultipartUpload answer has no UploadId"), operation: operation)
        }
        return uploadId
    }
}
