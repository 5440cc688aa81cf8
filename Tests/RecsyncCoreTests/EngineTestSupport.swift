import Foundation
import Logging
import RecsyncS3
import RecsyncStore
import Synchronization
import XCTest
@testable import RecsyncCore

/// Base class for tests of the sync engine, uploader and scanner with a fake S3.
///
/// Each test gets a fresh recordings folder (`root`), a real `SyncQueue` on a SQLite file
/// next to it, a `SyncEngine` over the folder and an `InMemoryS3Client`. Files are written
/// with POSIX calls and the engine's hooks are called the way the filesystem calls them.
class EngineTestCase: XCTestCase {
    static let bucket = "recordings"
    static let userId = "alice"
    static let hostname = "studio"

    var directory: URL!
    var root: URL!
    var rootFd: Int32 = -1
    var queue: SyncQueue!
    var engine: SyncEngine!
    var s3: InMemoryS3Client!
    var uploader: QueueRunner?

    /// Quiet logs: the outcomes are asserted, not read.
    let logger = Logger(label: "recsync.tests", factory: { _ in SwiftLogNoOpLogHandler() })

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("recsync-engine-tests-\(UUID().uuidString)", isDirectory: true)
        root = directory.appendingPathComponent("recordings", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        rootFd = open(root.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFd >= 0 else { throw posixError("open \(root.path)") }
        queue = try SyncQueue(databasePath: directory.appendingPathComponent("state/queue.sqlite").path)
        s3 = InMemoryS3Client()
        try makeEngine()
    }

    override func tearDownWithError() throws {
        uploader?.stop(grace: 0)
        uploader = nil
        engine?.stopWatchingUnseenWriters()
        engine = nil
        queue?.close()
        queue = nil
        if rootFd >= 0 { close(rootFd) }
        rootFd = -1
        if let directory { try? FileManager.default.removeItem(at: directory) }
        try super.tearDownWithError()
    }

    /// Replaces the engine (same queue and folder), e.g. to use another key pattern.
    /// Call before starting the uploader.
    func makeEngine(pattern: String = KeyPattern.defaultPattern, workers: Int = 2, autoSync: Bool = true,
                    syncOnMobileData: Bool = false, syncOnMeteredConnection: Bool = false, chunkSize: Int = 8 * 1024 * 1024,
                    configure: (inout EngineSettings) -> Void = { _ in }) throws {
        var settings = EngineSettings(bucket: Self.bucket, keyPattern: try KeyPattern(pattern), userId: Self.userId,
                                      hostname: Self.hostname, maxConcurrentUploads: workers, autoSync: autoSync,
                                      syncOnMobileData: syncOnMobileData, syncOnMeteredConnection: syncOnMeteredConnection,
                                      chunkSize: chunkSize)
        configure(&settings)
        engine = SyncEngine(queue: queue, settings: settings, rootFd: rootFd, logger: logger)
    }

    /// Starts upload workers talking to `client` (the in-memory S3 by default).
    @discardableResult
    func startUploader(client: (any S3Client)? = nil) -> QueueRunner {
        let started = QueueRunner(engine: engine, s3: client ?? s3, logger: logger)
        uploader = started
        started.start()
        return started
    }

    // MARK: Files

    func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// Writes `data` to `path` (creating folders) with open/write/close, as an application would.
    func writeFile(_ path: String, _ data: Data) throws {
        let target = url(path)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(target.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError("open \(path)") }
        defer { close(fd) }
        var written = 0
        while written < data.count {
            let n = data.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, data.count - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError("write \(path)")
            }
            written += n
        }
    }

    /// What the filesystem does around a write: the first write marks the file, the last
    /// close (all writer handles released) queues it.
    func record(_ path: String, _ data: Data) throws {
        engine.fileIsBeingWritten(path: path)
        try writeFile(path, data)
        try engine.fileWasWritten(path: path, stillOpen: false)
    }

    func contents(_ path: String) throws -> Data { try Data(contentsOf: url(path)) }

    /// Sets the file's modification time explicitly, so a change is visible even when the
    /// filesystem clock has not ticked since the previous write.
    func setModificationTime(_ path: String, secondsSinceEpoch: Int) throws {
        var times = [timespec(tv_sec: secondsSinceEpoch, tv_nsec: 0), timespec(tv_sec: secondsSinceEpoch, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, url(path).path, &times, 0) == 0 else { throw posixError("utimensat \(path)") }
    }

    func posixError(_ what: String) -> NSError {
        let code = errno
        return NSError(domain: NSPOSIXErrorDomain, code: Int(code),
                       userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(code)))"])
    }

    // MARK: Queue and attributes

    func storedRecord(_ path: String) throws -> FileRecord? { try queue.record(path: path) }

    func attribute(_ path: String, _ name: String) throws -> String? {
        try engine.syncAttribute(path: path, name: name, isDirectory: false)
    }

    func status(_ path: String) throws -> String? { try attribute(path, "user.sync.status") }

    func object(_ key: String) -> InMemoryS3Client.StoredObject? { s3.object(bucket: Self.bucket, key: key) }

    /// PutObject calls the fake S3 saw for `key` (failed ones included).
    func putCalls(_ key: String) -> Int { s3.calls.filter { $0 == "PutObject \(Self.bucket)/\(key)" }.count }

    var allPutCalls: [String] { s3.calls.filter { $0.hasPrefix("PutObject ") } }

    /// The key the engine's pattern gives `path` for a recording made at `date`.
    func expectedKey(_ path: String, at date: Date) throws -> String {
        try engine.settings.keyPattern.render(KeyContext(userId: Self.userId, relativePath: path, timestamp: date,
                                                         hostname: Self.hostname))
    }

    // MARK: Waiting

    /// Polls `condition` every 10 ms until it holds or `timeout` passes (then fails the test).
    @discardableResult
    func waitUntil(_ description: @autoclosure () -> String, timeout: TimeInterval = 10,
                   file: StaticString = #filePath, line: UInt = #line,
                   _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if try condition() { return true }
            if Date() >= deadline {
                XCTFail("timed out after \(timeout) s waiting until \(description())", file: file, line: line)
                return false
            }
            usleep(10_000)
        }
    }

    /// Waits until `path` has `status` in the queue.
    @discardableResult
    func waitForStatus(_ path: String, _ status: SyncStatus, timeout: TimeInterval = 10,
                       file: StaticString = #filePath, line: UInt = #line) throws -> FileRecord? {
        var last: FileRecord?
        try waitUntil("\(path) is \(status.rawValue) (last seen: \(last.map { "\($0.status)" } ?? "no record"))",
                      timeout: timeout, file: file, line: line) {
            last = try queue.record(path: path)
            return last?.status == status
        }
        return last
    }

    /// Checks that `condition` holds throughout `duration` (polling every 10 ms).
    func assertStays(_ description: @autoclosure () -> String, for duration: TimeInterval,
                     file: StaticString = #filePath, line: UInt = #line, _ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(duration)
        repeat {
            if try !condition() {
                XCTFail("stopped holding: \(description())", file: file, line: line)
                return
            }
            usleep(10_000)
        } while Date() < deadline
    }
}

// MARK: - Test data

enum TestAudio {
    /// A PCM WAV file: 16-bit mono at `rate` Hz, `seconds` long, with a simple ramp as samples.
    static func wav(seconds: Double, rate: Int = 8_000) -> Data {
        let frames = Int((Double(rate) * seconds).rounded())
        var samples = [UInt8]()
        samples.reserveCapacity(frames * 2)
        for index in 0..<frames {
            let value = UInt16(truncatingIfNeeded: index &* 97)
            samples += [UInt8(value & 0xFF), UInt8(value >> 8)]
        }
        func le(_ value: Int, _ width: Int) -> [UInt8] {
            (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
        let format = le(1, 2) + le(1, 2) + le(rate, 4) + le(rate * 2, 4) + le(2, 2) + le(16, 2)
        let body = Array("WAVE".utf8)
            + Array("fmt ".utf8) + le(format.count, 4) + format
            + Array("data".utf8) + le(samples.count, 4) + samples
        return Data(Array("RIFF".utf8) + le(body.count, 4) + body)
    }

    /// `count` bytes of a repeating pattern that depends on `seed`, so versions differ.
    static func bytes(_ count: Int, seed: UInt8 = 0) -> Data {
        Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ 1) })
    }
}

// MARK: - An S3 client that holds uploads at a gate

/// Wraps `InMemoryS3Client` and holds every PutObject at a gate until `open()` is called, so
/// a test can act while an upload is in flight.
///
/// `.beforeSending` holds before any byte is read and honours `shouldCancel` while waiting
/// (like a request stuck on the network). `.afterStoring` holds after the object is stored,
/// before the answer reaches the caller (the server has the bytes, the client does not know
/// yet); it does not give up on cancellation.
final class GatedS3Client: S3Client {
    enum Stage: Sendable { case beforeSending, afterStoring }

    let inner: InMemoryS3Client
    let stage: Stage
    /// Lock rule: everything mutable is in `state`; it is never held while waiting or uploading.
    private let state = Mutex<(isOpen: Bool, arrivals: [String])>((false, []))

    init(inner: InMemoryS3Client, stage: Stage) {
        self.inner = inner
        self.stage = stage
    }

    /// Keys of uploads that reached the gate, in order.
    var arrivals: [String] { state.withLock { $0.arrivals } }

    /// Lets every held upload, and every later one, through.
    func open() { state.withLock { $0.isOpen = true } }

    private func hold(_ key: String, shouldCancel: (@Sendable () -> Bool)?, honourCancel: Bool) throws {
        state.withLock { $0.arrivals.append(key) }
        let deadline = Date().addingTimeInterval(30)
        while !state.withLock({ $0.isOpen }) {
            if honourCancel, let shouldCancel, shouldCancel() {
                throw S3Error(.cancelled, operation: "PutObject \(key)")
            }
            if Date() >= deadline {
                throw S3Error(.transport(curlCode: 28, message: "the test never opened the gate"), operation: "PutObject \(key)")
            }
            usleep(2_000)
        }
    }

    func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                   progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        if stage == .beforeSending { try hold(key, shouldCancel: shouldCancel, honourCancel: true) }
        let result = try inner.putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                                         progress: progress, shouldCancel: shouldCancel)
        if stage == .afterStoring { try hold(key, shouldCancel: shouldCancel, honourCancel: false) }
        return result
    }

    func headObject(bucket: String, key: String) throws -> ObjectInfo? { try inner.headObject(bucket: bucket, key: key) }
    func getObject(bucket: String, key: String) throws -> Data { try inner.getObject(bucket: bucket, key: key) }
    func deleteObject(bucket: String, key: String) throws { try inner.deleteObject(bucket: bucket, key: key) }
    func listObjects(bucket: String, prefix: String) throws -> [ObjectSummary] { try inner.listObjects(bucket: bucket, prefix: prefix) }
    func createBucket(bucket: String) throws { try inner.createBucket(bucket: bucket) }
}

// MARK: - A client that forwards to the in-memory one

/// Forwards every call to `inner`; a test fake subclasses it and overrides the one call it
/// changes. Subclasses guard their own state with a lock of their own.
class ForwardingS3Client: S3Client, @unchecked Sendable {
    let inner: InMemoryS3Client

    init(inner: InMemoryS3Client) { self.inner = inner }

    func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                   progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        try inner.putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                            progress: progress, shouldCancel: shouldCancel)
    }
    func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                   condition: PutCondition?, progress: (@Sendable (Int64) -> Void)?,
                   shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        try inner.putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                            condition: condition, progress: progress, shouldCancel: shouldCancel)
    }
    func headObject(bucket: String, key: String) throws -> ObjectInfo? { try inner.headObject(bucket: bucket, key: key) }
    func getObject(bucket: String, key: String) throws -> Data { try inner.getObject(bucket: bucket, key: key) }
    func deleteObject(bucket: String, key: String) throws { try inner.deleteObject(bucket: bucket, key: key) }
    func listObjects(bucket: String, prefix: String) throws -> [ObjectSummary] { try inner.listObjects(bucket: bucket, prefix: prefix) }
    func createBucket(bucket: String) throws { try inner.createBucket(bucket: bucket) }
    func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String]) throws -> String {
        try inner.createMultipartUpload(bucket: bucket, key: key, contentType: contentType, metadata: metadata)
    }
    func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64, length: Int64,
                    progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        try inner.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: body, offset: offset,
                             length: length, progress: progress, shouldCancel: shouldCancel)
    }
    func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) throws -> PutObjectResult {
        try inner.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
    }
    func abortMultipartUpload(bucket: String, key: String, uploadId: String) throws {
        try inner.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
    }
    func listParts(bucket: String, key: String, uploadId: String) throws -> [ListedPart] {
        try inner.listParts(bucket: bucket, key: key, uploadId: uploadId)
    }
    func listMultipartUploads(bucket: String, prefix: String) throws -> [MultipartUploadSummary] {
        try inner.listMultipartUploads(bucket: bucket, prefix: prefix)
    }
}
