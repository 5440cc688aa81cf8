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

    public var isEmpty: Bool {
        mode == nil && uid == nil && gid == nil && size == nil && accessTime == nil && modificationTime == nil
    }
}

extension PassthroughFS {
    public func setattr(_ id: UInt64, changes: AttributeChanges, handle: OpenFile?, caller: Caller? = nil) throws -> stat {
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
        if changes.accessTime != nil || changes.modificationTime != nil, !isWritebackOfCurrentTime(inode, changes) {
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
            } else {
                // On the O_PATH descriptor itself, so a symlink's own times change (utimensat
                // with AT_SYMLINK_NOFOLLOW), never its target's.
                _ = try Sys.check("set times") { utimensat(inode.fd, "", &times, Sys.atEmptyPath | Sys.atSymlinkNoFollow) }
            }
        }
        if changes.mode == nil, changes.size != nil || changes.isEmpty, let caller {
            try dropSetGroupIDIfNeeded(inode, caller: caller, emptyChange: changes.isEmpty)
        }
        return try Sys.fstat(inode.fd)
    }

    /// A write or truncate by someone who is not in the file's group drops its set-group-ID bit
    /// even without group execute, as the kernel does on ext4. FUSE's kernel side clears that bit
    /// only together with group execute; for the rest it sends an empty setattr (a write) or a
    /// size alone (a truncate), which is where it is done here.
    /// An empty change also comes from chown(f, -1, -1), which ext4 refuses to people who may not
    /// write the file: the bit is then dropped only for a caller with write permission.
    func dropSetGroupIDIfNeeded(_ inode: Inode, caller: Caller, emptyChange: Bool) throws {
        guard caller.uid != 0 else { return }
        let st = try Sys.fstat(inode.fd)
        guard st.isRegular, st.st_mode & S_ISGID != 0, st.st_mode & S_IXGRP == 0, st.st_gid != caller.gid else { return }
        if emptyChange {
            let writable = caller.uid == st.st_uid ? st.st_mode & S_IWUSR != 0 : st.st_mode & S_IWOTH != 0
            guard writable else { return }
        }
        guard let groups = caller.groups(), !groups.contains(st.st_gid) else { return }
        _ = try Sys.check("chmod") { chmod(Sys.procPath(inode.fd), st.st_mode & 0o7777 & ~S_ISGID) }
    }

    /// With the writeback cache the kernel keeps a file's times itself and writes them back
    /// later (after a rename, for instance) as a setattr of the modification time alone. When
    /// that time is the one the backing file has already, setting it would change nothing but
    /// the backing file's ctime, which the uploader reads as "the file changed": it is skipped.
    func isWritebackOfCurrentTime(_ inode: Inode, _ changes: AttributeChanges) -> Bool {
        guard changes.accessTime == nil, case .at(let wanted)? = changes.modificationTime,
              let current = try? Sys.fstat(inode.fd) else { return false }
        return current.st_mtim.tv_sec == wanted.tv_sec && current.st_mtim.tv_nsec == wanted.tv_nsec
    }
}

extension Inode {
    /// Symlinks cannot be opened through /proc/self/fd without following them.
    var isSymlinkLike: Bool {
        guard let st = try? Sys.fstat(fd) else { return false }
        return st.isSymlink
    }
}
