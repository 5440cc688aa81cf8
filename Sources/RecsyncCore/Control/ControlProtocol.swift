import FoundationEssentials

/// The control socket's protocol: one JSON request line, one JSON response line.
/// Paths are relative to the mount root ("" is the root itself).
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable {
        case info, status, syncNow, retry, `import`, verify, staleUploads, stop, queue
    }
    public var op: Operation
    public var paths: [String]?
    /// For `retry`: every failed file of the mount.
    public var allFailed: Bool?
    /// For `import`: absolute paths of files or folders outside the mount are copied into this
    /// mount-relative folder ("" = the root).
    public var destination: String?
    /// For `verify`: read every object back and compare bytes.
    public var deep: Bool?
    /// For `staleUploads`: only list, do not abort.
    public var dryRun: Bool?
    /// For `syncNow`: upload even on a connection the policy refuses (metered, mobile data).
    public var force: Bool?

    public init(op: Operation, paths: [String]? = nil, allFailed: Bool? = nil, destination: String? = nil,
                deep: Bool? = nil, dryRun: Bool? = nil, force: Bool? = nil) {
        self.op = op
        self.paths = paths
        self.allFailed = allFailed
        self.destination = destination
        self.deep = deep
        self.dryRun = dryRun
        self.force = force
    }
}

/// One file as `recsync status` shows it.
public struct FileStatus: Codable, Sendable, Equatable {
    public var path: String
    public var status: String
    public var attempts: Int
    public var priority: Int?
    public var retryAt: String?
    public var error: String?
    public var key: String?
    public var progress: String?
    /// Why an item is not uploaded at all (a FIFO, a socket, a device, a symlink).
    public var note: String?
    /// The file's size in bytes, as last queued (nil when it was never queued).
    public var size: Int64?

    /// ``progress`` (`sent/total`) as numbers; nil when there is none.
    public var progressBytes: (sent: Int64, total: Int64)? {
        guard let parts = progress?.split(separator: "/").compactMap({ Int64($0) }), parts.count == 2 else { return nil }
        return (parts[0], parts[1])
    }

    public init(path: String, status: String, attempts: Int, priority: Int? = nil, retryAt: String? = nil,
                error: String? = nil, key: String? = nil, progress: String? = nil, note: String? = nil, size: Int64? = nil) {
        self.path = path
        self.status = status
        self.attempts = attempts
        self.priority = priority
        self.retryAt = retryAt
        self.error = error
        self.key = key
        self.progress = progress
        self.note = note
        self.size = size
    }
}

public struct ControlResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    public var error: String?
    public var files: [FileStatus]?
    public var counts: [String: Int]?
    public var pendingBytes: Int64?
    public var paused: String?
    /// `status`: the whole mount (counts, bytes waiting, network, why uploads are paused).
    public var summary: SyncSummary?
    /// Files a request changed (sync-now, retry, import).
    public var changed: Int?
    /// Files an import copied into the mount.
    public var copied: Int?
    public var skipped: [String]?
    /// `verify`: one result per file.
    public var verified: [VerifyResult]?
    /// `staleUploads`: multipart uploads under our prefix that no queue item owns.
    public var staleUploads: [StaleUpload]?
    /// `stop`: files still open for writing when the grace period ended (their bytes are on
    /// disk; they are queued at the next mount).
    public var stillOpen: [String]?
    /// `stop`, `info`: the daemon's `shutdown_grace` in seconds.
    public var shutdownGrace: Int?
    public var mountpoint: String?
    public var stateDirectory: String?
    public var pid: Int32?

    public init(ok: Bool, error: String? = nil) {
        self.ok = ok
        self.error = error
    }
}

/// How a local file compares with its object.
public struct VerifyResult: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        /// The object holds the file's bytes (by checksum, or byte for byte with `--deep`).
        case ok
        /// The object or the file differs from what was uploaded.
        case differs
        /// No object under the key.
        case missing
        /// The file is not synced yet (nothing to compare).
        case notSynced
    }
    public var path: String
    public var key: String?
    public var outcome: Outcome
    public var detail: String?

    public init(path: String, key: String?, outcome: Outcome, detail: String?) {
        self.path = path
        self.key = key
        self.outcome = outcome
        self.detail = detail
    }
}

/// A multipart upload on the server that no queue item owns.
public struct StaleUpload: Codable, Sendable, Equatable {
    public var key: String
    public var uploadId: String
    public var initiated: String?
    public var aborted: Bool
}
