import CSysShims
import FoundationEssentials
import RecsyncFS
import Glibc

/// Paths inside the backing folder are opened beneath its root without following a symbolic
/// link anywhere on the way (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): a link planted
/// in a folder can never lead recsync, often root, to a file outside it (docs/THREAT_MODEL.md).
/// Names are bytes (`NameCoding`). Each call returns what the system call does, errno set.
enum Beneath {
    static func open(_ rootFd: Int32, _ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        NameCoding.withCString(path.isEmpty ? "." : path) { recsync_open_beneath(rootFd, $0, flags, UInt32(mode)) }
    }

    static func stat(_ rootFd: Int32, _ path: String, _ st: inout Glibc.stat) -> Int32 {
        NameCoding.withCString(path) { recsync_stat_beneath(rootFd, $0, &st) }
    }

    /// mkdir of the last component, in its folder opened beneath the root.
    static func mkdir(_ rootFd: Int32, _ path: String, _ mode: mode_t) -> Int32 {
        let (folder, name) = NameCoding.split(path)
        let parent = open(rootFd, folder, recsync_O_PATH | recsync_O_DIRECTORY)
        guard parent >= 0 else { return -1 }
        defer { close(parent) }
        return NameCoding.withCString(name) { mkdirat(parent, $0, mode) }
    }

    /// The `stat` of a file beneath the root and, with `birth`, its birth time when the
    /// filesystem records it, through one open (a file new to the queue is named by its birth
    /// time); nil when it cannot be opened.
    static func stat(_ rootFd: Int32, _ path: String, birth: Bool) -> (stat: Glibc.stat, born: Date?)? {
        let fd = open(rootFd, path, recsync_O_PATH | recsync_O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = Glibc.stat()
        guard fstatat(fd, "", &st, recsync_AT_EMPTY_PATH | recsync_AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return (st, birth ? birthTime(fd) : nil)
    }

    /// The birth time of the file open as `fd`, when the filesystem records it.
    private static func birthTime(_ fd: Int32) -> Date? {
        var seconds: Int64 = 0
        var nanoseconds: UInt32 = 0
        guard recsync_birth_time(fd, "", recsync_AT_EMPTY_PATH | recsync_AT_SYMLINK_NOFOLLOW, &seconds, &nanoseconds) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9)
    }
}
