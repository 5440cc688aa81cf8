import CFuse3
import FoundationEssentials
import RecsyncFS
import Glibc

/// opendir, readdir, releasedir and fsyncdir.
enum FuseDirectoryOperations {
    static func install(into ops: inout fuse_lowlevel_ops) {
        ops.opendir = { req, ino, fi in
            let c = FuseContext.of(req)
            guard let fi else { fuse_reply_err(req, EINVAL); return }
            do {
                let handle = try c.fs.opendir(ino)
                fi.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(handle).toOpaque()))
                if fuse_reply_open(req, fi) != 0 { c.fs.releasedir(FuseDirectoryOperations.takeDir(fi)) }
            } catch { c.fail(req, error, "opendir") }
        }
        ops.readdir = { req, _, size, offset, fi in
            let c = FuseContext.of(req)
            guard let handle = FuseContext.dirHandle(fi) else { fuse_reply_err(req, EBADF); return }
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            var used = 0
            do {
                try c.fs.readdir(handle, offset: Int64(offset)) { entry in
                    var st = stat()
                    st.st_ino = ino_t(entry.inode)
                    st.st_mode = mode_t(entry.type) << 12
                    // Safe: fuse_add_direntry writes at most `size - used` bytes at buffer + used.
                    let needed = NameCoding.withCString(entry.name) {
                        fuse_add_direntry(req, buffer + used, size - used, $0, &st, off_t(entry.nextOffset))
                    }
                    if needed > size - used { return false }
                    used += needed
                    return true
                }
                fuse_reply_buf(req, buffer, used)
            } catch {
                if used > 0 { fuse_reply_buf(req, buffer, used) } else { c.fail(req, error, "readdir") }
            }
        }
        ops.releasedir = { req, _, fi in
            let c = FuseContext.of(req)
            if let fi, fi.pointee.fh != 0 { c.fs.releasedir(FuseDirectoryOperations.takeDir(fi)) }
            fuse_reply_err(req, 0)
        }
        ops.fsyncdir = { req, _, datasync, fi in
            let c = FuseContext.of(req)
            guard let handle = FuseContext.dirHandle(fi) else { fuse_reply_err(req, EBADF); return }
            do { try c.fs.fsyncdir(handle, dataOnly: datasync != 0); fuse_reply_err(req, 0) }
            catch { c.fail(req, error, "fsyncdir") }
        }
    }

    static func takeDir(_ fi: UnsafeMutablePointer<fuse_file_info>) -> DirHandle {
        // Safe: balances the passRetained in opendir; fh is cleared so it cannot be released twice.
        let handle = Unmanaged<DirHandle>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi.pointee.fh))!).takeRetainedValue()
        fi.pointee.fh = 0
        return handle
    }
}
