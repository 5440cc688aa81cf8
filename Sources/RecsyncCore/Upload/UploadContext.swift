import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncS3
import Synchronization
import Dispatch

/// What every file's upload shares with the others and with the queue runner.
///
/// Locking: `trustedUploads` and `corrected` are mutexes of their own; `transferSlots` is a
/// semaphore; everything else is immutable.
final class UploadContext: Sendable {
    let engine: SyncEngine
    let s3: any S3Client
    let policy: RetryPolicy
    let logger: Logger
    let maxConcurrent: Int
    /// One per transfer (a PutObject or an UploadPart): all files together never run more than
    /// `max_concurrent_uploads` transfers at once.
    let transferSlots: DispatchSemaphore
    /// Multipart uploads begun or checked by this process, with the identity their file had then:
    /// their stored parts are trusted while the file keeps that identity. Any other stored upload
    /// (begun before a restart, or a file changed since) has its parts hashed again before reuse.
    let trustedUploads = Mutex<[String: FileIdentity]>([:])
    /// Paths whose last failure was corrected on the spot (clock, credentials): a second one in
    /// a row is counted, so a server that keeps refusing cannot make us loop.
    private let corrected = Mutex<Set<PathKey>>([])

    init(engine: SyncEngine, s3: any S3Client, policy: RetryPolicy, logger: Logger) {
        self.engine = engine
        self.s3 = s3
        self.policy = policy
        self.logger = logger
        maxConcurrent = max(1, engine.settings.maxConcurrentUploads)
        transferSlots = DispatchSemaphore(value: maxConcurrent)
    }

    /// Whether the last failure of `path` was a correction (clock, credentials); records it.
    func consumeCorrection(_ path: String, corrected wasCorrected: Bool) -> Bool {
        corrected.withLock { paths in
            if wasCorrected { return !paths.insert(PathKey(path)).inserted }
            paths.remove(PathKey(path))
            return false
        }
    }
}
