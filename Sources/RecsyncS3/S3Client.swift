import FoundationEssentials

/// A local file to upload: read with `pread` from offset 0 up to `length` bytes.
/// The caller keeps `fd` open for the duration of the call.
public struct FileBody: Sendable {
    public let fd: Int32
    public let length: Int64

    public init(fd: Int32, length: Int64) {
        self.fd = fd
        self.length = length
    }
}

/// What S3 reports about a stored object.
public struct ObjectInfo: Sendable, Equatable {
    public var size: Int64
    /// ETag without the surrounding quotes.
    public var etag: String
    public var contentType: String?
    /// User metadata, names lowercased without the `x-amz-meta-` prefix, values decoded.
    public var metadata: [String: String]
    public var lastModified: Date?

    public init(size: Int64, etag: String, contentType: String?, metadata: [String: String], lastModified: Date?) {
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.metadata = metadata
        self.lastModified = lastModified
    }
}

/// One entry of a listing.
public struct ObjectSummary: Sendable, Equatable {
    public var key: String
    public var size: Int64
    /// ETag without the surrounding quotes.
    public var etag: String
    public var lastModified: Date?

    public init(key: String, size: Int64, etag: String, lastModified: Date? = nil) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// The outcome of a successful PutObject.
public struct PutObjectResult: Sendable, Equatable {
    /// ETag without the surrounding quotes.
    public var etag: String
    /// Version id when the bucket is versioned.
    public var versionId: String?
    /// How the server encrypted the object (`x-amz-server-side-encryption`, or `SSE-C` for a
    /// customer-provided key); nil when it did not say.
    public var serverSideEncryption: String?

    public init(etag: String, versionId: String? = nil, serverSideEncryption: String? = nil) {
        self.etag = etag
        self.versionId = versionId
        self.serverSideEncryption = serverSideEncryption
    }

    /// Whether a single-part upload's ETag must be the MD5 of the bytes stored: S3 makes it so
    /// for plain objects and SSE-S3, not with KMS or customer keys.
    public var etagIsContentMD5: Bool {
        serverSideEncryption == nil || serverSideEncryption == "AES256"
    }
}

/// A blocking S3 client, safe to call from several threads at once. Every failure is an `S3Error`.
public protocol S3Client: Sendable {
    /// Uploads `body` as `bucket/key` in one request.
    /// - Parameters:
    ///   - progress: called with the number of file bytes sent so far, at least once a second
    ///     while the upload runs and once at the end.
    ///   - shouldCancel: polled between chunks (and while waiting on the network); returning
    ///     true aborts the upload with `S3Error.Kind.cancelled`.
    func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                   progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult
    /// As `putObject`, but only if the object is as expected (`If-None-Match: *` for no object
    /// yet, `If-Match: ETAG` for the version last confirmed); otherwise it fails with HTTP 412
    /// PreconditionFailed and nothing is written.
    func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                   condition: PutCondition?, progress: (@Sendable (Int64) -> Void)?,
                   shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult
    /// Returns the object's size, ETag, type and metadata, or nil if it does not exist.
    func headObject(bucket: String, key: String) throws -> ObjectInfo?
    /// Downloads a whole object into memory (for tests and verification of small objects).
    func getObject(bucket: String, key: String) throws -> Data
    /// Downloads `length` bytes of an object from `offset` (a ranged GET), so large objects are
    /// read a piece at a time; fewer bytes at the end of the object.
    func getObjectRange(bucket: String, key: String, offset: Int64, length: Int) throws -> Data
    /// Deletes an object; deleting a missing object succeeds, as in S3.
    func deleteObject(bucket: String, key: String) throws
    /// Lists every object under `prefix`, following continuation tokens.
    func listObjects(bucket: String, prefix: String) throws -> [ObjectSummary]
    /// Creates a bucket; an existing bucket owned by the caller counts as success.
    func createBucket(bucket: String) throws

    // Multipart uploads (see MultipartUpload.swift). A missing upload is always reported as
    // `S3Error` with HTTP code `NoSuchUpload` (`S3Error.isNoSuchUpload`).

    /// Starts a multipart upload of `bucket/key` and returns its upload id.
    func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String]) throws -> String
    /// The checksum uploads of `key` would carry now (`UploadChecksum`); may ask the server the
    /// first time, never throws (SHA-256 when unsure).
    func uploadChecksum(bucket: String, key: String) -> UploadChecksum
    /// What is known for good of the server's checksums: nil while a probe has not concluded.
    func decidedUploadChecksum() -> UploadChecksum?
    /// `createMultipartUpload` declaring `checksum` as the algorithm of every part.
    func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String],
                               checksum: UploadChecksum) throws -> String
    /// `uploadPart` with the part's bytes checked against `checksum` (the upload's declared one).
    func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64, length: Int64,
                    checksum: UploadChecksum, progress: (@Sendable (Int64) -> Void)?,
                    shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart
    /// Sends bytes `[offset, offset + length)` of `body.fd` as part `partNumber` (1...10000),
    /// streamed like `putObject`: read once with `pread`, hashed once, one chunk in memory.
    /// `body.length` is not used. A file that ends before `offset + length` fails with
    /// `S3Error.Kind.io`; nothing short is ever sent.
    /// - Parameters:
    ///   - progress: bytes of this part sent so far, at least once a second and at the end.
    ///   - shouldCancel: as for `putObject`.
    /// - Returns: the part's ETag and the SHA-256 of its bytes, computed while sending.
    func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64, length: Int64,
                    progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart
    /// Assembles the object from `parts` (ascending part numbers). A failure reported inside a
    /// 200 answer is thrown like an error status, retryable according to its code.
    func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) throws -> PutObjectResult
    /// Discards an upload and its parts; an upload that no longer exists counts as success.
    func abortMultipartUpload(bucket: String, key: String, uploadId: String) throws
    /// The parts stored so far, in part-number order, following pagination.
    func listParts(bucket: String, key: String, uploadId: String) throws -> [ListedPart]
    /// Multipart uploads started and neither completed nor aborted, under `prefix`, following pagination.
    func listMultipartUploads(bucket: String, prefix: String) throws -> [MultipartUploadSummary]

    /// Copies `sourceKey` (of `size` bytes) to `key` on the server, with new type and metadata;
    /// only while the source has `sourceETag` when given (else HTTP 412). Above
    /// `singleCopyLimit` bytes the copy is a multipart upload of `partSize`-byte UploadPartCopy
    /// ranges. Clients without server-side copy throw `invalidRequest` (callers then upload).
    func copyObject(bucket: String, sourceKey: String, key: String, size: Int64, sourceETag: String?,
                    contentType: String, metadata: [String: String], partSize: Int64,
                    singleCopyLimit: Int64) throws -> PutObjectResult
}

/// S3's largest single CopyObject: above it, a copy must be multipart.
public let maximumSingleCopySize: Int64 = 5 * 1024 * 1024 * 1024

extension S3Client {
    public func copyObject(bucket: String, sourceKey: String, key: String, size: Int64, sourceETag: String?,
                           contentType: String, metadata: [String: String], partSize: Int64,
                           singleCopyLimit: Int64) throws -> PutObjectResult {
        throw S3Error(.invalidRequest(message: "this client cannot copy on the server"), operation: "CopyObject \(bucket)/\(key)")
    }

    /// Clients that cannot make conditional writes upload unconditionally.
    public func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                          condition: PutCondition?, progress: (@Sendable (Int64) -> Void)?,
                          shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        try putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                      progress: progress, shouldCancel: shouldCancel)
    }
}

/// Clients without flexible checksums upload with SHA-256 only.
extension S3Client {
    public func uploadChecksum(bucket: String, key: String) -> UploadChecksum { .sha256 }

    public func decidedUploadChecksum() -> UploadChecksum? { .sha256 }

    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String],
                                      checksum: UploadChecksum) throws -> String {
        guard checksum == .sha256 else {
            throw S3Error(.invalidRequest(message: "this client cannot send \(checksum.algorithmName) checksums"),
                          operation: "CreateMultipartUpload \(bucket)/\(key)")
        }
        return try createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata)
    }

    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64, length: Int64,
                           checksum: UploadChecksum, progress: (@Sendable (Int64) -> Void)?,
                           shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        guard checksum == .sha256 else {
            throw S3Error(.invalidRequest(message: "this client cannot send \(checksum.algorithmName) checksums"),
                          operation: "UploadPart \(bucket)/\(key) part \(partNumber)")
        }
        return try uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: body, offset: offset,
                              length: length, progress: progress, shouldCancel: shouldCancel)
    }
}

/// What a conditional write expects to find under the key.
public enum PutCondition: Sendable, Equatable {
    /// No object yet (`If-None-Match: *`).
    case noObject
    /// The object with this ETag (`If-Match`).
    case etag(String)
}

extension S3Client {
    /// For clients without ranged reads (test fakes): the range of the whole object.
    public func getObjectRange(bucket: String, key: String, offset: Int64, length: Int) throws -> Data {
        let data = try getObject(bucket: bucket, key: key)
        let start = Int(min(max(offset, 0), Int64(data.count)))
        return data.subdata(in: start..<min(start + length, data.count))
    }
}
