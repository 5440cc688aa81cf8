import Glibc

/// What identifies a file's content without reading it: size, modification and status-change
/// times in nanoseconds, inode and device. Any write moves mtime and ctime; a chmod, chown, rename
/// or link moves ctime alone; a file replaced by another (a rename over it) has another inode.
/// recsync trusts a shortcut that skips sending bytes only while the whole identity holds; when
/// size and mtime hold but ctime or the inode moved, the file is hashed again (`ContentCheck`).
/// It is also how a close learns whether a writer recsync could not watch (kernel passthrough)
/// changed the file: since Linux 6.13 a change right after ctime was read always moves it
/// (multigrain timestamps), so a write is never missed.
public struct FileIdentity: Sendable, Equatable {
    public var size: Int64
    public var mtimeNs: Int64
    public var ctimeNs: Int64
    public var inode: UInt64
    public var device: UInt64

    public init(_ st: stat) {
        size = Int64(st.st_size)
        mtimeNs = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        ctimeNs = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
        inode = UInt64(st.st_ino)
        device = UInt64(st.st_dev)
    }

    /// The identity of an open descriptor, or nil when fstat fails.
    public static func of(fd: Int32) -> FileIdentity? {
        var st = stat()
        return fstat(fd, &st) == 0 ? FileIdentity(st) : nil
    }

    /// Same size and modification time: the content is probably the same, but only a hash says so
    /// when ctime or the inode moved.
    public func sameSizeAndMtime(as other: FileIdentity) -> Bool {
        size == other.size && mtimeNs == other.mtimeNs
    }
}
