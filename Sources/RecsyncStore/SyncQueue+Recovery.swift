// Opening the queue when its file was lost or damaged while recsync was stopped.
// Lock rule: runs before anyone else holds the queue; `open` is the only entry point.

import CSQLite3
import FoundationEssentials
import Glibc

/// What `SyncQueue.openRecovering` had to do to open the queue.
public enum QueueRecovery: Sendable, Equatable, CustomStringConvertible {
    /// The database file was not there: a new, empty queue was made.
    case created
    /// The file could not be read as a queue database; it was moved aside to `movedTo` (never
    /// deleted) and a new, empty queue was made.
    case replacedDamaged(reason: String, movedTo: String)

    public var description: String {
        switch self {
        case .created:
            return "no queue database was found, so a new one was made; every file in the folder is checked against the bucket"
        case let .replacedDamaged(reason, movedTo):
            return "the queue database was damaged (\(reason)); it was moved to \(movedTo) and a new one was made; "
                + "every file in the folder is checked against the bucket, and files already there are not uploaded again"
        }
    }
}

extension SyncQueue {
    /// Opens the queue at `databasePath`. A file that is not a usable SQLite database, or fails
    /// SQLite's `quick_check`, is moved aside (with its `-wal` and `-shm` files) to
    /// `databasePath.damaged-TIMESTAMP` and a new queue is made in its place. Any other failure
    /// (the disk, permissions, another owner, a newer schema) is thrown as it is: those are not
    /// damage, and moving the file would lose a good queue.
    /// - Returns: the queue, and what was done to open it (nil: nothing special).
    public static func openRecovering(databasePath: String, now: @escaping @Sendable () -> Date = { Date() })
        throws -> (SyncQueue, QueueRecovery?) {
        let existed = FileManager.default.fileExists(atPath: databasePath)
        do {
            let queue = try SyncQueue(databasePath: databasePath, now: now)
            if let problem = try queue.integrityProblem() {
                queue.close()
                return try replaceDamaged(databasePath: databasePath, reason: problem, now: now)
            }
            queue.reserveSpace()
            return (queue, existed ? nil : .created)
        } catch let error as StoreError {
            guard let reason = damage(error) else { throw error }
            return try replaceDamaged(databasePath: databasePath, reason: reason, now: now)
        }
    }

    /// `PRAGMA quick_check`: nil when the file is sound, else SQLite's first complaint.
    func integrityProblem() throws -> String? {
        do {
            let answer = try locked {
                try db.query("PRAGMA quick_check", operation: "check the queue database") { $0.text(0) }
            }
            return answer == ["ok"] ? nil : (answer.first ?? "quick_check gave no answer")
        } catch let error as StoreError {
            if let reason = Self.damage(error) { return reason }
            throw error
        }
    }

    /// Why an error means the file is damaged (not a database, corrupt, or its schema is not
    /// ours), or nil when it means something else.
    static func damage(_ error: StoreError) -> String? {
        switch error {
        case let .sqlite(_, _, code, message), let .cannotOpen(_, message, code):
            let primary = code & 0xFF
            return primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT || primary == SQLITE_FORMAT ? message : nil
        default:
            return nil
        }
    }

    private static func replaceDamaged(databasePath: String, reason: String, now: @escaping @Sendable () -> Date)
        throws -> (SyncQueue, QueueRecovery?) {
        let stamp = Int(now().timeIntervalSince1970)
        let aside = "\(databasePath).damaged-\(stamp)"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: databasePath + suffix) {
            guard Glibc.rename(databasePath + suffix, aside + suffix) == 0 else {
                throw StoreError.cannotOpen(path: databasePath,
                                            reason: "it is damaged (\(reason)) and could not be moved aside: \(String(cString: strerror(errno)))",
                                            code: SQLITE_CORRUPT)
            }
        }
        let queue = try SyncQueue(databasePath: databasePath, now: now)
        queue.reserveSpace()
        return (queue, .replacedDamaged(reason: reason, movedTo: aside))
    }
}
