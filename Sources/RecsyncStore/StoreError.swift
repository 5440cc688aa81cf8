// Errors thrown by the upload queue. Every message says what went wrong and
// what the user can do about it.

import CSQLite3
import FoundationEssentials

/// An error from the durable upload queue.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The database file could not be opened or created.
    case cannotOpen(path: String, reason: String, code: Int32)
    /// Another process (or another `SyncQueue` in this process) already owns the database.
    case inUse(path: String, owner: String)
    /// The database was migrated by a newer version that knows migrations this one does not.
    case newerSchema(path: String, unknownMigrations: [String])
    /// SQLite refused to use write-ahead logging for this file.
    case walUnavailable(path: String, journalMode: String)
    /// A SQLite call failed.
    case sqlite(operation: String, path: String, code: Int32, message: String)
    /// A path given to the queue is not a valid mount-relative path.
    case invalidPath(String, reason: String)
    /// A rename cannot be applied to the queue.
    case invalidRename(from: String, to: String, reason: String)
    /// An S3 key given to the queue is not usable.
    case invalidKey(String, reason: String)
    /// The queue was used after `close()`.
    case closed(path: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason, code):
            return "cannot open queue database \(path): \(reason); \(Self.hint(code))"
        case let .inUse(path, owner):
            return "queue database \(path) is already in use by \(owner); "
                + "stop the other recsync instance or give this one another --state-dir"
        case let .newerSchema(path, unknown):
            return "queue database \(path) was written by a newer recsync (unknown migrations: "
                + "\(unknown.joined(separator: ", "))); upgrade recsync or use another --state-dir"
        case let .walUnavailable(path, mode):
            return "cannot enable write-ahead logging on queue database \(path) (journal mode stays '\(mode)'); "
                + "put --state-dir on a local filesystem such as ext4 or xfs"
        case let .sqlite(operation, path, code, message):
            return "cannot \(operation) in queue database \(path): \(message); \(Self.hint(code))"
        case let .invalidPath(path, reason):
            return "invalid path '\(path)' for the upload queue: \(reason); "
                + "pass a path relative to the mount root, like 'sub/take1.wav'"
        case let .invalidRename(from, to, reason):
            return "cannot rename '\(from)' to '\(to)' in the upload queue: \(reason); "
                + "this rename is also refused by the filesystem, so the caller should not apply it"
        case let .invalidKey(key, reason):
            return "invalid S3 key '\(key)': \(reason); check the key prefix settings"
        case let .closed(path):
            return "queue database \(path) is already closed; open a new SyncQueue"
        }
    }

    public var errorDescription: String? { description }

    /// SQLite could not write because the disk (or the user's quota) is full.
    public var isDiskFull: Bool {
        switch self {
        case let .sqlite(_, _, code, _), let .cannotOpen(_, _, code):
            return code & 0xFF == SQLITE_FULL
        default:
            return false
        }
    }

    /// What the user can do about a SQLite result code.
    static func hint(_ code: Int32) -> String {
        switch code & 0xff {
        case SQLITE_FULL:
            return "the disk is full; free space or choose another --state-dir"
        case SQLITE_IOERR:
            return "the disk reported an I/O error; check the disk (dmesg) or choose another --state-dir"
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return "the file is damaged or not a recsync queue; move it aside and restart, "
                + "the startup scan queues unsynced files again"
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_AUTH:
            return "check that the directory exists and is writable by this user, or choose another --state-dir"
        case SQLITE_BUSY, SQLITE_LOCKED:
            return "another process holds the database lock; stop other programs using this --state-dir"
        case SQLITE_NOMEM:
            return "the system is out of memory; free memory and retry"
        default:
            return "retry, and report a bug if it persists"
        }
    }
}
