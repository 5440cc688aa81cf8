import FoundationEssentials

extension CurlS3Client {
    /// HEAD on the object; nil when it does not exist (404).
    public func headObject(bucket: String, key: String) throws -> ObjectInfo? {
        let operation = "HeadObject \(bucket)/\(key)"
        let prepared = prepare(method: "HEAD", bucket: bucket, key: key, payloadHash: Crypto.emptySHA256Hex)
        let response = try send(prepared.http, operation: operation, accept: [200, 404])
        if response.status == 404 { return nil }
        guard let lengthText = response.headers["content-length"], let size = Int64(lengthText) else {
            throw S3Error(.invalidResponse(message: "HEAD answer has no valid Content-Length"), operation: operation)
        }
        return ObjectInfo(size: size,
                          etag: ETag.normalize(response.headers["etag"] ?? ""),
                          contentType: response.headers["content-type"],
                          metadata: MetadataEncoding.metadata(fromHeaders: response.headers),
                          lastModified: response.headers["last-modified"].flatMap(HTTPDate.parseRFC1123))
    }
}
