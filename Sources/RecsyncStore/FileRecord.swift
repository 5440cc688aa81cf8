// The record types of the upload queue: a file's sync status, its upload
// priority, and the queue record itself.

import FoundationEssentials

/// Where a file stands with respect to the bucket. Exposed as `user.sync.status`.
public enum SyncStatus: String, Sendable, CaseIterable {
    /// Not queued: the file has no record (or was never closed after a write).
    case local
    /// Waiting for an upload worker (possibly until `nextAttemptAt`).
    case pending
    /// Claimed by an upload worker.
    case syncing
    /// The server confirmed the upload of this generation.
    case synced
    /// The upload failed permanently; enqueue the file again to retry.
    case failed
}

/// How urgently a file should be uploaded. Higher values are claimed first.
public enum Priority: Int, Sendable, Comparable {
    case cleanup = 1
    case low = 3
    case normal = 5
    case high = 8
    case critical = 10

    public static func < (lhs: Priority, rhs: Priority) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

/// The queue's record of one file in the mount.
public struct FileRecord: Sendable, Equatable {
    /// Path relative to the mount root, without a leading slash: `"sub/take1.wav"`.
    public var path: String
    /// Current sync status.
    public var status: SyncStatus
    /// Upload priority (a `Priority` raw value); higher is claimed first.
    public var priority: Int
    /// Bumped by every enqueue. A worker's result applies only to the generation it claimed.
    public var generation: Int64
    /// The object key reserved for this file; unique among records and never a retired key.
    public var s3Key: String
    /// Failed attempts counted since the last enqueue.
    public var attempts: Int
    /// When a pending item becomes claimable again; nil means now.
    public var nextAttemptAt: Date?
    /// The last upload error, if any.
    public var lastError: String?
    /// The ETag the server returned for the last confirmed upload.
    public var etag: String?
    /// When the server last confirmed an upload.
    public var syncedAt: Date?
    /// File size the server confirmed.
    public var syncedSize: Int64?
    /// File modification time (ns since the Unix epoch) the server confirmed.
    public var syncedMtimeNs: Int64?
    /// File size at the last enqueue.
    public var size: Int64
    /// File modification time (ns since the Unix epoch) at the last enqueue.
    public var mtimeNs: Int64
    /// The recording's timestamp, used in keys and metadata. Set by the first enqueue.
    public var createdAt: Date
    /// Orders items within a priority: oldest first.
    public var enqueuedAt: Date
    /// An upload of this record was cut short by a crash or kill: the object may already hold
    /// these bytes, so the next attempt checks the server first.
    public var interrupted: Bool
    /// The key this file's object had before a rename (with that object's ETag), until the file
    /// is synced under its new key: the object may be copied on the server instead of uploaded,
    /// and is deleted afterwards when deletes are mirrored.
    public var renamedFrom: String?
    public var renamedFromETag: String?
    /// The rest of the identity of the file the server confirmed: its ctime (ns since the Unix
    /// epoch) and inode number. Nil for files synced by versions that did not record them.
    public var syncedCtimeNs: Int64?
    public var syncedInode: Int64?

    public init(
        path: String, status: SyncStatus, priority: Int, generation: Int64, s3Key: String,
        attempts: Int = 0, nextAttemptAt: Date? = nil, lastError: String? = nil,
        etag: String? = nil, syncedAt: Date? = nil, syncedSize: Int64? = nil, syncedMtimeNs: Int64? = nil,
        size: Int64, mtimeNs: Int64, createdAt: Date, enqueuedAt: Date, interrupted: Bool = false,
        renamedFrom: String? = nil, renamedFromETag: String? = nil, syncedCtimeNs: Int64? = nil, syncedInode: Int64? = nil
    ) {
        self.path = path
        self.status = status
        self.priority = priority
        self.generation = generation
        self.s3Key = s3Key
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.etag = etag
        self.syncedAt = syncedAt
        self.syncedSize = syncedSize
        self.syncedMtimeNs = syncedMtimeNs
        self.size = size
        self.mtimeNs = mtimeNs
        self.createdAt = createdAt
        self.enqueuedAt = enqueuedAt
        self.interrupted = interrupted
        self.renamedFrom = renamedFrom
        self.renamedFromETag = renamedFromETag
        self.syncedCtimeNs = syncedCtimeNs
        self.syncedInode = syncedInode
    }

    /// Whether an object was ever stored under `s3Key` for this record.
    /// Such a key is retired, never reused, when the record goes away or changes key.
    public var wasEverUploaded: Bool { etag != nil || syncedAt != nil }
}
