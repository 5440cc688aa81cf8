import FoundationEssentials
import Glibc
import RecsyncPrimitives

/// Tries a request that carries no file data again at once, twice at most, when it failed in a
/// way that says nothing about the request itself: a 5xx or 429 answer, a connection reset or
/// timeout, an answer that could not be read. The waits are short (0.2 s, then 0.4 s, ±25 %), so
/// a HEAD, CreateMultipartUpload or CompleteMultipartUpload that a busy server drops now and
/// then costs no upload attempt. Requests that send file data (PutObject, UploadPart) are not
/// retried here: their failures are attempts, retried by the uploader's policy with its backoff
/// (and a multipart attempt that stored new parts is not counted). An endpoint that cannot be
/// reached at all (refused, no route, no name) is not tried again here: the uploader pauses
/// instead. A cancelled request is never retried.
public struct RetryingS3Client: S3Client {
    public let inner: any S3Client
    public let retries: Int
    public let firstDelay: TimeInterval

    public init(_ inner: any S3Client, retries: Int = 2, firstDelay: TimeInterval = 0.2) {
        self.inner = inner
        self.retries = retries
        self.firstDelay = firstDelay
    }

    /// Whether a failure is worth an immediate second try.
    static func isWorthRetrying(_ error: any Error) -> Bool {
        guard let error = error as? S3Error else { return false }
        switch error.kind {
        case .cancelled, .io, .invalidRequest: return false
        case .transport: return !error.endpointUnreachable
        case .invalidResponse: return true
        case let .http(status, code, _, _): return S3Error.isRetryable(status: status, code: code)
        }
    }

    func run<T>(_ body: () throws -> T) throws -> T {
        var tries = 0
        while true {
            do {
                return try body()
            } catch {
                guard tries < retries, Self.isWorthRetrying(error) else { throw error }
                let delay = firstDelay * Glibc.pow(2.0, Double(tries)) * Double.random(in: 0.75...1.25)
                tries += 1
                WorkerThread.sleep(forTimeInterval: delay)
            }
        }
    }

    public func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                          progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        try inner.putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                            progress: progress, shouldCancel: shouldCancel)
    }

    public func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                          condition: PutCondition?, progress: (@Sendable (Int64) -> Void)?,
                          shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        try inner.putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                            condition: condition, progress: progress, shouldCancel: shouldCancel)
    }

    public func headObject(bucket: String, key: String) throws -> ObjectInfo? {
        try run { try inner.headObject(bucket: bucket, key: key) }
    }

    public func getObject(bucket: String, key: String) throws -> Data {
        try run { try inner.getObject(bucket: bucket, key: key) }
    }

    public func getObjectRange(bucket: String, key: String, offset: Int64, length: Int) throws -> Data {
        try run { try inner.getObjectRange(bucket: bucket, key: key, offset: offset, length: length) }
    }

    public func deleteObject(bucket: String, key: String) throws {
        try run { try inner.deleteObject(bucket: bucket, key: key) }
    }

    public func listObjects(bucket: String, prefix: String) throws -> [ObjectSummary] {
        try run { try inner.listObjects(bucket: bucket, prefix: prefix) }
    }

    public func createBucket(bucket: String) throws {
        try run { try inner.createBucket(bucket: bucket) }
    }

    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String]) throws -> String {
        try run { try inner.createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata) }
    }

    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64,
                           length: Int64, progress: (@Sendable (Int64) -> Void)?,
                           shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        try inner.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: body, offset: offset,
                             length: length, progress: progress, shouldCancel: shouldCancel)
    }

    public func uploadChecksum(bucket: String, key: String) -> UploadChecksum {
        inner.uploadChecksum(bucket: bucket, key: key)
    }

    public func decidedUploadChecksum() -> UploadChecksum? { inner.decidedUploadChecksum() }

    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String],
                                      checksum: UploadChecksum) throws -> String {
        try run {
            try inner.createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata, checksum: checksum)
        }
    }

    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64,
                           length: Int64, checksum: UploadChecksum, progress: (@Sendable (Int64) -> Void)?,
                           shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        try inner.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: body, offset: offset,
                             length: length, checksum: checksum, progress: progress, shouldCancel: shouldCancel)
    }

    public func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) throws -> PutObjectResult {
        try run { try inner.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts) }
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) throws {
        try run { try inner.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId) }
    }

    public func listParts(bucket: String, key: String, uploadId: String) throws -> [ListedPart] {
        try run { try inner.listParts(bucket: bucket, key: key, uploadId: uploadId) }
    }

    public func listMultipartUploads(bucket: String, prefix: String) throws -> [MultipartUploadSummary] {
        try run { try inner.listMultipartUploads(bucket: bucket, prefix: prefix) }
    }

    public func copyObject(bucket: String, sourceKey: String, key: String, size: Int64, sourceETag: String?,
                           contentType: String, metadata: [String: String], partSize: Int64,
                           singleCopyLimit: Int64) throws -> PutObjectResult {
        try run {
            try inner.copyObject(bucket: bucket, sourceKey: sourceKey, key: key, size: size, sourceETag: sourceETag,
                                 contentType: contentType, metadata: metadata, partSize: partSize, singleCopyLimit: singleCopyLimit)
        }
    }
}
