import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncS3
import RecsyncStore
import RecsyncPrimitives
import Glibc
import Dispatch

extension FileUpload {
    /// Uploads a large file as a multipart upload that resumes: the UploadId and every completed
    /// part are stored in the queue as they complete; after a crash, a reboot or a retry, ListParts
    /// confirms what the server has and only the missing parts are sent. Returns the final ETag
    /// and the composite checksum of the parts.
    func uploadMultipart(_ record: FileRecord, fd: Int32, size: Int64, contentType: String, metadata: [String: String],
                         progress: UploadProgress, log: Logger) throws -> (etag: String, checksum: String?) {
        let plan = PartPlan(fileSize: size, chunkSize: Int64(engine.settings.chunkSize))
        let bucket = engine.settings.bucket
        let queue = engine.queue
        let identity = FileIdentity.of(fd: fd)
        if let stored = try queue.multipart(path: record.path, generation: record.generation),
           stored.partSize == plan.partSize, stored.parts.count == plan.partCount,
           let expected = FileDigest.multipartETag(partETags: stored.parts.map(\.etag)),
           let info = try s3.headObject(bucket: bucket, key: record.s3Key), info.size == size,
           info.etag.unquotedETag().lowercased() == expected,
           try trustedParts(record, stored, identity: identity, fd: fd, log: log).count == stored.parts.count {
            // Every part was done and CompleteMultipartUpload went through before a crash, and
            // the file still holds every part's bytes.
            log.notice("the multipart upload had completed before the restart; not sending it again")
            try queue.clearMultipart(path: record.path, generation: record.generation)
            return (expected, Self.multipartChecksum(stored, etagsAreMD5: false))
        }
        var state = try resumableState(record, plan: plan, identity: identity, fd: fd, log: log)
        if state == nil {
            // The whole upload keeps the checksum it starts with: every part is sent with the
            // algorithm it declares, and the stored digests are of that kind.
            let checksum = s3.uploadChecksum(bucket: bucket, key: record.s3Key)
            let uploadId = try s3.createMultipartUpload(bucket: bucket, key: record.s3Key, contentType: contentType,
                                                        metadata: metadata, checksum: checksum)
            let partDigest = Self.partDigest(of: checksum)
            guard try queue.beginMultipart(path: record.path, generation: record.generation, uploadId: uploadId,
                                           partSize: plan.partSize, partDigest: partDigest) else {
                try? s3.abortMultipartUpload(bucket: bucket, key: record.s3Key, uploadId: uploadId)
                throw S3Error(.cancelled, operation: "CreateMultipartUpload \(record.s3Key)")
            }
            state = MultipartState(uploadId: uploadId, partSize: plan.partSize, parts: [], partDigest: partDigest)
        }
        if let state, let identity { context.trustedUploads.withLock { $0[state.uploadId] = identity } }
        guard let upload = state else { throw S3Error(.cancelled) }
        let checksum: UploadChecksum = upload.partDigest == MultipartState.crc32cPartDigest ? .crc32c : .sha256
        let transfer = PartTransfer(plan: plan, done: upload.parts, progress: progress)
        let missing = (1...plan.partCount).filter { transfer.part($0) == nil }
        // Parts go up in parallel; each takes one of the uploader's transfer slots, so all files
        // together never run more than max_concurrent_uploads transfers at once.
        let workers = min(maxConcurrent, missing.count)
        let group = DispatchGroup()
        for _ in 0..<workers {
            group.enter()
            let started = WorkerThread.detachNewThread { [self] in
                defer { group.leave() }
                while let number = transfer.nextMissing(from: missing) {
                    transferSlots.wait()
                    defer { transferSlots.signal() }
                    if transfer.stopped { return }
                    // The connection rules turned against uploading: stop here, between parts; the
                    // upload resumes from the first missing part when they allow it again.
                    guard engine.gate.admits(path: record.path, priority: record.priority) else {
                        transfer.fail(S3Error(.cancelled, operation: "UploadPart \(record.s3Key): paused (\(engine.gate.policyPauseReason?.rawValue ?? "policy"))"))
                        return
                    }
                    let range = plan.range(of: number)
                    do {
                        // A part already under way is finished when a sibling meets a transient
                        // failure or the connection rules pause uploads: the server may store it,
                        // and a part it stored but the queue never recorded would be sent again.
                        // The upload's own cancellation (a stop, going offline, the file renamed,
                        // deleted or changed) or a failure that dooms the attempt cuts it off; a
                        // stall ends it anyway.
                        let part = try s3.uploadPart(bucket: bucket, key: record.s3Key, uploadId: upload.uploadId, partNumber: number,
                                                     body: FileBody(fd: fd, length: size), offset: range.offset, length: range.length,
                                                     checksum: checksum, progress: { sent in transfer.sent(sent, part: number) },
                                                     shouldCancel: { transfer.cutOff })
                        let stored = StoredPart(partNumber: number, size: range.length, etag: part.etag, digest: part.digest)
                        guard try queue.recordPart(path: record.path, generation: record.generation, uploadId: upload.uploadId,
                                                   part: stored) else {
                            throw S3Error(.cancelled, operation: "UploadPart \(record.s3Key)")
                        }
                        transfer.completed(stored)
                        Self.dropCachedPages(fd: fd, offset: range.offset, length: range.length)
                        log.debug("part uploaded", metadata: ["part": "\(number)/\(plan.partCount)"])
                    } catch {
                        transfer.fail(error, cutOthers: RetryPolicy.classify(error) != .transient)
                        return
                    }
                }
            }
            if !started {
                // No thread for this worker: the attempt stops here and is tried again later.
                transfer.fail(S3Error(.cancelled, operation: "UploadPart \(record.s3Key): no thread could be started"))
                group.leave()
            }
        }
        group.wait()
        if let error = transfer.error {
            if let s3Error = error as? S3Error, s3Error.isNoSuchUpload {
                // The server forgot the upload while its parts went up (aborted by a lifecycle
                // rule or by hand): no refusal of the file; the next attempt starts over, and
                // this one stored nothing that lasts.
                try queue.clearMultipart(path: record.path, generation: record.generation)
                context.trustedUploads.withLock { _ = $0.removeValue(forKey: upload.uploadId) }
                throw S3Error(.invalidResponse(message: "the server forgot the multipart upload while its parts were sent; it starts over"),
                              operation: s3Error.operation)
            }
            // Parts stored in this attempt stay stored: an attempt that got further is no
            // failure to count against the limit (a flaky link must not fail a long recording).
            let stored = transfer.partsByNumber.count - upload.parts.count
            throw stored > 0 ? PartialProgress(underlying: error, partsStored: stored) : error
        }
        if progress.isCancelled { throw S3Error(.cancelled, operation: "UploadPart \(record.s3Key)") }
        let done = transfer.partsByNumber
        let parts = (1...plan.partCount).compactMap { done[$0] }
        let result: PutObjectResult
        do {
            result = try s3.completeMultipartUpload(bucket: bucket, key: record.s3Key, uploadId: upload.uploadId,
                                                    parts: parts.map { CompletedPart(partNumber: $0.partNumber, etag: $0.etag, digest: $0.digest,
                                                                                      checksum: checksum) })
        } catch let error as S3Error {
            guard error.isNoSuchUpload else { throw error }
            // The server no longer knows the upload: a Complete whose answer was lost (and was
            // sent again) may have assembled it already. The object counts only with exactly
            // these parts' ETag; otherwise the upload starts over at the next attempt, which is
            // a transient failure, not a refusal.
            try queue.clearMultipart(path: record.path, generation: record.generation)
            if let expected = FileDigest.multipartETag(partETags: parts.map(\.etag)),
               let info = try s3.headObject(bucket: bucket, key: record.s3Key), info.size == size,
               info.etag.unquotedETag().lowercased() == expected {
                log.notice("the multipart upload was completed by an earlier request whose answer was lost")
                context.trustedUploads.withLock { _ = $0.removeValue(forKey: upload.uploadId) }
                return (expected, Self.multipartChecksum(MultipartState(uploadId: upload.uploadId, partSize: plan.partSize,
                                                                        parts: parts, partDigest: upload.partDigest),
                                                         etagsAreMD5: false))
            }
            throw S3Error(.invalidResponse(message: "the server forgot the multipart upload before it was completed; it starts over"),
                          operation: error.operation)
        }
        context.trustedUploads.withLock { _ = $0.removeValue(forKey: upload.uploadId) }
        return (result.etag, Self.multipartChecksum(MultipartState(uploadId: upload.uploadId, partSize: plan.partSize,
                                                                   parts: parts, partDigest: upload.partDigest),
                                                    etagsAreMD5: result.etagIsContentMD5))
    }

    /// Drops bytes the server now holds from the page cache of the backing file (clean pages
    /// only; the kernel writes dirty ones first and keeps them). Readers of the mount have the
    /// mount's own page cache, so a recording does not sit in memory twice after its upload, and
    /// a long one does not push everything else out of the cache.
    static func dropCachedPages(fd: Int32, offset: Int64, length: Int64) {
        _ = posix_fadvise(fd, off_t(offset), off_t(length), POSIX_FADV_DONTNEED)
    }

    /// The checksum kept for a completed upload, of the kind its stored part digests are. Parts
    /// sent with a CRC-32C are kept as their ETags' multipart ETag, which proves the bytes only
    /// when the server says the ETags are MD5s (`etagsAreMD5`: no KMS or customer key); else nil,
    /// and a file with no checksum is never taken for unchanged by a hash.
    static func multipartChecksum(_ state: MultipartState, etagsAreMD5: Bool) -> String? {
        let digests = state.parts.map(\.digest)
        switch state.partDigest {
        case MultipartState.sha256PartDigest?:
            return FileDigest.compositeChecksum(partSize: state.partSize, partDigests: digests)
        case MultipartState.crc32cPartDigest?:
            return etagsAreMD5 ? ContentCheck.md5PartsChecksum(partSize: state.partSize, partETags: state.parts.map(\.etag)) : nil
        default:
            return FileDigest.treeCompositeChecksum(partSize: state.partSize, partDigests: digests)
        }
    }

    /// The `MultipartState.partDigest` of an upload whose parts carry `checksum`.
    static func partDigest(of checksum: UploadChecksum) -> String {
        checksum == .crc32c ? MultipartState.crc32cPartDigest : MultipartState.sha256PartDigest
    }

    /// Whether this version can resume an upload whose parts have digests of this kind.
    static func resumable(partDigest: String?) -> Bool {
        partDigest == MultipartState.sha256PartDigest || partDigest == MultipartState.crc32cPartDigest
    }

    /// The stored upload, checked against the server: parts the server does not confirm (same
    /// number, size and ETag) are sent again; an upload the server forgot starts over cleanly.
    private func resumableState(_ record: FileRecord, plan: PartPlan, identity: FileIdentity?, fd: Int32,
                                log: Logger) throws -> MultipartState? {
        guard var state = try engine.queue.multipart(path: record.path, generation: record.generation) else { return nil }
        guard state.partSize == plan.partSize else {
            try engine.queue.abandonMultipart(path: record.path, generation: record.generation)
            return nil
        }
        if state.partDigest == MultipartState.crc32cPartDigest {
            // Asks the server once if nobody has yet; a probe that cannot conclude now leaves
            // the upload as it began (its server took CRC-32C when it started).
            _ = s3.uploadChecksum(bucket: engine.settings.bucket, key: record.s3Key)
        }
        if state.partDigest == MultipartState.crc32cPartDigest, let decided = s3.decidedUploadChecksum(), decided != .crc32c {
            // Begun with CRC-32C trailers, which this server is no longer known to check
            // (upload_checksum changed, or the probe says otherwise now): start over with SHA-256.
            log.notice("a multipart upload begun with CRC32C checksums is started over with SHA-256")
            try engine.queue.abandonMultipart(path: record.path, generation: record.generation)
            return nil
        }
        guard Self.resumable(partDigest: state.partDigest) else {
            // Begun by an older version: no checksum algorithm declared and tree digests stored,
            // which the parts sent now could not be mixed with. Start over; the old one is aborted.
            log.notice("a multipart upload begun by an older version is started over")
            try engine.queue.abandonMultipart(path: record.path, generation: record.generation)
            return nil
        }
        do {
            let listed = try s3.listParts(bucket: engine.settings.bucket, key: record.s3Key, uploadId: state.uploadId)
            let confirmed = Dictionary(listed.map { ($0.partNumber, $0) }, uniquingKeysWith: { first, _ in first })
            state.parts = state.parts.filter { part in
                guard let server = confirmed[part.partNumber] else { return false }
                return server.size == part.size && server.etag.unquotedETag() == part.etag
            }
            state.parts = try trustedParts(record, state, identity: identity, fd: fd, log: log)
            log.info("resuming a multipart upload", metadata: ["parts_done": "\(state.parts.count)/\(plan.partCount)"])
            return state
        } catch let error as S3Error {
            if error.isNoSuchUpload {
                log.notice("the server no longer knows the multipart upload; starting over")
                try engine.queue.clearMultipart(path: record.path, generation: record.generation)
                return nil
            }
            throw error
        }
    }

    /// The stored parts that may be reused: all of them when this process began or checked the
    /// upload and the file kept the identity it had then; otherwise those whose bytes in the file
    /// still have the stored digest (SHA-256 or CRC-32C) (a file rewritten in place while recsync was stopped keeps
    /// its size and may keep its mtime, but not its bytes).
    ///
    /// Parts that no longer match are forgotten in the queue before the upload is trusted, so a
    /// later attempt of this process cannot take them back from the stored list.
    func trustedParts(_ record: FileRecord, _ state: MultipartState, identity: FileIdentity?, fd: Int32,
                      log: Logger) throws -> [StoredPart] {
        if let identity, context.trustedUploads.withLock({ $0[state.uploadId] }) == identity { return state.parts }
        guard Self.resumable(partDigest: state.partDigest) else { return [] }
        let matching = ContentCheck.partsStillMatching(state.parts, partSize: state.partSize, partDigest: state.partDigest, fd: fd)
        if matching.count < state.parts.count {
            let kept = Set(matching.map(\.partNumber))
            let changed = state.parts.map(\.partNumber).filter { !kept.contains($0) }
            log.notice("stored parts no longer match the file; sending them again",
                       metadata: ["changed_parts": "\(changed.count)/\(state.parts.count)"])
            try engine.queue.forgetParts(path: record.path, generation: record.generation, uploadId: state.uploadId,
                                         partNumbers: changed)
        }
        // Trusted only if the file is still what was hashed.
        if let identity, FileIdentity.of(fd: fd) == identity { context.trustedUploads.withLock { $0[state.uploadId] = identity } }
        return matching
    }
}

/// A multipart attempt failed after storing `partsStored` more parts: a transient failure of it is
/// retried after the first backoff step and not counted.
struct PartialProgress: Error, CustomStringConvertible {
    let underlying: any Error
    let partsStored: Int
    var description: String { (underlying as? S3Error)?.description ?? "\(underlying)" }
}
