import FoundationEssentials

extension InMemoryS3Client {
    /// A server-side copy: the object's bytes under a new key, with the new type and metadata.
    /// Like S3, the copy keeps the source's ETag when it was copied in one piece.
    public func copyObject(bucket: String, sourceKey: String, key: String, size: Int64, sourceETag: String?,
                           contentType: String, metadata: [String: String], partSize: Int64,
                           singleCopyLimit: Int64) throws -> PutObjectResult {
        let operation = "CopyObject \(bucket)/\(sourceKey) to \(key)"
        try begin(operation, bucket: bucket)
        return try state.withLock { state in
            guard let source = state.objects[bucket]?[sourceKey] else {
                throw S3Error(.http(status: 404, code: "NoSuchKey", message: "The specified key does not exist.", requestId: nil),
                              operation: operation)
            }
            if let sourceETag, ETag.normalize(sourceETag) != source.etag {
                throw S3Error(.http(status: 412, code: "PreconditionFailed", message: "At least one of the pre-conditions you specified did not hold",
                                    requestId: nil), operation: operation)
            }
            let copy = StoredObject(data: source.data, contentType: contentType, metadata: metadata, etag: source.etag,
                                    lastModified: Date())
            state.objects[bucket, default: [:]][key] = copy
            return PutObjectResult(etag: copy.etag)
        }
    }
}
