import CFuse3
import FoundationEssentials
import RecsyncFS
import Glibc

/// open, create, read, write, flush, release, fsync, fallocate, lseek and copy_file_range.
enum FuseFileOperations {
    static func install(into ops: inout fuse_lowlevel_ops) {
        ops.open = { req, ino, fi in
            let c = FuseContext.of(req)
            guard let fi else { fuse_reply_err(req, EINVAL); return }
            do {
                let handle = try c.fs.open(ino, flags: fi.pointee.flags, writebackCache: c.options.writebackCache,
                                           writesUnseen: c.passthrough.active)
                FuseContext.store(handle, in: fi)
                if fi.pointee.flags & O_TRUNC != 0, let caller = FuseContext.caller(req), caller.uid != 0 {
                    // Truncated by the open itself (FUSE_ATOMIC_O_TRUNC), for which the kernel
                    // clears no set-ID bit, with or without FUSE_HANDLE_KILLPRIV_V2.
                    FuseFileOperations.dropSetIDBits(c, handle, caller: caller)
                }
                let replied: Int32
                if c.passthrough.active, let id = c.passthrough.backingID(for: handle, inode: ino, logger: c.logger) {
                    replied = FusePassthrough.replyOpen(req, fi, backingID: id)
                } else {
                    // Nothing else changes the backing file while it is mounted over: keep the page cache.
                    fi.pointee.keep_cache = 1
                    replied = fuse_reply_open(req, fi)
                }
                if replied != 0 { FuseFileOperations.releaseHandle(c, fi) }
            } catch { c.fail(req, error, "open") }
        }
        ops.create = { req, parent, name, mode, fi in
            let c = FuseContext.of(req)
            guard let fi else { fuse_reply_err(req, EINVAL); return }
            do {
                let (entry, handle) = try c.fs.create(parent: parent, name: String(kernel: name), mode: mode,
                                                      flags: fi.pointee.flags, caller: FuseContext.caller(req),
                                                      writebackCache: c.options.writebackCache,
                                                      writesUnseen: c.passthrough.active)
                FuseContext.store(handle, in: fi)
                var param = c.entryParam(entry)
                let replied: Int32
                if c.passthrough.active, let id = c.passthrough.backingID(for: handle, inode: param.ino, logger: c.logger) {
                    replied = FusePassthrough.replyCreate(req, param, fi, backingID: id)
                } else {
                    fi.pointee.keep_cache = 1
                    replied = fuse_reply_create(req, &param, fi)
                }
                if replied != 0 { FuseFileOperations.releaseHandle(c, fi) }
            } catch { c.fail(req, error, "create") }
        }
        ops.read = { req, _, size, offset, fi in
            guard let handle = FuseContext.fileHandle(fi) else { fuse_reply_err(req, EBADF); return }
            // Let libfuse read straight from the backing descriptor (and splice when it can).
            var buffers = fuse_bufvec(count: 1, idx: 0, off: 0,
                                      buf: (fuse_buf(size: size, flags: fuse_buf_flags(rawValue: FUSE_BUF_IS_FD.rawValue | FUSE_BUF_FD_SEEK.rawValue),
                                                     mem: nil, fd: handle.fd, pos: offset),))
            fuse_reply_data(req, &buffers, FUSE_BUF_SPLICE_MOVE)
        }
        ops.write_buf = { req, _, source, offset, fi in
            let c = FuseContext.of(req)
            guard let handle = FuseContext.fileHandle(fi), let source else { fuse_reply_err(req, EBADF); return }
            let size = fuse_buf_size(source)
            var destination = fuse_bufvec(count: 1, idx: 0, off: 0,
                                          buf: (fuse_buf(size: size, flags: fuse_buf_flags(rawValue: FUSE_BUF_IS_FD.rawValue | FUSE_BUF_FD_SEEK.rawValue),
                                                         mem: nil, fd: handle.fd, pos: offset),))
            let written = fuse_buf_copy(&destination, source, fuse_buf_copy_flags(rawValue: 0))
            if written < 0 {
                c.fail(req, FSError(Int32(-written), "write failed: \(String(cString: strerror(Int32(-written))))"), "write")
                return
            }
            c.fs.noteWritten(handle)
            if FusePassthrough.requestKillsSetID, let caller = FuseContext.caller(req) {
                // Written by a caller without CAP_FSETID (FUSE_WRITE_KILL_SUIDGID).
                FuseFileOperations.dropSetIDBits(c, handle, caller: caller)
            }
            fuse_reply_write(req, Int(written))
        }
        ops.flush = { req, _, fi in
            let c = FuseContext.of(req)
            guard let handle = FuseContext.fileHandle(fi) else { fuse_reply_err(req, EBADF); return }
            do { try c.fs.flush(handle); fuse_reply_err(req, 0) }
            catch { c.fail(req, error, "flush") }
        }
        ops.release = { req, _, fi in
            let c = FuseContext.of(req)
            if let fi, fi.pointee.fh != 0 { FuseFileOperations.releaseHandle(c, fi) }
            fuse_reply_err(req, 0)
        }
        ops.fallocate = { req, _, mode, offset, length, fi in
            let c = FuseContext.of(req)
            guard let handle = FuseContext.fileHandle(fi) else { fuse_reply_err(req, EBADF); return }
            do { try c.fs.fallocate(handle, mode: mode, offset: Int64(offset), length: Int64(length)); fuse_reply_err(req, 0) }
            catch { c.fail(req, error, "fallocate") }
        }
        ops.lseek = { req, _, offset, whence, fi in
            let c = FuseContext.of(req)
            guard let handle = FuseContext.fileHandle(fi) else { fuse_reply_err(req, EBADF); return }
            do { fuse_reply_lseek(req, off_t(try c.fs.seek(handle, offset: Int64(offset), whence: whence))) }
            catch { c.fail(req, error, "lseek") }
        }
        ops.copy_file_range = { req, _, offsetIn, fiIn, _, offsetOut, fiOut, length, flags in
            let c = FuseContext.of(req)
            guard let source = FuseContext.fileHandle(fiIn), let destination = FuseContext.fileHandle(fiOut) else {
                fuse_reply_err(req, EBADF)
                return
            }
            do {
                let copied = try c.fs.copyRange(from: source, at: Int64(offsetIn), to: destination, at: Int64(offsetOut),
                                                length: length, flags: UInt32(flags))
                fuse_reply_write(req, copied)
            } catch { c.fail(req, error, "copy_file_range") }
        }
        ops.fsync = { req, _, datasync, fi in
            let c = FuseContext.of(req)
            guard let handle = FuseContext.fileHandle(fi) else { fuse_reply_err(req, EBADF); return }
            do { try c.fs.fsync(handle, dataOnly: datasync != 0); fuse_reply_err(req, 0) }
            catch { c.fail(req, error, "fsync") }
        }
    }

    /// Clears the set-ID bits after a write or an O_TRUNC open by `caller`. The open or the write
    /// went through: a failure to clear them is logged, never turned into a failed request.
    static func dropSetIDBits(_ c: FuseContext, _ handle: OpenFile, caller: PassthroughFS.Caller) {
        do { try c.fs.dropSetIDBits(of: handle, caller: caller) } catch {
            c.logger.warning("cannot clear the set-ID bits of a file written by another user", metadata: ["error": "\(error)"])
        }
    }

    /// Releases the handle stored in `fi->fh`, and its passthrough registration if it has one.
    static func releaseHandle(_ c: FuseContext, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        let handle = release(fi)
        c.passthrough.released(handle: handle)
        c.fs.release(handle)
    }

    /// Takes back the reference stored in `fi->fh`.
    static func release(_ fi: UnsafeMutablePointer<fuse_file_info>) -> OpenFile {
        // Safe: balances the passRetained in FuseContext.store; fh is cleared so it cannot be released twice.
        let handle = Unmanaged<OpenFile>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi.pointee.fh))!).takeRetainedValue()
        fi.pointee.fh = 0
        return handle
    }
}
