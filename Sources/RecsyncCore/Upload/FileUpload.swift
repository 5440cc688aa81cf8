import CSysShims
import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncS3
import RecsyncStore
import Synchronization
import Glibc
import Dispatch

/// One file's upload: everything from opening the claimed file to recording the outcome in the
/// queue. `synced` is written only when the server confirmed the upload AND the file still has
/// exactly the bytes that were sent. The shortcuts that skip sending bytes (an object already
/// there, a multipart upload resumed, a rename copied on the server) each prove first that the
/// file holds those bytes (FileUpload+ServerChecks.swift, FileUpload+Multipart.swift).
///
/// A value made by the queue runner for one claimed record and run on its own thread; what it
/// shares with other uploads is in `UploadContext`.
struct FileUpload {
    let context: UploadContext
    let record: FileRecord

    var engine: SyncEngine { context.engine }
    var s3: any S3Client { context.s3 }
    var logger: Logger { context.logger }
    var policy: RetryPolicy { context.policy }
    var maxConcurrent: Int { context.maxConcurrent }
    var transferSlots: DispatchSemaphore { context.transferSlots }

    func consumeCorrection(_ path: String, corrected: Bool) -> Bool {
        context.consumeCorrection(path, corrected: corrected)
    }
}

extension FileUpload {
    /// Uploads the claimed record and records the outcome, then logs one `upload attempt` line:
    /// path, key, attempt, bytes sent, duration and the outcome (the file's status after it, and
    /// the error when there is one).
    func run() -> UploadOutcome {
        let path = record.path
        var log = logger
        log[metadataKey: "path"] = "\(path)"
        log[metadataKey: "key"] = "\(record.s3Key)"
        log[metadataKey: "attempt"] = "\(record.attempts + 1)"
        let started = ContinuousClock.now
        let progress = UploadProgress(path: path, total: record.size)
        engine.live.withLock { $0.uploads[PathKey(path)] = progress }
        defer { engine.live.withLock { _ = $0.uploads.removeValue(forKey: PathKey(path)) } }

        let outcome = attempt(log: log, progress: progress)

        let after = try? engine.queue.record(path: path)
        let elapsed = ContinuousClock.now - started
        var details: Logger.Metadata = [
            "outcome": "\(after.map { $0.generation == record.generation ? $0.status.rawValue : "queued again" } ?? "gone")",
            "bytes": "\(progress.sentByThisAttempt)",
            "duration_ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
        ]
        if let error = after?.lastError, after?.status != .synced, !error.isEmpty { details["error"] = "\(error)" }
        log.info("upload attempt", metadata: details)
        engine.reportAttempt(UploadAttemptReport(path: path, key: record.s3Key, attempt: record.attempts + 1, bytesSent: progress.sentByThisAttempt,
                                                 duration: elapsed, outcome: details["outcome"].map { "\($0)" } ?? "gone",
                                                 failureClass: progress.failureClass))
        return outcome
    }

    /// One attempt at the claimed record (see `run`).
    private func attempt(log: Logger, progress: UploadProgress) -> UploadOutcome {
        let path = record.path
        let queue = engine.queue
        let networkGeneration = engine.gate.networkGeneration

        func settle(_ body: () throws -> Void) {
            do { try body() } catch { log.error("cannot record the upload outcome", metadata: ["error": "\(error)"]) }
        }
        if engine.isBeingWritten(path) {
            settle { try queue.release(path: path, generation: record.generation) }
            return .local
        }
        let fd = Beneath.open(engine.rootFd, path, O_RDONLY | recsync_O_NOFOLLOW)
        if fd < 0 {
            let code = errno
            if code == ENOENT {
                vanished(record, log: log)
            } else if Self.transientOpenErrors.contains(code) {
                // Out of descriptors or memory, a failing disk: the file is fine, the moment is not.
                let error = S3Error(.io(errno: code, message: "cannot open the file for upload: \(String(cString: strerror(code)))"))
                return failed(record, error: error, networkGeneration: networkGeneration, log: log)
            } else {
                let message = "cannot read the file: \(String(cString: strerror(code))); check its permissions"
                progress.noteFailure("local_file")
                settle { _ = try queue.markFailed(path: path, generation: record.generation, error: message) }
                engine.emitStatus(path: path, key: record.s3Key, status: .failed, previous: .syncing, error: message,
                                  attempts: record.attempts + 1)
            }
            return .local
        }
        defer { close(fd) }
        var before = stat()
        guard fstat(fd, &before) == 0, (before.st_mode & S_IFMT) == S_IFREG else {
            let message = "not a regular file; only regular files are uploaded"
            progress.noteFailure("local_file")
            settle { _ = try queue.markFailed(path: path, generation: record.generation, error: message) }
            return .local
        }
        if engine.hasUnseenWriter(fd: fd) {
            // Open for writing where recsync cannot see it (SyncEngine+UnseenWriters.swift).
            engine.noteUnseenWriter(path: path)
            settle { try queue.release(path: path, generation: record.generation) }
            return .local
        }
        engine.emitStatus(path: path, key: record.s3Key, status: .syncing, previous: .pending, error: nil,
                          attempts: record.attempts)

        let name = NameCoding.split(path).name
        // The object may be there already: an upload cut short by a crash may have landed, and a
        // file never uploaded by this queue may have been uploaded before the queue was lost (a
        // multipart upload, which cannot be made conditional, always looks first).
        let size = Int64(before.st_size)
        let neverUploaded = record.etag == nil && record.renamedFrom == nil
        let multipart = PartPlan.usesMultipart(fileSize: size)
        if record.interrupted { abortUnrecordedUploads(log: log) }
        var lookFirst = record.interrupted
        if !lookFirst, (neverUploaded && engine.settings.lookInBucketFirst) || multipart {
            do {
                lookFirst = try queue.multipart(path: path, generation: record.generation) == nil
            } catch {
                return failed(record, error: error, networkGeneration: networkGeneration, log: log)
            }
        }
        if lookFirst {
            do {
                switch try existingObject(record, fd: fd, size: size, name: name, log: log) {
                case .same(let etag, let checksum):
                    return complete(record, etag: etag, checksum: checksum, before: before, fd: fd,
                                    progress: progress, log: log, uploaded: false)
                case .foreign where neverUploaded || multipart:
                    // Never replaced: a PutObject would be refused by its condition anyway, and
                    // a multipart upload has none.
                    rekey(record, log: log)
                    return .reachedServer
                case .foreign, .ours, .absent:
                    break
                }
            } catch {
                // The check could not be made (a timeout, a 5xx): a transient failure like any other.
                return failed(record, error: error, networkGeneration: networkGeneration, log: log)
            }
        }
        let metadata = ObjectMetadata.build(originalName: name, size: Int64(before.st_size), timestamp: record.createdAt,
                                            duration: AudioDuration.seconds(fd: fd), tags: [])
        do {
            let contentType = ContentType.forFileName(name)
            if let copied = try copyRenamed(record, fd: fd, size: size, before: before, contentType: contentType, metadata: metadata, log: log) {
                return complete(record, etag: copied.etag, checksum: copied.checksum, before: before, fd: fd,
                                progress: progress, log: log, uploaded: true)
            }
            if PartPlan.usesMultipart(fileSize: size) {
                let result = try uploadMultipart(record, fd: fd, size: size, contentType: contentType, metadata: metadata,
                                                 progress: progress, log: log)
                return complete(record, etag: result.etag, checksum: result.checksum, before: before, fd: fd,
                                progress: progress, log: log, uploaded: true)
            }
            transferSlots.wait()
            defer { transferSlots.signal() }
            // Uploads are conditional: the first one of a key expects no object, a later one the
            // version last confirmed. So an upload cut short by a crash that lands late never
            // overwrites newer bytes, and another recording's object is never overwritten blindly.
            // (A renamed file's ETag belongs to its old key; nothing is expected under the new one.)
            let expected: PutCondition = (record.renamedFrom == nil ? record.etag : nil).map { .etag($0) } ?? .noObject
            func put(_ condition: PutCondition?) throws -> PutObjectResult {
                try s3.putObject(bucket: engine.settings.bucket, key: record.s3Key, body: FileBody(fd: fd, length: size),
                                 contentType: contentType, metadata: metadata, condition: condition,
                                 progress: { sent in progress.update(sent: sent) }, shouldCancel: { progress.isCancelled })
            }
            let result: PutObjectResult
            do {
                result = try put(expected)
            } catch let error as S3Error where error.isPreconditionFailed || (expected != .noObject && error.isNoSuchKey) {
                // (Some servers answer If-Match on a missing object with 404 NoSuchKey rather than 412.)
                switch try existingObject(record, fd: fd, size: size, name: name, log: log) {
                case .same(let etag, let checksum):
                    return complete(record, etag: etag, checksum: checksum, before: before, fd: fd,
                                    progress: progress, log: log, uploaded: false)
                case .absent:
                    // Gone between the two requests: put it where nothing is.
                    result = try put(.noObject)
                case .ours:
                    result = try put(nil)
                case .foreign:
                    rekey(record, log: log)
                    return .reachedServer
                }
            }
            try Self.checkContentETag(result, fd: fd, size: size, before: before)
            Self.dropCachedPages(fd: fd, offset: 0, length: size)
            return complete(record, etag: result.etag, checksum: result.etagIsContentMD5 ? Self.singlePartChecksum(result.etag) : nil,
                            before: before, fd: fd,
                            progress: progress, log: log, uploaded: true)
        } catch {
            return failed(record, error: error, networkGeneration: networkGeneration, log: log)
        }
    }

    /// Errors of open(2) that say nothing about the file itself: retried after a backoff, counted.
    static let transientOpenErrors: Set<Int32> = [EMFILE, ENFILE, ENOMEM, EIO, ENOSPC, EAGAIN, EINTR, ENOBUFS, EBUSY]

    /// A single-part upload's ETag is the MD5 of the bytes the server stored (see
    /// `PutObjectResult.etagIsContentMD5`): one of that form that is not the MD5 of the file,
    /// which did not change meanwhile, means the server holds other bytes. That upload is not
    /// confirmed; it fails as an invalid answer and is retried.
    static func checkContentETag(_ result: PutObjectResult, fd: Int32, size: Int64, before: stat) throws {
        guard result.etagIsContentMD5, let stated = singlePartChecksum(result.etag) else { return }
        guard FileIdentity.of(fd: fd) == FileIdentity(before) else { return }  // changed: queued again anyway
        switch ContentCheck.matches(fd: fd, size: size, checksum: stated) {
        case true?:
            return
        case false?:
            throw S3Error(.invalidResponse(message: "the server answered PutObject with ETag \(result.etag), which is not the MD5 of the bytes sent; the upload is not confirmed"),
                          operation: "PutObject")
        case nil:
            throw S3Error(.io(errno: EIO, message: "cannot read the file back to check the server's ETag; the upload is not confirmed"),
                          operation: "PutObject")
        }
    }

    /// A single-part upload's ETag is the MD5 of its bytes.
    static func singlePartChecksum(_ etag: String) -> String? {
        let plain = etag.unquotedETag().lowercased()
        return plain.count == 32 && plain.allSatisfy(\.isHexDigit) ? "md5:" + plain : nil
    }

    private func complete(_ record: FileRecord, etag: String, checksum: String?, before: stat, fd: Int32,
                          progress: UploadProgress, log: Logger, uploaded: Bool) -> UploadOutcome {
        let path = record.path
        let start = FileIdentity(before)
        let now = FileIdentity.of(fd: fd)
        var unchanged = now == start
        if !unchanged, let now, now.sameSizeAndMtime(as: start), ContentCheck.matches(fd: fd, size: now.size, checksum: checksum) == true {
            // Only ctime moved (a chmod, a rename, times set to what they were): the bytes are
            // the ones the server confirmed, as the hash shows. No new upload for that.
            log.debug("the file's ctime moved during the upload; its content is unchanged (hashed again)")
            unchanged = true
        }
        var unseenWriter = false
        if unchanged, engine.hasUnseenWriter(fd: fd) {
            // A writer recsync cannot see may change it at any moment: not synced yet.
            engine.noteUnseenWriter(path: path)
            unchanged = false
            unseenWriter = true
        }
        if !unchanged || progress.isCancelled || engine.isBeingWritten(path) {
            if unseenWriter {
                log.info("a program still has the file open for writing; it will be uploaded again once that program closes it")
            } else {
                log.info("file changed during upload; it will be uploaded again")
            }
            do { try engine.queue.release(path: path, generation: record.generation) } catch {
                log.error("cannot record the upload outcome", metadata: ["error": "\(error)"])
            }
            return .reachedServer
        }
        _ = consumeCorrection(path, corrected: false)
        var applied = false
        do {
            let confirmed = now ?? start
            applied = try engine.queue.markSynced(path: path, generation: record.generation, etag: etag,
                                                  size: confirmed.size, mtimeNs: confirmed.mtimeNs,
                                                  ctimeNs: confirmed.ctimeNs, inode: Int64(bitPattern: confirmed.inode))
        } catch {
            log.error("cannot record the upload outcome", metadata: ["error": "\(error)"])
        }
        if applied, let checksum {
            do { try engine.queue.setChecksum(path: path, generation: record.generation, checksum: checksum) } catch {
                log.error("cannot store the checksum", metadata: ["error": "\(error)"])
            }
        }
        if applied, engine.settings.mirrorDeletes, let old = record.renamedFrom, !NameCoding.same(old, record.s3Key) {
            // Deletes are mirrored: the object under the name the file had before goes now that
            // the new one is there.
            do { try engine.queue.queueDeletes([old]) } catch {
                log.error("cannot queue the old object for deletion", metadata: ["error": "\(error)"])
            }
        }
        if applied {
            log.info(uploaded ? "synced" : "synced: the server already held these bytes", metadata: ["bytes": "\(before.st_size)"])
            engine.emitStatus(path: path, key: record.s3Key, status: .synced, previous: .syncing, error: nil,
                              attempts: record.attempts, bytes: Int64(before.st_size))
        } else {
            log.info("uploaded an older version; the newer one is queued")
        }
        return .reachedServer
    }

    /// Records a failed attempt as the retry policy says.
    func failed(_ record: FileRecord, error reported: any Error, networkGeneration: UInt64, log: Logger) -> UploadOutcome {
        let path = record.path
        let queue = engine.queue
        let progress = reported as? PartialProgress
        let error = progress?.underlying ?? reported
        let description = (error as? S3Error)?.description ?? "\(error)"
        func settle(_ body: () throws -> Void) {
            do { try body() } catch { log.error("cannot record the upload outcome", metadata: ["error": "\(error)"]) }
        }
        var kind = RetryPolicy.classify(error)
        if kind == .permanent, let s3Error = error as? S3Error, s3Error.isSignatureMismatch, credentialsStillWork(record) {
            // A signed request without a body goes through: the keys are right, so the body's chunk
            // signatures failed because bytes were damaged on the way. Send it again.
            kind = .transient
        }
        if kind == .clockSkew || kind == .expiredCredentials, consumeCorrection(path, corrected: true) {
            kind = .transient  // corrected once already and refused again: count it
        }
        engine.live.withLock { $0.uploads[PathKey(path)] }?.noteFailure(kind.name)
        if kind == .transient || kind == .unreachable,
           engine.gate.networkGeneration != networkGeneration || engine.gate.policyPauseReason == .offline {
            // The network went away or changed under the upload: that is not the file's fault.
            // No attempt is counted and there is no backoff; the monitor resumes it.
            log.info("upload stopped by a network change; the file stays pending", metadata: ["reason": "\(description)"])
            settle { try queue.markAttemptFailed(path: path, generation: record.generation, error: description,
                                                 retryAt: nil, countAttempt: false) }
            return .local
        }
        switch kind {
        case .cancelled, .localChange:
            log.info("upload stopped; the file stays pending", metadata: ["reason": "\(description)"])
            settle { try queue.release(path: path, generation: record.generation) }
            return .local
        case .unreachable:
            settle { try queue.markAttemptFailed(path: path, generation: record.generation, error: description,
                                                 retryAt: nil, countAttempt: false) }
            return .unreachable(description)
        case .clockSkew, .expiredCredentials:
            log.notice("corrected \(kind == .clockSkew ? "the clock offset" : "the credentials"); retrying now")
            settle { try queue.markAttemptFailed(path: path, generation: record.generation, error: description,
                                                 retryAt: nil, countAttempt: false) }
            return .reachedServer
        case .permanent:
            let message = "\(description) Fix the cause, then run 'recsync retry' on the file."
            log.error("upload refused; the file is failed", metadata: ["error": "\(description)"])
            settle { try queue.abandonMultipart(path: path, generation: record.generation) }
            settle { _ = try queue.markFailed(path: path, generation: record.generation, error: message) }
            engine.emitStatus(path: path, key: record.s3Key, status: .failed, previous: .syncing, error: message,
                              attempts: record.attempts + 1)
            return .reachedServer
        case .transient where progress != nil:
            let retryAt = Date().addingTimeInterval(policy.delay(afterFailures: 1))
            log.notice("upload stopped after storing more parts; retrying without counting an attempt",
                       metadata: ["error": "\(description)", "parts_stored": "\(progress!.partsStored)"])
            settle { try queue.markAttemptFailed(path: path, generation: record.generation, error: description,
                                                 retryAt: retryAt, countAttempt: false) }
            engine.emitStatus(path: path, key: record.s3Key, status: .pending, previous: .syncing, error: description,
                              attempts: record.attempts)
            return .reachedServer
        case .transient:
            let failures = record.attempts + 1
            if policy.isExhausted(failures: failures) {
                let message = "gave up after \(failures) attempts: \(description) Fix the cause, then run 'recsync retry' on the file."
                log.error("upload failed for good", metadata: ["error": "\(description)", "attempts": "\(failures)"])
                settle { try queue.abandonMultipart(path: path, generation: record.generation) }
                settle { _ = try queue.markFailed(path: path, generation: record.generation, error: message) }
                engine.emitStatus(path: path, key: record.s3Key, status: .failed, previous: .syncing, error: message,
                                  attempts: failures)
            } else {
                let retryAt = Date().addingTimeInterval(policy.delay(afterFailures: failures))
                log.warning("upload failed; will retry", metadata: ["error": "\(description)",
                                                                    "retry_at": "\(ObjectMetadata.formatTimestamp(retryAt))"])
                settle { try queue.markAttemptFailed(path: path, generation: record.generation, error: description,
                                                     retryAt: retryAt, countAttempt: true) }
                engine.emitStatus(path: path, key: record.s3Key, status: .pending, previous: .syncing, error: description,
                                  attempts: failures)
            }
            return .reachedServer
        }
    }

    /// The key belongs to an object recsync did not write (for example from before the state
    /// folder was lost): retire it and give the file the next free key.
    func rekey(_ record: FileRecord, log: Logger) {
        log.warning("an object recsync did not write already uses this key; the file gets the next free key")
        do {
            try engine.queue.retireKeyAndRequeue(path: record.path, generation: record.generation)
        } catch {
            log.error("cannot give the file a new key", metadata: ["error": "\(error)"])
        }
        engine.wake()
    }

    /// Whether a bodiless signed request with the current credentials is accepted.
    func credentialsStillWork(_ record: FileRecord) -> Bool {
        do {
            _ = try s3.headObject(bucket: engine.settings.bucket, key: record.s3Key)
            return true
        } catch {
            return false
        }
    }

    /// The file was not there when its upload started. A rename or delete may be under way:
    /// decide once it has reached the queue.
    private func vanished(_ record: FileRecord, log: Logger) {
        engine.namespaceLock.lock()
        defer { engine.namespaceLock.unlock() }
        var st = stat()
        let stillMissing = Beneath.stat(engine.rootFd, record.path, &st) != 0
        do {
            guard let current = try engine.queue.record(path: record.path), current.generation == record.generation else { return }
            if stillMissing {
                log.notice("file vanished before upload; dropping it from the queue")
                _ = try engine.queue.remove(path: record.path)
            } else {
                try engine.queue.release(path: record.path, generation: record.generation)
            }
        } catch {
            log.error("cannot record the upload outcome", metadata: ["error": "\(error)"])
        }
    }

    /// A crash between CreateMultipartUpload and the queue recording its id leaves an upload that
    /// nothing would ever abort. Uploads under exactly this file's key belong to this file (the
    /// queue reserves keys), so after a crash the ones the queue does not own are aborted here.
    /// Best effort: a failure leaves them for `recsync doctor --stale-uploads`.
    func abortUnrecordedUploads(log: Logger) {
        let bucket = engine.settings.bucket
        do {
            let owned = try engine.queue.ownedUploadIds()
            // Listed without a prefix and filtered here: some servers (moto) mis-verify the
            // signature of a listing whose prefix holds a `/`, and every key here holds one.
            // Uploads in progress are few, so the whole list is short.
            for upload in try s3.listMultipartUploads(bucket: bucket, prefix: "")
            where NameCoding.same(upload.key, record.s3Key) && !owned.contains(upload.uploadId) {
                try s3.abortMultipartUpload(bucket: bucket, key: upload.key, uploadId: upload.uploadId)
                log.notice("aborted a multipart upload a crash left unrecorded")
            }
        } catch {
            log.debug("could not look for unrecorded multipart uploads", metadata: ["error": "\(error)"])
        }
    }
}
