import FoundationEssentials

extension CurlS3Client {
    /// Deletes the object (S3 answers 204 whether or not it existed).
    public func deleteObject(bucket: String, key: String) throws {
        let prepared = prepare(method: "DELETE", bucket: bucket, key: key, payloadHash: Crypto.emptySHA256Hex)
        _ = try send(prepared.http, operation: "DeleteObject \(bucket)/\(key)", accept: [200, 204])
    }
}
