import CSysShims
import FoundationEssentials
import Glibc

/// Thin wrappers over the system calls the passthrough core uses. Each one either returns
/// its result or throws an `FSError` carrying the errno, so callers never read `errno` themselves.
enum Sys {
    static let oPath = recsync_O_PATH
    static let oNoFollow = recsync_O_NOFOLLOW
    static let oDirectory = recsync_O_DIRECTORY
    static let atEmptyPath = recsync_AT_EMPTY_PATH
    static let atSymlinkNoFollow = recsync_AT_SYMLINK_NOFOLLOW

    /// Retries a call interrupted by a signal, then throws on failure.
    @inline(__always)
    static func check(_ operation: String, _ subject: @autoclosure () -> String = "", _ body: () -> Int32) throws -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw FSError.fromErrno(operation, subject(), errnoValue: code)
        }
    }

    static func openat(_ dirfd: Int32, _ name: String, _ flags: Int32, _ mode: mode_t = 0) throws -> Int32 {
        try check("open", name) { NameCoding.withCString(name) { Glibc.openat(dirfd, $0, flags | O_CLOEXEC, mode) } }
    }

    static func fstat(_ fd: Int32) throws -> stat {
        var st = stat()
        _ = try check("stat") { Glibc.fstatat(fd, "", &st, atEmptyPath | atSymlinkNoFollow) }
        return st
    }

    static func fstatat(_ dirfd: Int32, _ name: String) throws -> stat {
        var st = stat()
        _ = try check("stat", name) { NameCoding.withCString(name) { Glibc.fstatat(dirfd, $0, &st, atSymlinkNoFollow) } }
        return st
    }

    /// Creating calls apply exactly the mode the kernel sent: it has applied the caller's umask
    /// already, so the daemon's own must not take more bits away (a 0620 file stays 0620).
    /// The umask is 0 only during `body`: threads this one starts later (libdispatch's pool, a
    /// hook program) keep the usual one.
    static func withModesAsGiven<T>(_ body: () throws -> T) rethrows -> T {
        let old = recsync_thread_umask_zero()
        defer { if old != mode_t.max { umask(old) } }
        return try body()
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// The path of an fd as the kernel names it (`/proc/self/fd/N`), used for calls that
    /// have no fd-relative form when the fd was opened with O_PATH (xattrs, chmod of O_PATH fds).
    static func procPath(_ fd: Int32) -> String { "/proc/self/fd/\(fd)" }

    /// The target of a link in text form (`NameCoding`): its bytes, whatever they are.
    static func readlink(_ path: String) throws -> String {
        try readlinkat(AT_FDCWD, path)
    }

    static func readlinkat(_ dirfd: Int32, _ name: String) throws -> String {
        try withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(PATH_MAX) + 1) { buffer in
            // Safe: readlinkat writes at most count - 1 bytes into the buffer, which lives for this closure.
            let count = NameCoding.withCString(name) { Glibc.readlinkat(dirfd, $0, buffer.baseAddress!, buffer.count - 1) }
            if count < 0 { throw FSError.fromErrno("readlink", name) }
            return NameCoding.text(UnsafeRawBufferPointer(start: buffer.baseAddress!, count: count))
        }
    }

    /// `/proc/self/fd` of this process, opened once (-1 if it cannot be): the target of one of
    /// its descriptors is then one name away (`readlinkat(dir, "N")`) rather than a walk of
    /// `/proc/self/fd/N` from the root, which cost a status read a fifth of its time.
    private static let descriptorDirectory: Int32 = Glibc.open("/proc/self/fd", oPath | oDirectory | O_CLOEXEC)

    /// Where descriptor `fd` leads, as the kernel names it (`readlink /proc/self/fd/N`).
    static func descriptorTarget(_ fd: Int32) throws -> String {
        descriptorDirectory >= 0 ? try readlinkat(descriptorDirectory, String(fd)) : try readlink(procPath(fd))
    }

    /// Calls a system call with a name in text form turned back into its bytes.
    static func named(_ operation: String, _ name: String, _ body: (UnsafePointer<CChar>) -> Int32) throws -> Int32 {
        try check(operation, NameCoding.display(name)) { NameCoding.withCString(name, body) }
    }
}

extension stat {
    var isDirectory: Bool { (st_mode & S_IFMT) == S_IFDIR }
    var isRegular: Bool { (st_mode & S_IFMT) == S_IFREG }
    var isSymlink: Bool { (st_mode & S_IFMT) == S_IFLNK }
    /// Modification time in nanoseconds since the epoch.
    public var mtimeNanoseconds: Int64 { Int64(st_mtim.tv_sec) * 1_000_000_000 + Int64(st_mtim.tv_nsec) }
    /// Status-change time in nanoseconds since the epoch.
    public var ctimeNanoseconds: Int64 { Int64(st_ctim.tv_sec) * 1_000_000_000 + Int64(st_ctim.tv_nsec) }
}
