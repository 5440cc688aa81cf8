import CSysShims
import FoundationEssentials
import RecsyncPrimitives
import Glibc

/// Keeps `recsync.log` from growing without bound while the daemon runs for weeks: once it is
/// larger than `limit`, it becomes `recsync.log.1` (replacing the previous one) and a new log is
/// opened in its place, onto standard output and standard error, where the daemon writes.
/// Only when standard error is that very file (a daemon started by `recsync mount`); a
/// `--foreground` run logging to a terminal is left alone.
struct LogRotation {
    let path: String
    let limit: Int64
    static let defaultLimit: Int64 = 16 << 20

    /// Starts a thread that checks the size every `interval` seconds, for the process's life.
    func start(interval: TimeInterval = 5) {
        guard Self.standardErrorIs(path) else { return }
        let thread = WorkerThread { [self] in
            while true {
                WorkerThread.sleep(forTimeInterval: interval)
                rotateIfNeeded()
            }
        }
        thread.name = "recsync-log-rotation"
        thread.start()
    }

    /// Rotates when the log is over the limit; returns whether it did.
    @discardableResult
    func rotateIfNeeded() -> Bool {
        var st = stat()
        guard fstat(2, &st) == 0, Int64(st.st_size) > limit, Self.standardErrorIs(path) else { return false }
        guard rename(path, path + ".1") == 0 else { return false }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | recsync_O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return false }  // keeps writing to the renamed file: nothing is lost
        dup2(fd, 1)
        dup2(fd, 2)
        close(fd)
        return true
    }

    /// Whether standard error is the file at `path` (same device and inode).
    static func standardErrorIs(_ path: String) -> Bool {
        var err = stat(), file = stat()
        return fstat(2, &err) == 0 && lstat(path, &file) == 0 && err.st_dev == file.st_dev && err.st_ino == file.st_ino
    }
}
