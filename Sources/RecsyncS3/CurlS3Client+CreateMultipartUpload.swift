import Foundation

extension CurlS3Client {
    /// POST `?uploads`: starts a multipart upload; the object's type and metadata are given here.
    /// The upload declares SHA256 as its checksum algorithm: every part is sent with its
    /// SHA-256 (see `uploadPart`), which S3 checks and keeps with the part.
    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String]) throws -> String {
        try createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata, declaringSHA256: true)
    }

    /// `declaringSHA256: false` for uploads whose parts are copied on the server (UploadPartCopy
    /// sends no part checksums, which an upload that declared SHA256 would require at Complete).
    func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String],
                               declaringSHA256: Bool) throws -> String {
        let operation = "CreateMultipartUpload \(bucket)/\(key)"
        var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
        if declaringSHA256 { headers.append(("x-amz-checksum-algorithm", "SHA256")) }
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
