import CFuse3
import FoundationEssentials
import RecsyncFS
import Glibc

/// The libfuse low-level callbacks. Each one only translates: it unpacks the request, calls the
/// `PassthroughFS` core, and turns the result or the thrown `FSError` into a reply.
enum FuseOperations {
    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            guard let userdata, let conn else { return }
            // Safe: userdata is the retained FuseContext passed to fuse_session_new.
            let context = Unmanaged<FuseContext>.fromOpaque(userdata).takeUnretainedValue()
            if context.options.writebackCache, conn.pointee.capable & UInt32(FUSE_CAP_WRITEBACK_CACHE) != 0 {
                conn.pointee.want |= UInt32(FUSE_CAP_WRITEBACK_CACHE)
            }
            conn.pointee.max_write = context.options.maxWrite
        }
        ops.lookup = { req, parent, name in
            let c = FuseContext.of(req)
            do { c.replyEntry(req, try c.fs.lookup(parent: parent, name: String(kernel: name))) }
            catch { c.fail(req, error, "lookup") }
        }
        ops.forget = { req, ino, nlookup in
            FuseContext.of(req).fs.forget(ino, count: nlookup)
            fuse_reply_none(req)
        }
        ops.forget_multi = { req, count, forgets in
            let c = FuseContext.of(req)
            if let forgets {
                for index in 0..<count { c.fs.forget(forgets[index].ino, count: forgets[index].nlookup) }
            }
            fuse_reply_none(req)
        }
        ops.getattr = { req, ino, _ in
            let c = FuseContext.of(req)
            do { c.replyAttr(req, ino, try c.fs.getattr(ino)) }
            catch { c.fail(req, error, "getattr") }
        }
        ops.setattr = { req, ino, attr, valid, fi in
            let c = FuseContext.of(req)
            guard let attr else { fuse_reply_err(req, EINVAL); return }
            var changes = AttributeChanges()
            if valid & FUSE_SET_ATTR_MODE != 0 { changes.mode = attr.pointee.st_mode }
            if valid & FUSE_SET_ATTR_UID != 0 { changes.uid = attr.pointee.st_uid }
            if valid & FUSE_SET_ATTR_GID != 0 { changes.gid = attr.pointee.st_gid }
            if valid & FUSE_SET_ATTR_SIZE != 0 { changes.size = Int64(attr.pointee.st_size) }
            if valid & FUSE_SET_ATTR_ATIME_NOW != 0 { changes.accessTime = .now }
            else if valid & FUSE_SET_ATTR_ATIME != 0 { changes.accessTime = .at(attr.pointee.st_atim) }
            if valid & FUSE_SET_ATTR_MTIME_NOW != 0 { changes.modificationTime = .now }
            else if valid & FUSE_SET_ATTR_MTIME != 0 { changes.modificationTime = .at(attr.pointee.st_mtim) }
            // With FUSE_HANDLE_KILLPRIV_V2 the set-ID bits are recsync's to clear: on a truncate or
            // chown that says so (FATTR_KILL_SUIDGID), and on the empty setattr that a write through
            // a passthrough handle sends.
            let killSetID = c.passthrough.killPrivV2.load(ordering: .relaxed) && (FusePassthrough.requestKillsSetID || changes.isEmpty)
            do {
                c.replyAttr(req, ino, try c.fs.setattr(ino, changes: changes, handle: FuseContext.fileHandle(fi), caller: FuseContext.caller(req),
                                                       killSetID: killSetID))
            }
            catch { c.fail(req, error, "setattr") }
        }
        ops.readlink = { req, ino in
            let c = FuseContext.of(req)
            do { let target = try c.fs.readlink(ino); _ = NameCoding.withCString(target) { fuse_reply_readlink(req, $0) } }
            catch { c.fail(req, error, "readlink") }
        }
        ops.mknod = { req, parent, name, mode, rdev in
            let c = FuseContext.of(req)
            do { c.replyEntry(req, try c.fs.mknod(parent: parent, name: String(kernel: name), mode: mode, rdev: rdev, caller: FuseContext.caller(req))) }
            catch { c.fail(req, error, "mknod") }
        }
        ops.mkdir = { req, parent, name, mode in
            let c = FuseContext.of(req)
            do { c.replyEntry(req, try c.fs.mkdir(parent: parent, name: String(kernel: name), mode: mode | S_IFDIR, caller: FuseContext.caller(req))) }
            catch { c.fail(req, error, "mkdir") }
        }
        ops.unlink = { req, parent, name in
            let c = FuseContext.of(req)
            do { try c.fs.unlink(parent: parent, name: String(kernel: name)); fuse_reply_err(req, 0) }
            catch { c.fail(req, error, "unlink") }
        }
        ops.rmdir = { req, parent, name in
            let c = FuseContext.of(req)
            do { try c.fs.rmdir(parent: parent, name: String(kernel: name)); fuse_reply_err(req, 0) }
            catch { c.fail(req, error, "rmdir") }
        }
        ops.symlink = { req, target, parent, name in
            let c = FuseContext.of(req)
            do { c.replyEntry(req, try c.fs.symlink(target: String(kernel: target), parent: parent, name: String(kernel: name), caller: FuseContext.caller(req))) }
            catch { c.fail(req, error, "symlink") }
        }
        ops.rename = { req, parent, name, newparent, newname, flags in
            let c = FuseContext.of(req)
            do {
                try c.fs.rename(parent: parent, name: String(kernel: name), newParent: newparent, newName: String(kernel: newname), flags: UInt32(flags))
                fuse_reply_err(req, 0)
            } catch { c.fail(req, error, "rename") }
        }
        ops.link = { req, ino, newparent, newname in
            let c = FuseContext.of(req)
            do { c.replyEntry(req, try c.fs.link(ino, newParent: newparent, newName: String(kernel: newname))) }
            catch { c.fail(req, error, "link") }
        }
        ops.statfs = { req, ino in
            let c = FuseContext.of(req)
            do { var st = try c.fs.statfs(ino); fuse_reply_statfs(req, &st) }
            catch { c.fail(req, error, "statfs") }
        }
        FuseFileOperations.install(into: &ops)
        FuseDirectoryOperations.install(into: &ops)
        FuseXattrOperations.install(into: &ops)
        return ops
    }
}
