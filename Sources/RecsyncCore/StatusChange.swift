import FoundationEssentials
import RecsyncFS
import RecsyncStore

/// A file's sync status changed; the daemon turns these into events (log lines, hook runs).
public struct StatusChange: Sendable, Equatable {
    public var time: Date
    public var path: String
    public var key: String?
    public var status: SyncStatus
    public var previous: SyncStatus?
    public var error: String?
    public var attempts: Int
    /// Bytes confirmed by the server, for a change to `synced`.
    public var bytes: Int64?

    public init(time: Date = Date(), path: String, key: String?, status: SyncStatus, previous: SyncStatus?,
                error: String?, attempts: Int, bytes: Int64? = nil) {
        self.time = time
        self.path = path
        self.key = key
        self.status = status
        self.previous = previous
        self.error = error
        self.attempts = attempts
        self.bytes = bytes
    }
}

extension SyncEngine {
    /// Receives every status change (from upload workers and FUSE threads; must not block).
    public func setStatusHandler(_ handler: (@Sendable (StatusChange) -> Void)?) {
        statusHandler.withLock { $0 = handler.map { Callback($0) } }
    }

    func emitStatus(path: String, key: String?, status: SyncStatus, previous: SyncStatus?, error: String?,
                    attempts: Int, bytes: Int64? = nil) {
        guard let handler = statusHandler.withLock({ $0 }) else { return }
        handler(StatusChange(path: path, key: key, status: status, previous: previous, error: error,
                             attempts: attempts, bytes: bytes))
    }
}

extension SyncEvent {
    /// The event a status change is recorded as: `syncSuccess` for a change to synced,
    /// `syncFailure` when an attempt failed, `statusChange` otherwise.
    public init(_ change: StatusChange) {
        let type: Kind
        if change.status == .synced {
            type = .syncSuccess
        } else if change.status == .failed || (change.previous == .syncing && change.error != nil) {
            type = .syncFailure
        } else {
            type = .statusChange
        }
        self.init(time: change.time, type: type, path: change.path, key: change.key, status: change.status,
                  previous: change.previous, error: change.error, attempts: change.attempts, bytes: change.bytes)
    }
}
