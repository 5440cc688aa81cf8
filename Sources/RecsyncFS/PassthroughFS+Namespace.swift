import CSysShims
import FoundationEssentials
import Glibc

/// Creating, linking, renaming and removing names. Each change is made on the backing folder
/// first and reported to the sync engine only once it succeeded.
extension PassthroughFS {
    public func mkdir(parent: UInt64, name: String, mode: mode_t, caller: Caller?) throws -> Entry {
        let dir = try table.get(parent)
        _ = try Sys.withModesAsGiven { try Sys.named("mkdir", name) { mkdirat(dir.fd, $0, mode) } }
        try chownNew(dir: dir, name: name, caller: caller)
        return try lookup(in: dir, name: name)
    }

    /// Makes a regular file, FIFO, socket or device node, as the caller asked. Only regular files
    /// are ever uploaded; the others stay on the local disk (docs/SEMANTICS.md, "Special files").
    public func mknod(parent: UInt64, name: String, mode: mode_t, rdev: dev_t, caller: Caller?) throws -> Entry {
        let dir = try table.get(parent)
        _ = try Sys.withModesAsGiven { try Sys.named("mknod", name) { mknodat(dir.fd, $0, mode, rdev) } }
        try chownNew(dir: dir, name: name, caller: caller)
        let entry = try lookup(in: dir, name: name)
        if entry.attributes.isRegular {
            markChanged(entry.inode)
            try queueIfSettled(entry.inode)
        }
        return entry
    }

    public func symlink(target: String, parent: UInt64, name: String, caller: Caller?) throws -> Entry {
        let dir = try table.get(parent)
        _ = try Sys.named("symlink", name) { link in NameCoding.withCString(target) { symlinkat($0, dir.fd, link) } }
        try chownNew(dir: dir, name: name, caller: caller)
        return try lookup(in: dir, name: name)
    }

    public func link(_ id: UInt64, newParent: UInt64, newName: String) throws -> Entry {
        let inode = try table.get(id)
        let dir = try table.get(newParent)
        _ = try Sys.named("link", newName) {
            linkat(AT_FDCWD, Sys.procPath(inode.fd), dir.fd, $0, AT_SYMLINK_FOLLOW)
        }
        let entry = try lookup(in: dir, name: newName)
        if entry.attributes.isRegular, let path = relativePath(parent: dir, name: newName) { try hooks.fileLinked(path: path) }
        return entry
    }

    public func unlink(parent: UInt64, name: String) throws {
        let dir = try table.get(parent)
        let path = relativePath(parent: dir, name: name)
        try hooks.namespaceChange {
            _ = try Sys.named("unlink", name) { unlinkat(dir.fd, $0, 0) }
            if let path { try hooks.itemRemoved(path: path, isDirectory: false) }
        }
    }

    public func rmdir(parent: UInt64, name: String) throws {
        let dir = try table.get(parent)
        let path = relativePath(parent: dir, name: name)
        try hooks.namespaceChange {
            _ = try Sys.named("rmdir", name) { unlinkat(dir.fd, $0, AT_REMOVEDIR) }
            if let path { try hooks.itemRemoved(path: path, isDirectory: true) }
        }
    }

    /// Renames within the mount, with renameat2's flags: RENAME_NOREPLACE fails on an existing
    /// destination, RENAME_EXCHANGE swaps the two names atomically (the engine then uploads what
    /// now stands at each name).
    public func rename(parent: UInt64, name: String, newParent: UInt64, newName: String, flags: UInt32) throws {
        let dir = try table.get(parent)
        let newDir = try table.get(newParent)
        let source = try Sys.fstatat(dir.fd, name)
        let exchange = flags & UInt32(recsync_RENAME_EXCHANGE) != 0
        let target = exchange ? try Sys.fstatat(newDir.fd, newName) : nil
        let from = relativePath(parent: dir, name: name)
        let to = relativePath(parent: newDir, name: newName)
        try hooks.namespaceChange {
            _ = try Sys.named("rename", name) { from in NameCoding.withCString(newName) { recsync_renameat2(dir.fd, from, newDir.fd, $0, flags) } }
            table.noteName(of: source, parent: newDir.id, name: newName)
            if let target { table.noteName(of: target, parent: dir.id, name: name) }
            guard let from, let to, !NameCoding.same(from, to) else { return }
            if exchange {
                try hooks.itemsExchanged(from, to)
            } else {
                try hooks.itemRenamed(from: from, to: to, isDirectory: source.isDirectory)
            }
        }
    }
}
