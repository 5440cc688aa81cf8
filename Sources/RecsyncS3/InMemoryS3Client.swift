import FoundationEssentials
import Synchronization
import Glibc

/// An `S3Client` that keeps objects in memory, for unit tests of code that uploads.
///
/// Uploads read the file with `pread` in 1 MiB steps like the real client, report progress and
/// honour `shouldCancel` between steps. `failNext(_:with:)` injects errors. Multipart uploads
/// are kept part by part until completed or aborted (see InMemoryS3Client+Multipart.swift).
///
/// Locking rule: all mutable state lives in `state` and is only touched inside its Mutex; the
/// lock is never held while calling the caller's `progress`/`shouldCancel` closures. (`state`
/// and `begin` are internal, not private, for the multipart extension in its own file.)
public final class InMemoryS3Client: S3Client {
    /// A stored object.
    public struct StoredObject: Sendable, Equatable {
        public var data: Data
        public var contentType: String?
        public var metadata: [String: String]
        public var etag: String
        public var lastModified: Date
    }

    struct State {
        var buckets: Set<String> = []
        var objects: [String: [String: StoredObject]] = [:]
        /// Open multipart uploads by upload id.
        var uploads: [String: MultipartUploadRecord] = [:]
        var pendingFailures: [S3Error] = []
        var calls: [String] = []
        /// What `uploadChecksum` answers (a server with flexible checksums, or without).
        var uploadChecksum = UploadChecksum.sha256
    }

    let state = Mutex(State())
    private let requireBuckets: Bool
    /// The smallest size CompleteMultipartUpload accepts for every part but the last.
    let minimumPartSize: Int64

    /// - Parameters:
    ///   - requireBuckets: when true, operations on a bucket not made with `createBucket` fail
    ///     with 404 NoSuchBucket; when false (default) any bucket exists.
    ///   - minimumPartSize: CompleteMultipartUpload fails with `EntityTooSmall` when a part
    ///     other than the last is smaller; 0 (default) accepts any size, S3 requires
    ///     `MultipartLimits.minimumPartSize`.
    public init(requireBuckets: Bool = false, minimumPartSize: Int64 = 0) {
        self.requireBuckets = requireBuckets
        self.minimumPartSize = minimumPartSize
    }

    /// Makes the next `count` calls (of any operation) fail with `error`.
    public func failNext(_ count: Int, with error: S3Error) {
        state.withLock { $0.pendingFailures += Array(repeating: error, count: count) }
    }

    /// The stored object, if any.
    public func object(bucket: String, key: String) -> StoredObject? {
        state.withLock { $0.objects[bucket]?[key] }
    }

    /// Operations called so far, e.g. `["PutObject b/k", "HeadObject b/k", "UploadPart b/k part 2"]`
    /// (failed ones included). Multipart calls are named `CreateMultipartUpload b/k`,
    /// `UploadPart b/k part N`, `CompleteMultipartUpload b/k`, `AbortMultipartUpload b/k`,
    /// `ListParts b/k` and `ListMultipartUploads b/prefix`.
    public var calls: [String] { state.withLock { $0.calls } }

    /// Records the call, then throws an injected failure or a missing-bucket error if due.
    func begin(_ operation: String, bucket: String) throws {
        let failure: S3Error? = state.withLock { state in
            state.calls.append(operation)
            if !state.pendingFailures.isEmpty { return state.pendingFailures.removeFirst() }
            if requireBuckets, !state.buckets.contains(bucket), !operation.hasPrefix("CreateBucket") {
                return S3Error(.http(status: 404, code: "NoSuchBucket", message: "The specified bucket does not exist",
                                     requestId: nil))
            }
            return nil
        }
        if var failure {
            if failure.operation == nil { failure.operation = operation }
            throw failure
        }
    }

    public func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                          progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        try putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                      condition: nil, progress: progress, shouldCancel: shouldCancel)
    }

    public func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                          condition: PutCondition?, progress: (@Sendable (Int64) -> Void)?,
                          shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        let operation = "PutObject \(bucket)/\(key)"
        try begin(operation, bucket: bucket)
        let existing = state.withLock { $0.objects[bucket]?[key] }
        let holds: Bool
        switch condition {
        case .noObject?: holds = existing == nil
        case .etag(let etag)?: holds = existing?.etag == etag.unquotedETag()
        case nil: holds = true
        }
        if !holds {
            throw S3Error(.http(status: 412, code: "PreconditionFailed",
                                message: "At least one of the pre-conditions you specified did not hold", requestId: nil),
                          operation: operation)
        }
        do {
            _ = try MetadataEncoding.headers(for: metadata)
        } catch var error as S3Error {
            error.operation = operation
            throw error
        }
        let data = try Self.read(fd: body.fd, offset: 0, length: body.length, operation: operation,
                                 progress: progress, shouldCancel: shouldCancel)
        let etag = Crypto.hex(Crypto.md5(data))
        let stored = StoredObject(data: data, contentType: contentType,
                                  metadata: Dictionary(uniqueKeysWithValues: metadata.map { ($0.key.lowercased(), $0.value) }),
                                  etag: etag, lastModified: Date())
        state.withLock { $0.objects[bucket, default: [:]][key] = stored }
        return PutObjectResult(etag: etag)
    }

    /// Reads bytes `[offset, offset + length)` of `fd` in 1 MiB steps, checking `shouldCancel`
    /// before and reporting progress after each step (at least once, also for no bytes).
    static func read(fd: Int32, offset start: Int64, length: Int64, operation: String,
                     progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> Data {
        let step = 1 << 20
        var data = Data(count: Int(length))
        var offset = 0
        repeat {
            if let shouldCancel, shouldCancel() { throw S3Error(.cancelled, operation: operation) }
            let want = min(step, Int(length) - offset)
            var filled = 0
            while filled < want {
                let position = start + Int64(offset + filled)
                let n = data.withUnsafeMutableBytes { buffer in
                    // Safe: the range [offset + filled, offset + want) lies within `data`.
                    pread(fd, buffer.baseAddress! + offset + filled, want - filled, off_t(position))
                }
                if n < 0, errno == EINTR { continue }
                if n < 0 {
                    let code = errno
                    throw S3Error(.io(errno: code, message: "reading the file failed: \(String(cString: strerror(code)))"), operation: operation)
                }
                if n == 0 {
                    throw S3Error(.io(errno: 0, message: "the file is shorter than the \(start + length) bytes expected; it was truncated while uploading"), operation: operation)
                }
                filled += n
            }
            offset += want
            progress?(Int64(offset))
        } while offset < Int(length)
        return data
    }

    public func headObject(bucket: String, key: String) throws -> ObjectInfo? {
        try begin("HeadObject \(bucket)/\(key)", bucket: bucket)
        guard let object = object(bucket: bucket, key: key) else { return nil }
        return ObjectInfo(size: Int64(object.data.count), etag: object.etag, contentType: object.contentType,
                          metadata: object.metadata, lastModified: object.lastModified)
    }

    public func getObject(bucket: String, key: String) throws -> Data {
        let operation = "GetObject \(bucket)/\(key)"
        try begin(operation, bucket: bucket)
        guard let object = object(bucket: bucket, key: key) else {
            throw S3Error(.http(status: 404, code: "NoSuchKey", message: "The specified key does not exist.", requestId: nil),
                          operation: operation)
        }
        return object.data
    }

    public func deleteObject(bucket: String, key: String) throws {
        try begin("DeleteObject \(bucket)/\(key)", bucket: bucket)
        state.withLock { _ = $0.objects[bucket]?.removeValue(forKey: key) }
    }

    public func listObjects(bucket: String, prefix: String) throws -> [ObjectSummary] {
        try begin("ListObjectsV2 \(bucket)/\(prefix)", bucket: bucket)
        return state.withLock { state in
            (state.objects[bucket] ?? [:])
                .filter { $0.key.hasPrefix(prefix) }
                .sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
                .map { ObjectSummary(key: $0.key, size: Int64($0.value.data.count), etag: $0.value.etag,
                                     lastModified: $0.value.lastModified) }
        }
    }

    public func createBucket(bucket: String) throws {
        try begin("CreateBucket \(bucket)", bucket: bucket)
        state.withLock { _ = $0.buckets.insert(bucket) }
    }
}
