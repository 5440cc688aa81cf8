import CSysShims
import Foundation
import Logging
import RecsyncS3
import RecsyncStore

extension Uploader {
    /// Uploads one claimed item and records the outcome. `synced` is written only when the server
    /// confirmed the upload AND the file still has exactly the bytes that were sent.
    func upload(_ record: FileRecord) {
        let path = record.path
        var log = logger
        log[metadataKey: "path"] = "\(path)"
        log[metadataKey: "key"] = "\(record.s3Key)"
        log[metadataKey: "attempt"] = "\(record.attempts + 1)"
        let queue = engine.queue

        let progress = UploadProgress(path: path, total: record.size)
        engine.live.withLock { $0.uploads[path] = progress }
        defer { engine.live.withLock { _ = $0.uploads.removeValue(forKey: path) } }

        func settle(_ body: () throws -> Void) {
            do { try body() } catch { log.error("cannot record the upload outcome", metadata: ["error": "\(error)"]) }
        }
        if engine.isBeingWritten(path) {
            settle { try queue.release(path: path, generation: record.generation) }
            return
        }
        let fd = openat(engine.rootFd, path, O_RDONLY | O_CLOEXEC | recsync_O_NOFOLLOW)
        if fd < 0 {
            let code = errno
            if code == ENOENT {
                // A rename or delete may be under way: decide once it has reached the queue.
                engine.namespaceLock.lock()
                defer { engine.namespaceLock.unlock() }
                var st = stat()
                let stillMissing = fstatat(engine.rootFd, path, &st, recsync_AT_SYMLINK_NOFOLLOW) != 0
                settle {
                    guard let current = try queue.record(path: path), current.generation == record.generation else { return }
                    if stillMissing {
                        log.notice("file vanished before upload; dropping it from the queue")
                        _ = try queue.remove(path: path)
                    } else {
                        try queue.release(path: path, generation: record.generation)
                    }
                }
            } else {
                let message = "cannot read the file: \(String(cString: strerror(code)))"
                settle { try queue.markAttemptFailed(path: path, generation: record.generation, error: message,
                                                     retryAt: Date().addingTimeInterval(Backoff.delay(afterAttempts: record.attempts)),
                                                     countAttempt: true) }
            }
            return
        }
        defer { close(fd) }
        var before = stat()
        guard fstat(fd, &before) == 0, (before.st_mode & S_IFMT) == S_IFREG else {
            settle { try queue.markFailed(path: path, generation: record.generation, error: "not a regular file; only regular files are uploaded") }
            return
        }
        let name = (path as NSString).lastPathComponent
        let metadata = ObjectMetadata.build(originalName: name, size: Int64(before.st_size), timestamp: record.createdAt,
                                            duration: AudioDuration.seconds(fd: fd), tags: [])
        let started = Date()
        do {
            let result = try s3.putObject(
                bucket: engine.settings.bucket, key: record.s3Key,
                body: FileBody(fd: fd, length: Int64(before.st_size)),
                contentType: ContentType.forFileName(name), metadata: metadata,
                progress: { sent in progress.update(sent: sent) },
                shouldCancel: { progress.isCancelled })
            var after = stat()
            let unchanged = fstat(fd, &after) == 0 && after.st_size == before.st_size
                && after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec
                && after.st_ctim.tv_sec == before.st_ctim.tv_sec && after.st_ctim.tv_nsec == before.st_ctim.tv_nsec
            if !unchanged || progress.isCancelled || engine.isBeingWritten(path) {
                log.info("file changed during upload; it will be uploaded again")
                settle { try queue.release(path: path, generation: record.generation) }
                return
            }
            var applied = false
            settle {
                applied = try queue.markSynced(path: path, generation: record.generation, etag: result.etag,
                                               size: Int64(before.st_size), mtimeNs: before.mtimeNanoseconds)
            }
            let elapsed = Date().timeIntervalSince(started)
            if applied {
                log.info("synced", metadata: ["bytes": "\(before.st_size)", "seconds": "\(String(format: "%.3f", elapsed))"])
            } else {
                log.info("uploaded an older version; the newer one is queued")
            }
        } catch let error as S3Error {
            if case .cancelled = error.kind {
                log.info("upload cancelled; the file stays pending")
                settle { try queue.release(path: path, generation: record.generation) }
                return
            }
            // An endpoint that cannot be reached at all does not spend an attempt: recordings
            // made offline must not end up failed.
            let counts = !error.endpointUnreachable
            let attempts = record.attempts + (counts ? 1 : 0)
            let retryAt = Date().addingTimeInterval(Backoff.delay(afterAttempts: max(attempts - 1, 0)))
            log.warning("upload failed; will retry", metadata: ["error": "\(error)", "retry_at": "\(ObjectMetadata.formatTimestamp(retryAt))"])
            settle { try queue.markAttemptFailed(path: path, generation: record.generation, error: error.description,
                                                 retryAt: retryAt, countAttempt: counts) }
        } catch {
            log.warning("upload failed; will retry", metadata: ["error": "\(error)"])
            settle { try queue.markAttemptFailed(path: path, generation: record.generation, error: "\(error)",
                                                 retryAt: Date().addingTimeInterval(Backoff.delay(afterAttempts: record.attempts)),
                                                 countAttempt: true) }
        }
    }
}
