import FoundationEssentials
import RecsyncFS
import RecsyncStore
import RecsyncPrimitives
import Glibc

/// The `user.sync.*` extended attributes.
///
/// | name | value |
/// |---|---|
/// | `user.sync.status` | local, pending, syncing, synced or failed |
/// | `user.sync.s3key` | the object key (once the file is queued) |
/// | `user.sync.error` | the last error, empty when there is none |
/// | `user.sync.etag` | the ETag the server returned (once synced) |
/// | `user.sync.synced_at` | when the server confirmed the upload (ISO 8601, UTC) |
/// | `user.sync.attempts` | failed attempts since the file was last queued |
/// | `user.sync.priority` | the queue priority (10 critical … 1 cleanup) |
/// | `user.sync.retry_at` | when the next attempt is due (ISO 8601), empty if none is waiting |
/// | `user.sync.progress` | bytes sent / total while uploading |
extension SyncEngine {
    public static let attributeNames = [
        "user.sync.status", "user.sync.s3key", "user.sync.error", "user.sync.etag", "user.sync.synced_at",
        "user.sync.attempts", "user.sync.priority", "user.sync.retry_at", "user.sync.progress",
    ]

    public func syncAttribute(path: String, name: String, isDirectory: Bool, caller: PassthroughFS.Caller? = nil) throws -> String? {
        if isDirectory && path.isEmpty && name == Self.summaryAttribute {
            guard Self.seesWholeMount(caller) else {
                throw FSError(EACCES, "\(name) counts every file in the mount: only its owner and root may read it")
            }
            return try summary().json
        }
        if isDirectory && path.isEmpty && name == Self.eventsAttribute, let log = eventLogPath.withLock({ $0 }) {
            guard Self.seesWholeMount(caller) else {
                throw FSError(EACCES, "\(name) names the log of every file's changes: only the mount's owner and root may read it")
            }
            return log
        }
        if isDirectory { return name == "user.sync.status" ? try folderStatus(path, caller: caller).rawValue : nil }
        return try attributeSnapshot(path: path).value(name)
    }

    /// On the mount's root folder: the path of the event log (`events.jsonl`), so that a program
    /// of the mount's owner (the file-manager extension) can watch it and learn of every status
    /// change as it is written, instead of asking each file again and again.
    public static let eventsAttribute = "user.sync.events"

    /// Whether `caller` may read figures about every file of the mount: root and the user the
    /// daemon runs as (the mount's owner). Another user of an `allow_other` mount may not.
    static func seesWholeMount(_ caller: PassthroughFS.Caller?) -> Bool {
        guard let caller else { return true }
        return caller.uid == 0 || caller.uid == geteuid()
    }

    /// Everything the attributes of one file are made from, read once.
    struct AttributeSnapshot {
        let record: FileRecord?
        let writing: Bool
        let progress: UploadProgress?
        let keyError: String?
        /// Why this file would wait now if it is pending (`paused: offline`), or nil.
        let pause: PauseReason?

        func value(_ name: String) -> String? {
            switch name {
            case "user.sync.status":
                if writing { return SyncStatus.local.rawValue }
                return (record?.status ?? .local).rawValue
            case "user.sync.s3key":
                return record?.s3Key
            case "user.sync.error":
                if !writing, record?.status == .pending, let pause { return pause.fileError }
                return keyError ?? record?.lastError ?? ""
            case "user.sync.etag":
                return record?.status == .synced ? record?.etag : nil
            case "user.sync.synced_at":
                guard record?.status == .synced, let date = record?.syncedAt else { return nil }
                return ObjectMetadata.formatTimestamp(date)
            case "user.sync.attempts":
                return record.map { String($0.attempts) }
            case "user.sync.priority":
                return record.map { String($0.priority) }
            case "user.sync.retry_at":
                guard let record else { return nil }
                guard record.status == .pending, let date = record.nextAttemptAt else { return "" }
                return ObjectMetadata.formatTimestamp(date)
            case "user.sync.progress":
                guard let record else { return nil }
                if let progress { return "\(progress.sent)/\(progress.total)" }
                return record.status == .synced ? "\(record.syncedSize ?? record.size)/\(record.syncedSize ?? record.size)" : "0/\(record.size)"
            default:
                return nil
            }
        }
    }

    func attributeSnapshot(path: String) throws -> AttributeSnapshot {
        attributeSnapshot(path: path, record: try queue.record(path: path))
    }

    /// The same, for a record already read from the queue.
    func attributeSnapshot(path: String, record: FileRecord?) -> AttributeSnapshot {
        let (writing, progress, keyError) = live.withLock { state in
            (state.writing.contains(PathKey(path)), state.uploads[PathKey(path)], state.keyErrors[PathKey(path)])
        }
        return AttributeSnapshot(record: record, writing: writing, progress: progress, keyError: keyError,
                                 pause: gate.waitReason(path: path, priority: record?.priority ?? 0))
    }

    public func syncAttributeNames(path: String, isDirectory: Bool, caller: PassthroughFS.Caller? = nil) -> [String] {
        if isDirectory {
            guard path.isEmpty && Self.seesWholeMount(caller) else { return ["user.sync.status"] }
            return ["user.sync.status", Self.summaryAttribute] + (eventLogPath.withLock { $0 } == nil ? [] : [Self.eventsAttribute])
        }
        guard let record = try? queue.record(path: path) else {
            return ["user.sync.status", "user.sync.error"]
        }
        return Self.attributeNames.filter { name in
            switch name {
            case "user.sync.etag", "user.sync.synced_at": return record.status == .synced && record.etag != nil
            default: return true
            }
        }
    }

    /// `user.sync.request` is the only writable attribute: `now` uploads the file before anything
    /// else (CRITICAL, ignoring any backoff), `retry` sends a failed file back to pending with its
    /// attempts reset. Any other value is EINVAL; any other name EPERM.
    public func setSyncAttribute(path: String, name: String, value: [UInt8]) throws {
        guard name == "user.sync.request" else {
            throw FSError(EPERM, "\(name) is maintained by recsync and cannot be set")
        }
        let request = String(decoding: value, as: UTF8.self).trimming(while: { $0.properties.isWhitespace || [.control, .format].contains($0.properties.generalCategory) })
        switch request {
        case "now": try syncNow(path: path)
        case "retry": _ = try retry(path: path)
        default:
            throw FSError(EINVAL, "user.sync.request takes 'now' or 'retry', not '\(request)'")
        }
    }

    /// Uploads the file before anything else, ignoring any backoff wait. A file still being
    /// written is queued CRITICAL when it is closed.
    public func syncNow(path: String, force: Bool = false) throws {
        if force { gate.force(path) }
        let writing = live.withLock { state -> Bool in
            let busy = state.writing.contains(PathKey(path)) || state.held.contains(PathKey(path))
            if busy { state.criticalOnClose.insert(PathKey(path)) }
            return busy
        }
        if writing { return }
        if let record = try queue.record(path: path) {
            let previous = record.status
            if let updated = try queue.requestNow(path: path), previous == .failed {
                emitStatus(path: path, key: updated.s3Key, status: .pending, previous: .failed, error: nil, attempts: 0)
            }
        } else {
            try enqueue(path: path, priority: .critical)
        }
        wake()
    }

    /// Sends a failed file back to pending with its attempts reset. Returns whether it was failed.
    public func retry(path: String) throws -> Bool {
        guard let record = try queue.record(path: path), record.status == .failed else { return false }
        guard try queue.retryFailed(path: path) else { return false }
        emitStatus(path: path, key: record.s3Key, status: .pending, previous: .failed, error: nil, attempts: 0)
        wake()
        return true
    }
}
