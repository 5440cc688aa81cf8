import CSysShims
import Foundation

/// What a setattr call changes. Times use `.now` or an explicit value.
public struct AttributeChanges: Sendable {
    public enum Time: Sendable { case now, at(timespec) }
    public var mode: mode_t?
    public var uid: uid_t?
    public var gid: gid_t?
    public var size: Int64?
    public var accessTime: Time?
    public var modificationTime: Time?
    public init() {}
}

extension PassthroughFS {
    public func setattr(_ id: UInt64, changes: AttributeChanges, handle: OpenFile?) throws -> stat {
        let inode = try table.get(id)
        let path = Sys.procPath(inode.fd)
        if let mode = changes.mode {
            if let handle {
                _ = try Sys.check("chmod") { fchmod(handle.fd, mode) }
            } else {
                _ = try Sys.check("chmod") { chmod(path, mode) }
            }
        }
        if changes.uid != nil || changes.gid != nil {
            let uid = changes.uid ?? uid_t(bitPattern: -1)
            let gid = changes.gid ?? gid_t(bitPattern: -1)
            _ = try Sys.check("chown") { fchownat(inode.fd, "", uid, gid, Sys.atEmptyPath | Sys.atSymlinkNoFollow) }
        }
        if let size = changes.size {
            if let handle {
                _ = try Sys.check("truncate") { ftruncate(handle.fd, off_t(size)) }
            } else {
                _ = try Sys.check("truncate") { truncate(path, off_t(size)) }
            }
            markChanged(inode)
            if handle == nil { try queueIfSettled(inode) }
        }
        if changes.accessTime != nil || changes.modificationTime != nil {
            func spec(_ time: AttributeChanges.Time?) -> timespec {
                switch time {
                case .none: return timespec(tv_sec: 0, tv_nsec: recsync_UTIME_OMIT)
                case .now: return timespec(tv_sec: 0, tv_nsec: recsync_UTIME_NOW)
                case .at(let value): return value
                }
            }
            var times = [spec(changes.accessTime), spec(changes.modificationTime)]
            if let handle {
                _ = try Sys.check("set times") { futimens(handle.fd, &times) }
            } else if !inode.isSymlinkLike {
                _ = try Sys.check("set times") { utimensat(AT_FDCWD, path, &times, 0) }
            }
        }
        return try Sys.fstat(inode.fd)
    }
}

extension Inode {
    /// Symlinks cannot be opened through /proc/self/fd without following them.
    var isSymlinkLike: Bool {
        guard let st = try? Sys.fstat(fd) else { return false }
        return st.isSymlink
    }
}
