import Foundation
@testable import RecsyncS3
import RecsyncFS
import RecsyncStore
import XCTest
@testable import RecsyncCore

/// Every shortcut that skips sending bytes proves first that the file holds exactly what was
/// hashed before: a multipart upload resumed or recognised after a restart, a rename copied on
/// the server, a file recognised in the bucket. A file rewritten in place while recsync was
/// stopped (same size, same modification time) always ends with its current bytes in S3.
final class SyncedMeansTheseBytesTests: EngineTestCase {
    static let partSize = 5 * 1024 * 1024

    /// Bytes that differ from part to part (a short repeating pattern would make parts equal).
    static func randomBytes(_ count: Int, seed: UInt64) -> Data {
        var generator = SeededGenerator(state: seed)
        var data = Data(count: count)
        data.withUnsafeMutableBytes { raw in
            var index = 0
            while index < raw.count {
                var word = generator.next()
                for _ in 0..<8 where index < raw.count {
                    raw[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
        }
        return data
    }

    /// A 3-part file, 2 parts of it sent by a "previous run" whose queue says `syncing`
    /// (`complete`: all parts and CompleteMultipartUpload too). Returns the file's key.
    func interruptedMultipart(_ path: String, old: Data, complete: Bool, checksum: UploadChecksum = .sha256) throws -> String {
        try writeFile(path, old)
        try engine.enqueue(path: path, priority: .high)
        let record = try XCTUnwrap(try queue.claim(limit: 1).first)
        // With the metadata recsync gives its own objects (name and recording time).
        let metadata = ObjectMetadata.build(originalName: (path as NSString).lastPathComponent, size: Int64(old.count),
                                            timestamp: record.createdAt, duration: nil, tags: [])
        let uploadId = try s3.createMultipartUpload(bucket: Self.bucket, key: record.s3Key, contentType: "application/octet-stream",
                                                    metadata: metadata, checksum: checksum)
        XCTAssertTrue(try queue.beginMultipart(path: path, generation: record.generation, uploadId: uploadId,
                                               partSize: Int64(Self.partSize),
                                               partDigest: checksum == .crc32c ? MultipartState.crc32cPartDigest
                                                                               : MultipartState.sha256PartDigest))
        let fd = open(url(path).path, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        let plan = PartPlan(fileSize: Int64(old.count), chunkSize: Int64(Self.partSize))
        var parts: [CompletedPart] = []
        for number in 1...(complete ? plan.partCount : 2) {
            let range = plan.range(of: number)
            let part = try s3.uploadPart(bucket: Self.bucket, key: record.s3Key, uploadId: uploadId, partNumber: number,
                                         body: FileBody(fd: fd, length: Int64(old.count)), offset: range.offset,
                                         length: range.length, checksum: checksum, progress: nil, shouldCancel: nil)
            XCTAssertEqual(part.checksum, checksum)
            XCTAssertTrue(try queue.recordPart(path: path, generation: record.generation, uploadId: uploadId,
                                               part: StoredPart(partNumber: number, size: range.length, etag: part.etag,
                                                                digest: part.digest)))
            parts.append(CompletedPart(partNumber: number, etag: part.etag, digest: part.digest, checksum: checksum))
        }
        if complete {
            _ = try s3.completeMultipartUpload(bucket: Self.bucket, key: record.s3Key, uploadId: uploadId, parts: parts)
        }
        return record.s3Key
    }

    /// Rewrites the first bytes of the file in place while "recsync is stopped", keeping its size
    /// and modification time, as a tool that restores times would.
    func rewriteInPlaceKeepingTimes(_ path: String, first count: Int) throws {
        var before = stat()
        XCTAssertEqual(stat(url(path).path, &before), 0)
        let fd = open(url(path).path, O_WRONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let fresh = Data(repeating: 0xA5, count: count)
        _ = fresh.withUnsafeBytes { pwrite(fd, $0.baseAddress, count, 0) }
        var times = [before.st_atim, before.st_mtim]
        XCTAssertEqual(futimens(fd, &times), 0)
        close(fd)
        var after = stat()
        XCTAssertEqual(stat(url(path).path, &after), 0)
        XCTAssertEqual(after.st_size, before.st_size)
        XCTAssertEqual(after.mtimeNanoseconds, before.mtimeNanoseconds, "the change hides from size and mtime")
    }

    /// The daemon restarts: the queue is opened again (syncing goes back to pending, interrupted),
    /// a new engine and uploader start, and the scan runs.
    func restart() throws {
        uploader?.stop(grace: 0)
        uploader = nil
        queue.close()
        queue = try SyncQueue(databasePath: directory.appendingPathComponent("state/queue.sqlite").path)
        try makeEngine(chunkSize: Self.partSize)
        Scanner(engine: engine, logger: logger).run()
        startUploader()
    }

    func testAResumedMultipartUploadSendsAgainThePartsRewrittenWhileStopped() throws {
        try makeEngine(chunkSize: Self.partSize)
        let old = Self.randomBytes(Self.partSize * 2 + 1_234_567, seed: 1)
        let key = try interruptedMultipart("long.raw", old: old, complete: false)
        try rewriteInPlaceKeepingTimes("long.raw", first: 1 << 20)
        try restart()
        try waitForStatus("long.raw", .synced, timeout: 20)
        XCTAssertEqual(object(key)?.data, try contents("long.raw"), "the object holds the rewritten bytes")
        XCTAssertNotEqual(try contents("long.raw"), old)
    }

    /// The same when the parts were checked by CRC-32C (a server with flexible checksums): the
    /// parts' ETags (MD5s) catch the rewritten part, and the others are not sent again.
    func testAResumedCRC32CUploadSendsAgainOnlyThePartsRewrittenWhileStopped() throws {
        s3.setUploadChecksum(.crc32c)
        try makeEngine(chunkSize: Self.partSize)
        let old = Self.randomBytes(Self.partSize * 2 + 1_234_567, seed: 11)
        let key = try interruptedMultipart("crc.raw", old: old, complete: false, checksum: .crc32c)
        try rewriteInPlaceKeepingTimes("crc.raw", first: 1 << 20)
        let before = s3.calls.count
        try restart()
        try waitForStatus("crc.raw", .synced, timeout: 20)
        XCTAssertEqual(object(key)?.data, try contents("crc.raw"), "the object holds the rewritten bytes")
        let sent = s3.calls.dropFirst(before).filter { $0.hasPrefix("UploadPart") }
        XCTAssertEqual(sent.count, 2, "part 1 (rewritten) and part 3 (never sent), not part 2: \(sent)")
        XCTAssertFalse(sent.contains { $0.hasSuffix("part 2") }, "\(sent)")
        let checksum = try XCTUnwrap(try queue.checksum(path: "crc.raw"))
        XCTAssertTrue(checksum.hasPrefix("md5-parts-\(Self.partSize):"), checksum)
        let fd = open(url("crc.raw").path, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        XCTAssertEqual(ContentCheck.matches(fd: fd, size: Int64(old.count), checksum: checksum), true)
    }

    /// A multipart upload begun with CRC-32C trailers on a server that is now known not to check
    /// them (the setting changed) is started over with SHA-256, not resumed.
    func testACRC32CUploadIsStartedOverWhenTheServerNoLongerChecksThem() throws {
        s3.setUploadChecksum(.crc32c)
        try makeEngine(chunkSize: Self.partSize)
        let data = Self.randomBytes(Self.partSize * 2 + 4321, seed: 13)
        let key = try interruptedMultipart("over.raw", old: data, complete: false, checksum: .crc32c)
        s3.setUploadChecksum(.sha256)
        let before = s3.calls.count
        try restart()
        try waitForStatus("over.raw", .synced, timeout: 20)
        XCTAssertEqual(object(key)?.data, data)
        let after = Array(s3.calls.dropFirst(before))
        XCTAssertEqual(after.filter { $0.hasPrefix("CreateMultipartUpload") }.count, 1, "a new upload: \(after)")
        XCTAssertEqual(after.filter { $0.hasPrefix("UploadPart") }.count, 3, "every part sent again: \(after)")
        let checksum = try XCTUnwrap(try queue.checksum(path: "over.raw"))
        XCTAssertTrue(checksum.hasPrefix("sha256-parts-"), checksum)
    }

    /// The checksum kept for a file synced with CRC-32C parts matches the file, and no longer
    /// does once one byte of it changed.
    func testACRC32CChecksumCatchesAOneByteRewrite() throws {
        s3.setUploadChecksum(.crc32c)
        try makeEngine(chunkSize: Self.partSize)
        startUploader()
        let data = Self.randomBytes(Self.partSize * 2 + 77, seed: 12)
        try record("take.raw", data)
        try waitForStatus("take.raw", .synced, timeout: 20)
        let checksum = try XCTUnwrap(try queue.checksum(path: "take.raw"))
        XCTAssertTrue(checksum.hasPrefix("md5-parts-"), checksum)
        let fd = open(url("take.raw").path, O_RDWR | O_CLOEXEC)
        defer { close(fd) }
        XCTAssertEqual(ContentCheck.matches(fd: fd, size: Int64(data.count), checksum: checksum), true)
        var byte: UInt8 = 0x5a
        XCTAssertEqual(pwrite(fd, &byte, 1, off_t(Self.partSize + 3)), 1)
        XCTAssertEqual(ContentCheck.matches(fd: fd, size: Int64(data.count), checksum: checksum), false)
    }

    func testAMultipartUploadCompletedBeforeTheCrashIsSentAgainWhenTheFileChangedSince() throws {
        try makeEngine(chunkSize: Self.partSize)
        let old = Self.randomBytes(Self.partSize * 2 + 999, seed: 2)
        let key = try interruptedMultipart("done.raw", old: old, complete: true)
        XCTAssertEqual(object(key)?.data, old)
        try rewriteInPlaceKeepingTimes("done.raw", first: 4096)
        try restart()
        try waitForStatus("done.raw", .synced, timeout: 20)
        XCTAssertEqual(try storedRecord("done.raw")?.s3Key, key, "its own object is replaced, under the same key")
        XCTAssertEqual(object(key)?.data, try contents("done.raw"), "not called synced with the old object")
    }

    func testAMultipartUploadCompletedBeforeTheCrashIsRecognisedWhenTheFileIsUnchanged() throws {
        try makeEngine(chunkSize: Self.partSize)
        let old = Self.randomBytes(Self.partSize * 2 + 999, seed: 3)
        let key = try interruptedMultipart("same.raw", old: old, complete: true)
        let before = s3.calls.count
        try restart()
        try waitForStatus("same.raw", .synced, timeout: 20)
        XCTAssertEqual(object(key)?.data, old)
        let after = s3.calls.dropFirst(before)
        XCTAssertFalse(after.contains { $0.hasPrefix("UploadPart") || $0.hasPrefix("PutObject") || $0.hasPrefix("CreateMultipartUpload") },
                       "nothing was sent again: \(Array(after))")
    }

    func testAMultipartUploadCreatedJustBeforeACrashIsAborted() throws {
        try makeEngine(chunkSize: Self.partSize)
        let data = Self.randomBytes(Self.partSize + 4096, seed: 30)
        try writeFile("crash.raw", data)
        try engine.enqueue(path: "crash.raw", priority: .high)
        let record = try XCTUnwrap(try queue.claim(limit: 1).first)
        // The server created the upload; the daemon died before the queue recorded its id.
        _ = try s3.createMultipartUpload(bucket: Self.bucket, key: record.s3Key, contentType: "x", metadata: [:])
        try restart()
        try waitForStatus("crash.raw", .synced, timeout: 20)
        XCTAssertEqual(object(record.s3Key)?.data, data)
        try waitUntil("no multipart upload is left open", timeout: 10) {
            (try? self.s3.listMultipartUploads(bucket: Self.bucket, prefix: "").isEmpty) == true
        }
    }

    func testASyncedFileRewrittenInPlaceWhileStoppedIsUploadedAgain() throws {
        try makeEngine(chunkSize: Self.partSize)
        startUploader()
        try record("take.wav", Self.randomBytes(300_000, seed: 4))
        try waitForStatus("take.wav", .synced)
        let key = try XCTUnwrap(try storedRecord("take.wav")?.s3Key)
        try rewriteInPlaceKeepingTimes("take.wav", first: 1000)
        try restart()
        try waitForStatus("take.wav", .synced, timeout: 20)
        try waitUntil("the object has the new bytes", timeout: 10) { self.object(key)?.data == (try? self.contents("take.wav")) }
    }

    func testAChmodWhileStoppedCostsAHashNotAnUpload() throws {
        try makeEngine(chunkSize: Self.partSize)
        startUploader()
        try record("keep.wav", Self.randomBytes(200_000, seed: 5))
        try waitForStatus("keep.wav", .synced)
        let key = try XCTUnwrap(try storedRecord("keep.wav")?.s3Key)
        XCTAssertEqual(chmod(url("keep.wav").path, 0o600), 0)
        let puts = putCalls(key)
        try restart()
        try assertStays("the file stays synced without an upload", for: 1.5) {
            (try? self.status("keep.wav")) == "synced" && self.putCalls(key) == puts
        }
        let stored = try XCTUnwrap(try storedRecord("keep.wav"))
        var st = stat()
        XCTAssertEqual(stat(url("keep.wav").path, &st), 0)
        XCTAssertEqual(stored.syncedCtimeNs, FileIdentity(st).ctimeNs, "the new identity is recorded after the hash")
    }

    func testAPendingFileChangedWhileStoppedIsQueuedAgainWithItsNewBytes() throws {
        try makeEngine(chunkSize: Self.partSize)
        try record("wait.raw", Self.randomBytes(1000, seed: 6))
        let generation = try XCTUnwrap(try storedRecord("wait.raw")?.generation)
        try writeFile("wait.raw", Self.randomBytes(2000, seed: 7))
        try restart()
        try waitForStatus("wait.raw", .synced, timeout: 20)
        XCTAssertGreaterThan(try XCTUnwrap(try storedRecord("wait.raw")?.generation), generation, "the scan queued it again")
        let key = try XCTUnwrap(try storedRecord("wait.raw")?.s3Key)
        XCTAssertEqual(object(key)?.data, try contents("wait.raw"))
    }

    func testARenamedFileWhoseBytesChangedIsUploadedNotCopied() throws {
        try makeEngine(chunkSize: Self.partSize)
        startUploader()
        try record("a.wav", Self.randomBytes(100_000, seed: 8))
        try waitForStatus("a.wav", .synced)
        uploader?.stop(grace: 0)
        uploader = nil
        // Renamed, then rewritten in place with its times kept, before the upload under the new name.
        XCTAssertEqual(rename(url("a.wav").path, url("b.wav").path), 0)
        try engine.itemRenamed(from: "a.wav", to: "b.wav", isDirectory: false)
        try rewriteInPlaceKeepingTimes("b.wav", first: 512)
        startUploader()
        try waitForStatus("b.wav", .synced, timeout: 20)
        let key = try XCTUnwrap(try storedRecord("b.wav")?.s3Key)
        XCTAssertEqual(object(key)?.data, try contents("b.wav"), "the new object holds the current bytes")
        XCTAssertFalse(s3.calls.contains { $0.hasPrefix("CopyObject") && $0.contains(key) }, "no copy of the old bytes: \(s3.calls)")
    }

    func testARenamedUnchangedFileIsCopiedOnTheServer() throws {
        try makeEngine(chunkSize: Self.partSize)
        startUploader()
        try record("c.wav", Self.randomBytes(100_000, seed: 9))
        try waitForStatus("c.wav", .synced)
        XCTAssertEqual(rename(url("c.wav").path, url("d.wav").path), 0)
        try engine.itemRenamed(from: "c.wav", to: "d.wav", isDirectory: false)
        try waitForStatus("d.wav", .synced, timeout: 20)
        let key = try XCTUnwrap(try storedRecord("d.wav")?.s3Key)
        XCTAssertTrue(s3.calls.contains { $0.hasPrefix("CopyObject") && $0.contains(key) }, "\(s3.calls)")
        XCTAssertEqual(putCalls(key), 0)
        XCTAssertEqual(object(key)?.data, try contents("d.wav"))
    }

    func testATransientHeadFailureIsNeverAReasonToOverwrite() throws {
        try makeEngine(chunkSize: Self.partSize)
        // An object recsync did not write sits under the key the file will get.
        try writeFile("x.wav", Self.randomBytes(10_000, seed: 10))
        try engine.enqueue(path: "x.wav", priority: .high)
        let key = try XCTUnwrap(try storedRecord("x.wav")?.s3Key)
        let foreign = Data("someone else's recording".utf8)
        try writeFile("other.bin", foreign)
        let fd = open(url("other.bin").path, O_RDONLY)
        _ = try s3.putObject(bucket: Self.bucket, key: key, body: FileBody(fd: fd, length: Int64(foreign.count)),
                             contentType: "audio/wav", metadata: [:], condition: nil, progress: nil, shouldCancel: nil)
        close(fd)
        try FileManager.default.removeItem(at: url("other.bin"))
        // The conditional PUT is refused (412); the HEAD that follows fails with a 503.
        let gated = HeadFailingS3Client(inner: s3, headFailures: 1)
        startUploader(client: gated)
        try waitUntil("the file was tried and is pending again", timeout: 10) {
            (try? self.storedRecord("x.wav")?.attempts) == 1
        }
        XCTAssertEqual(object(key)?.data, foreign, "the other object was not overwritten")
        try waitForStatus("x.wav", .synced, timeout: 20)
        XCTAssertEqual(object(key)?.data, foreign, "still not overwritten: the file took another key")
        let newKey = try XCTUnwrap(try storedRecord("x.wav")?.s3Key)
        XCTAssertNotEqual(newKey, key)
        XCTAssertEqual(object(newKey)?.data, try contents("x.wav"))
    }
}

/// Forwards to the in-memory client, but fails the first `headFailures` HEAD requests with a 503.
final class HeadFailingS3Client: ForwardingS3Client, @unchecked Sendable {
    private let lock = NSLock()
    private var failures: Int

    init(inner: InMemoryS3Client, headFailures: Int) {
        failures = headFailures
        super.init(inner: inner)
    }

    override func headObject(bucket: String, key: String) throws -> ObjectInfo? {
        let fail = lock.withLock { () -> Bool in
            guard failures > 0 else { return false }
            failures -= 1
            return true
        }
        if fail { throw S3Error(.http(status: 503, code: "ServiceUnavailable", message: "try later", requestId: nil)) }
        return try super.headObject(bucket: bucket, key: key)
    }
}

/// A CompleteMultipartUpload whose answer is lost and that is sent again: the server assembled
/// the object, then says NoSuchUpload. The object counts, being exactly these parts.
final class LostCompleteAnswerTests: EngineTestCase {
    func testACompleteWhoseAnswerWasLostIsRecognisedNotFailed() throws {
        try makeEngine(chunkSize: 5 << 20)
        let client = LostCompleteAnswerS3Client(inner: s3)
        startUploader(client: client)
        let data = SyncedMeansTheseBytesTests.randomBytes(11 << 20, seed: 21)
        try record("long.raw", data)
        try waitForStatus("long.raw", .synced, timeout: 20)
        let key = try XCTUnwrap(try storedRecord("long.raw")?.s3Key)
        XCTAssertEqual(object(key)?.data, data)
        XCTAssertEqual(try storedRecord("long.raw")?.attempts, 0, "no attempt was spent")
        XCTAssertEqual(s3.calls.filter { $0.hasPrefix("CreateMultipartUpload") }.count, 1, "not started over: \(s3.calls)")
    }
}

/// Forwards to the in-memory client; the first CompleteMultipartUpload goes through on the
/// server, but its caller gets NoSuchUpload, as when an answer is lost and the request repeated.
final class LostCompleteAnswerS3Client: ForwardingS3Client, @unchecked Sendable {
    private let lock = NSLock()
    private var lost = false

    override func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) throws -> PutObjectResult {
        let result = try super.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
        let loseIt = lock.withLock { () -> Bool in
            defer { lost = true }
            return !lost
        }
        if loseIt { throw S3Error(.http(status: 404, code: "NoSuchUpload", message: "no such upload", requestId: nil)) }
        return result
    }
}

/// A PutObject answered with an ETag that is not the MD5 of the bytes sent: the server holds
/// something else, so the upload is not confirmed (unless the object is encrypted with KMS or a
/// customer key, whose ETags are no MD5).
final class WrongETagTests: EngineTestCase {
    func testAnETagThatIsNotTheMD5OfTheBytesIsNeverSynced() throws {
        let client = WrongETagS3Client(inner: s3, wrongAnswers: 1, encryption: nil)
        startUploader(client: client)
        let data = SyncedMeansTheseBytesTests.randomBytes(300_000, seed: 5)
        try record("take.wav", data)
        try waitUntil("the wrong answer is refused") { (try? storedRecord("take.wav"))??.attempts == 1 }
        let refused = try XCTUnwrap(try storedRecord("take.wav"))
        XCTAssertEqual(refused.status, .pending, "not synced on a wrong ETag")
        XCTAssertTrue(refused.lastError?.contains("not the MD5 of the bytes sent") == true, refused.lastError ?? "no error")
        try waitForStatus("take.wav", .synced, timeout: 20)
        let synced = try XCTUnwrap(try storedRecord("take.wav"))
        XCTAssertEqual(synced.etag, Crypto.hex(Crypto.md5(data)), "synced on the answer that names these bytes")
        XCTAssertEqual(object(synced.s3Key)?.data, data)
    }

    func testAnEncryptedObjectsETagIsNotTakenForAnMD5() throws {
        let client = WrongETagS3Client(inner: s3, wrongAnswers: 1, encryption: "aws:kms")
        startUploader(client: client)
        try record("take.wav", SyncedMeansTheseBytesTests.randomBytes(1000, seed: 6))
        try waitForStatus("take.wav", .synced)
        XCTAssertEqual(try storedRecord("take.wav")?.attempts, 0)
    }
}

/// Forwards to the in-memory client; the first `wrongAnswers` PutObject answers carry an ETag
/// of the right form but for other bytes.
final class WrongETagS3Client: ForwardingS3Client, @unchecked Sendable {
    private let lock = NSLock()
    private var wrongAnswers: Int
    private let encryption: String?

    init(inner: InMemoryS3Client, wrongAnswers: Int, encryption: String?) {
        self.wrongAnswers = wrongAnswers
        self.encryption = encryption
        super.init(inner: inner)
    }

    override func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                            condition: PutCondition?, progress: (@Sendable (Int64) -> Void)?,
                            shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        var result = try super.putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                                         condition: condition, progress: progress, shouldCancel: shouldCancel)
        result.serverSideEncryption = encryption
        lock.withLock {
            if wrongAnswers > 0 {
                wrongAnswers -= 1
                result.etag = String(repeating: "0", count: 32)
            }
        }
        return result
    }
}
