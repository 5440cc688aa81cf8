// An exclusive advisory lock that makes one SyncQueue the only owner of a
// database file: `<database>.lock` held with flock(2) for the queue's lifetime.
// The lock file holds the owner's process id, for the error message only.
// It is never deleted: deleting it would let two owners lock different inodes.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSQLite3
import FoundationEssentials
import RecsyncPrimitives

final class OwnerLock {
    let path: String
    private var fd: Int32

    /// Takes the lock or throws `StoreError.inUse` naming the current owner.
    init(databasePath: String) throws {
        path = databasePath + ".lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw StoreError.cannotOpen(
                path: path, reason: reason, code: errno == ENOSPC ? SQLITE_FULL : SQLITE_CANTOPEN)
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let owner = OwnerLock.readOwner(fd)
            close(fd)
            fd = -1
            throw StoreError.inUse(path: databasePath, owner: owner)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        // The pointer from withCString is valid for the duration of the closure,
        // and pwrite() reads at most utf8.count bytes from it.
        _ = pid.withCString { pwrite(fd, $0, pid.utf8.count, 0) }
    }

    deinit { release() }

    /// Releases the lock. Idempotent.
    func release() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }

    private static func readOwner(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        // The buffer has 32 bytes and pread writes at most 31, leaving a NUL.
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
        let text = count > 0
            ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingWhitespace()
            : ""
        if let pid = Int32(text) {
            return pid == getpid() ? "another SyncQueue in this process (pid \(pid))" : "process \(pid)"
        }
        return "another process"
    }
}
