import FoundationEssentials
import RecsyncFS
import Synchronization

/// One upload attempt as it ended: what the `upload attempt` log line says, for metrics.
public struct UploadAttemptReport: Sendable, Equatable {
    public var path: String
    public var key: String
    /// 1 for the first attempt.
    public var attempt: Int
    /// Request-body bytes sent, parts resumed from an earlier attempt not counted.
    public var bytesSent: Int64
    public var duration: Duration
    /// The file's status after the attempt (`synced`, `pending`, `failed`, `local`), or
    /// `queued again` when it changed meanwhile, or `gone`.
    public var outcome: String
    /// Why the attempt failed, when it did: a ``FailureKind`` name such as `transient`,
    /// `permanent` or `unreachable`, or `local_file` when the file itself could not be read.
    public var failureClass: String?
}

extension FailureKind {
    /// A short stable name, for metrics labels.
    public var name: String {
        switch self {
        case .transient: return "transient"
        case .unreachable: return "unreachable"
        case .permanent: return "permanent"
        case .clockSkew: return "clock_skew"
        case .expiredCredentials: return "expired_credentials"
        case .cancelled: return "cancelled"
        case .localChange: return "local_change"
        }
    }
}

extension SyncEngine {
    /// Receives every upload attempt as it ends (the daemon's metrics); nil: none.
    public func setAttemptObserver(_ observer: (@Sendable (UploadAttemptReport) -> Void)?) {
        attemptObserver.withLock { $0 = observer.map { Callback($0) } }
    }

    func reportAttempt(_ report: UploadAttemptReport) {
        attemptObserver.withLock { $0 }?(report)
    }
}

extension SyncEngine {
    /// Files being uploaded now.
    public var uploadsInFlight: Int { live.withLock { $0.uploads.count } }
}
