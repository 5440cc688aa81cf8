import FoundationEssentials
import Synchronization

/// One upload in flight: how far it got, and whether it should stop.
/// Safe to share: every field is behind the mutex.
public final class UploadProgress: Sendable {
    public let path: String
    public let total: Int64
    private let state = Mutex<(sent: Int64, cancelled: Bool)>((0, false))

    init(path: String, total: Int64) {
        self.path = path
        self.total = total
    }

    public var sent: Int64 { state.withLock { $0.sent } }
    public var isCancelled: Bool { state.withLock { $0.cancelled } }
    func update(sent: Int64) { state.withLock { $0.sent = sent } }
    func cancel() { state.withLock { $0.cancelled = true } }

    /// Bytes of parts stored by earlier attempts when this one resumed a multipart upload: they
    /// count in ``sent`` (the progress a user sees) but were not sent by this attempt.
    private let resumedBytes = Mutex<Int64>(0)
    var resumed: Int64 { resumedBytes.withLock { $0 } }
    func noteResumed(_ bytes: Int64) { resumedBytes.withLock { $0 = bytes } }
    /// What this attempt itself sent.
    var sentByThisAttempt: Int64 { max(0, sent - resumed) }

    /// Why the attempt failed, for metrics (``UploadAttemptReport/failureClass``).
    private let failure = Mutex<String?>(nil)
    var failureClass: String? { failure.withLock { $0 } }
    func noteFailure(_ name: String) { failure.withLock { $0 = name } }
}
