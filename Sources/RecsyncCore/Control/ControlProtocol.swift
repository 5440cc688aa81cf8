import Foundation

/// The control socket's protocol: one JSON request line, one JSON response line.
/// Paths are relative to the mount root ("" is the root itself).
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Operation: String, Codable, Sendable {
        case info, status, syncNow, retry, `import`
    }
    public var op: Operation
    public var paths: [String]?
    /// For `retry`: every failed file of the mount.
    public var allFailed: Bool?
    /// For `import`: absolute paths of files or folders outside the mount are copied into this
    /// mount-relative folder ("" = the root).
    public var destination: String?

    public init(op: Operation, paths: [String]? = nil, allFailed: Bool? = nil, destination: String? = nil) {
        self.op = op
        self.paths = paths
        self.allFailed = allFailed
        self.destination = destination
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
}

public struct ControlResponse: Codable, Sendable, Equatable {
    public var ok: Bool
    public var error: String?
    public var files: [FileStatus]?
    public var counts: [String: Int]?
    public var pendingBytes: Int64?
    public var paused: String?
    /// Files a request changed (sync-now, retry, import).
    public var changed: Int?
    /// Files an import copied into the mount.
    public var copied: Int?
    public var skipped: [String]?
    public var mountpoint: String?
    public var stateDirectory: String?
    public var pid: Int32?

    public init(ok: Bool, error: String? = nil) {
        self.ok = ok
        self.error = error
    }
}
