import Foundation

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

    public init(etag: String, versionId: String? = nil) {
        self.etag = etag
        self.versionId = versionId
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
    /// Returns the object's size, ETag, type and metadata, or nil if it does not exist.
    func headObject(bucket: String, key: String) throws -> ObjectInfo?
    /// Downloads a whole object into memory (for tests and verification of small objects).
    func getObject(bucket: String, key: String) throws -> Data
    /// Deletes an object; deleting a missing object succeeds, as in S3.
    func deleteObject(bucket: String, key: String) throws
    /// Lists every object under `prefix`, following continuation tokens.
    func listObjects(bucket: String, prefix: String) throws -> [ObjectSummary]
    /// Creates a bucket; an existing bucket owned by the caller counts as success.
    func createBucket(bucket: String) throws
}
