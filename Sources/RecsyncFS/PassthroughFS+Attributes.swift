import CSysShims
import FoundationEssentials
import Glibc

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
    /// `killSetID`: the kernel left the clearing of the set-ID bits to recsync and this change
    /// calls for it (see `dropSetIDBits`).
    public func setattr(_ id: UInt64, changes: AttributeChanges, handle: OpenFile?, caller: Caller? = nil,
                        killSetID: Bool = false) throws -> stat {
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
        if changes.mode == nil, killSetID || changes.size != nil || changes.isEmpty, let caller {
            try dropSetIDBits(inode, caller: caller, userAndExecutableGroup: killSetID, emptyChange: changes.isEmpty)
        }
        return try Sys.fstat(inode.fd)
    }

    /// After a write by `caller` when the kernel left the clearing of the set-ID bits to recsync
    /// (FUSE_HANDLE_KILLPRIV_V2, which asks for it on every write by a caller without
    /// CAP_FSETID), and after an O_TRUNC open by anyone but root: the bits of the handle's file
    /// are cleared as ext4 clears them, at the cost of one fstat when it has none (the case of
    /// nearly every write that asks).
    public func dropSetIDBits(of handle: OpenFile, caller: Caller) throws {
        var st = stat()
        guard fstat(handle.fd, &st) != 0 || st.st_mode & (S_ISUID | S_ISGID) != 0 else { return }
        try dropSetIDBits(handle.inode, caller: caller, userAndExecutableGroup: true, emptyChange: false)
    }

    /// A write or truncate by someone without CAP_FSETID drops the file's set-ID bits, as the
    /// kernel does on ext4: set-user-ID, set-group-ID with group execute, and set-group-ID
    /// without it when the caller is not in the file's group.
    ///
    /// Without FUSE_HANDLE_KILLPRIV_V2, FUSE's kernel side clears the first two itself (a mode
    /// change) and sends an empty setattr (a write) or a size alone (a truncate) for the last,
    /// which is done here. With it (`userAndExecutableGroup`), all three are recsync's.
    /// An empty change also comes from chown(f, -1, -1), which ext4 refuses to people who may not
    /// write the file: the bits are then dropped only for a caller with write permission.
    func dropSetIDBits(_ inode: Inode, caller: Caller, userAndExecutableGroup: Bool, emptyChange: Bool) throws {
        guard caller.uid != 0 else { return }
        let st = try Sys.fstat(inode.fd)
        guard st.isRegular, st.st_mode & (S_ISUID | S_ISGID) != 0 else { return }
        let current = st.st_mode & 0o7777
        var mode = current
        if userAndExecutableGroup {
            mode &= ~S_ISUID
            if st.st_mode & S_IXGRP != 0 { mode &= ~S_ISGID }
        }
        if mode & S_ISGID != 0, st.st_mode & S_IXGRP == 0, st.st_gid != caller.gid,
           let groups = caller.groups(), !groups.contains(st.st_gid) {
            mode &= ~S_ISGID
        }
        guard mode != current else { return }
        if emptyChange {
            let writable: Bool
            if caller.uid == st.st_uid {
                writable = st.st_mode & S_IWUSR != 0
            } else if caller.gid == st.st_gid || caller.groups()?.contains(st.st_gid) == true {
                writable = st.st_mode & S_IWGRP != 0
            } else {
                writable = st.st_mode & S_IWOTH != 0
            }
            guard writable else { return }
        }
        _ = try Sys.check("chmod") { chmod(Sys.procPath(inode.fd), mode) }
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
