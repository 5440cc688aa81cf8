import FoundationEssentials
import RecsyncPrimitives

/// An open multipart upload of `InMemoryS3Client`.
struct MultipartUploadRecord: Sendable {
    struct Part: Sendable {
        var data: Data
        var etag: String
    }

    var bucket: String
    var key: String
    var contentType: String
    var metadata: [String: String]
    var initiated: Date
    var parts: [Int: Part] = [:]
}

extension InMemoryS3Client {
    private static func noSuchUpload(_ operation: String) -> S3Error {
        S3Error(.http(status: 404, code: "NoSuchUpload",
                      message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
                      requestId: nil), operation: operation)
    }

    private static func badRequest(_ code: String, _ message: String, _ operation: String) -> S3Error {
        S3Error(.http(status: 400, code: code, message: message, requestId: nil), operation: operation)
    }

    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String]) throws -> String {
        let operation = "CreateMultipartUpload \(bucket)/\(key)"
        try begin(operation, bucket: bucket)
        do {
            _ = try MetadataEncoding.headers(for: metadata)
        } catch var error as S3Error {
            error.operation = operation
            throw error
        }
        let uploadId = UUID().uuidString.replacingBytes(of: "-", with: "").lowercased()
        let record = MultipartUploadRecord(bucket: bucket, key: key, contentType: contentType,
                                           metadata: Dictionary(uniqueKeysWithValues: metadata.map { ($0.key.lowercased(), $0.value) }),
                                           initiated: Date())
        state.withLock { $0.uploads[uploadId] = record }
        return uploadId
    }

    /// Makes the fake answer `uploadChecksum` with `checksum`, as a server with (or without)
    /// flexible checksums would be probed.
    public func setUploadChecksum(_ checksum: UploadChecksum) {
        state.withLock { $0.uploadChecksum = checksum }
    }

    public func uploadChecksum(bucket: String, key: String) -> UploadChecksum {
        state.withLock { $0.uploadChecksum }
    }

    public func decidedUploadChecksum() -> UploadChecksum? { state.withLock { $0.uploadChecksum } }

    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String],
                                      checksum: UploadChecksum) throws -> String {
        try createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata)
    }

    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64,
                           length: Int64, progress: (@Sendable (Int64) -> Void)?,
                           shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        try uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: body, offset: offset,
                       length: length, checksum: .sha256, progress: progress, shouldCancel: shouldCancel)
    }

    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64,
                           length: Int64, checksum: UploadChecksum, progress: (@Sendable (Int64) -> Void)?,
                           shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        let operation = "UploadPart \(bucket)/\(key) part \(partNumber)"
        try begin(operation, bucket: bucket)
        guard MultipartLimits.partNumbers.contains(partNumber) else {
            throw S3Error(.invalidRequest(message: "part number \(partNumber) is outside 1...10000"), operation: operation)
        }
        guard offset >= 0, length >= 0 else {
            throw S3Error(.invalidRequest(message: "invalid file range: offset \(offset), length \(length)"), operation: operation)
        }
        guard try exists(uploadId, bucket: bucket, key: key) else { throw Self.noSuchUpload(operation) }
        let data = try Self.read(fd: body.fd, offset: offset, length: length, operation: operation,
                                 progress: progress, shouldCancel: shouldCancel)
        let etag = Crypto.hex(Crypto.md5(data))
        let stored: Bool = state.withLock { state in
            // The upload may have been completed or aborted while the part was read.
            guard state.uploads[uploadId] != nil else { return false }
            state.uploads[uploadId]!.parts[partNumber] = MultipartUploadRecord.Part(data: data, etag: etag)
            return true
        }
        guard stored else { throw Self.noSuchUpload(operation) }
        if checksum == .crc32c {
            var crc = CRC32C()
            crc.update(data)
            return UploadedPart(partNumber: partNumber, etag: etag, size: length, digest: crc.hex, checksum: .crc32c)
        }
        return UploadedPart(partNumber: partNumber, etag: etag, size: length, digest: Crypto.hex(Crypto.sha256(data)))
    }

    public func completeMultipartUpload(bucket: String, key: String, uploadId: String,
                                        parts: [CompletedPart]) throws -> PutObjectResult {
        let operation = "CompleteMultipartUpload \(bucket)/\(key)"
        try begin(operation, bucket: bucket)
        return try state.withLock { state -> PutObjectResult in
            guard let upload = state.uploads[uploadId], upload.bucket == bucket, upload.key == key else {
                throw Self.noSuchUpload(operation)
            }
            guard !parts.isEmpty else {
                throw Self.badRequest("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.", operation)
            }
            guard zip(parts, parts.dropFirst()).allSatisfy({ $0.partNumber < $1.partNumber }) else {
                throw Self.badRequest("InvalidPartOrder", "The list of parts was not in ascending order.", operation)
            }
            var data = Data()
            var digests = Data()
            for (index, part) in parts.enumerated() {
                guard let stored = upload.parts[part.partNumber], stored.etag == ETag.normalize(part.etag) else {
                    throw Self.badRequest("InvalidPart", "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.", operation)
                }
                if index < parts.count - 1, Int64(stored.data.count) < minimumPartSize {
                    throw Self.badRequest("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.", operation)
                }
                data += stored.data
                digests += Crypto.md5(stored.data)
            }
            let etag = "\(Crypto.hex(Crypto.md5(digests)))-\(parts.count)"
            state.objects[bucket, default: [:]][key] = StoredObject(data: data, contentType: upload.contentType,
                                                                    metadata: upload.metadata, etag: etag, lastModified: Date())
            state.uploads[uploadId] = nil
            return PutObjectResult(etag: etag)
        }
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) throws {
        try begin("AbortMultipartUpload \(bucket)/\(key)", bucket: bucket)
        state.withLock { state in
            if let upload = state.uploads[uploadId], upload.bucket == bucket, upload.key == key {
                state.uploads[uploadId] = nil
            }
        }
    }

    public func listParts(bucket: String, key: String, uploadId: String) throws -> [ListedPart] {
        let operation = "ListParts \(bucket)/\(key)"
        try begin(operation, bucket: bucket)
        return try state.withLock { state in
            guard let upload = state.uploads[uploadId], upload.bucket == bucket, upload.key == key else {
                throw Self.noSuchUpload(operation)
            }
            return upload.parts.sorted { $0.key < $1.key }
                .map { ListedPart(partNumber: $0.key, etag: $0.value.etag, size: Int64($0.value.data.count)) }
        }
    }

    public func listMultipartUploads(bucket: String, prefix: String) throws -> [MultipartUploadSummary] {
        try begin("ListMultipartUploads \(bucket)/\(prefix)", bucket: bucket)
        return state.withLock { state in
            state.uploads.filter { $0.value.bucket == bucket && $0.value.key.hasPrefix(prefix) }
                .sorted { a, b in
                    a.value.key == b.value.key
                        ? a.value.initiated < b.value.initiated
                        : Array(a.value.key.utf8).lexicographicallyPrecedes(Array(b.value.key.utf8))
                }
                .map { MultipartUploadSummary(key: $0.value.key, uploadId: $0.key, initiated: $0.value.initiated) }
        }
    }

    private func exists(_ uploadId: String, bucket: String, key: String) throws -> Bool {
        state.withLock { state in
            guard let upload = state.uploads[uploadId] else { return false }
            return upload.bucket == bucket && upload.key == key
        }
    }
}
