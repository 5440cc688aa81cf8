import CFuse3
import FoundationEssentials
import RecsyncFS
import Glibc

/// getxattr, listxattr, setxattr and removexattr.
enum FuseXattrOperations {
    /// The kernel asks for this before every write to decide whether to drop file capabilities.
    /// Recordings never carry capabilities, so it is answered without touching the disk.
    private static let capabilityName = "security.capability"

    static func install(into ops: inout fuse_lowlevel_ops) {
        ops.getxattr = { req, ino, name, size in
            guard let name else { fuse_reply_err(req, EINVAL); return }
            if strcmp(name, FuseXattrOperations.capabilityName) == 0 { fuse_reply_err(req, ENODATA); return }
            let c = FuseContext.of(req)
            do { FuseXattrOperations.reply(req, try c.fs.getxattr(ino, name: String(kernel: name), caller: FuseContext.caller(req)), size: size) }
            catch { c.fail(req, error, "getxattr") }
        }
        ops.listxattr = { req, ino, size in
            let c = FuseContext.of(req)
            do { FuseXattrOperations.reply(req, try c.fs.listxattr(ino, caller: FuseContext.caller(req)), size: size) }
            catch { c.fail(req, error, "listxattr") }
        }
        ops.setxattr = { req, ino, name, value, size, flags in
            let c = FuseContext.of(req)
            guard let name else { fuse_reply_err(req, EINVAL); return }
            // Safe: the kernel passes `size` readable bytes at `value`.
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            do { try c.fs.setxattr(ino, name: String(kernel: name), value: bytes, flags: flags); fuse_reply_err(req, 0) }
            catch { c.fail(req, error, "setxattr") }
        }
        ops.removexattr = { req, ino, name in
            let c = FuseContext.of(req)
            guard let name else { fuse_reply_err(req, EINVAL); return }
            do { try c.fs.removexattr(ino, name: String(kernel: name)); fuse_reply_err(req, 0) }
            catch { c.fail(req, error, "removexattr") }
        }
    }

    /// The two-step xattr protocol: size 0 asks for the length, otherwise the value must fit.
    static func reply(_ req: fuse_req_t?, _ value: [UInt8], size: Int) {
        if size == 0 {
            fuse_reply_xattr(req, value.count)
        } else if value.count > size {
            fuse_reply_err(req, ERANGE)
        } else {
            value.withUnsafeBytes { raw in _ = fuse_reply_buf(req, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count) }
        }
    }
}
