import FoundationEssentials

extension CurlS3Client {
    /// DELETE `?uploadId`: discards the upload and its parts. `NoSuchUpload` (already
    /// completed, aborted or expired) counts as success.
    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) throws {
        let operation = "AbortMultipartUpload \(bucket)/\(key)"
        guard !uploadId.isEmpty else {
            throw S3Error(.invalidRequest(message: "the upload id must not be empty"), operation: operation)
        }
        let prepared = prepare(method: "DELETE", bucket: bucket, key: key, query: [("uploadId", uploadId)],
                               payloadHash: Crypto.emptySHA256Hex)
        do {
            _ = try sendForUpload(prepared.http, operation: operation, accept: [200, 204])
        } catch let error as S3Error where error.isNoSuchUpload {
            return
        }
    }
}
