import CFuse3
import FoundationEssentials
import Logging
import RecsyncFS
import Glibc

/// What every callback needs: the filesystem core, the options and a logger.
/// Immutable after creation, so it is shared by all worker threads without locking.
final class FuseContext: @unchecked Sendable {
    let fs: PassthroughFS
    let options: FuseOptions
    let logger: Logger
    let timeout: Double
    let passthrough: FusePassthrough

    init(fs: PassthroughFS, options: FuseOptions, logger: Logger) {
        self.fs = fs
        self.options = options
        self.logger = logger
        self.timeout = options.cacheTimeout
        self.passthrough = FusePassthrough(options: options)
    }

    /// The context a request belongs to.
    static func of(_ req: fuse_req_t?) -> FuseContext {
        // Safe: fuse_session_new received a retained FuseContext that outlives every request.
        Unmanaged<FuseContext>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    /// Replies with an error, logging the ones that are not part of normal operation.
    func fail(_ req: fuse_req_t?, _ error: any Error, _ operation: StaticString) {
        let fsError = FSError.wrap(error, operation: "\(operation)")
        switch fsError.errno {
        case ENOENT, ENODATA, EEXIST, ENOTEMPTY, ERANGE, ENOTSUP, EPERM, EACCES, EINVAL:
            logger.debug("\(operation): \(fsError.message)")
        default:
            logger.warning("\(operation) failed: \(fsError)")
        }
        fuse_reply_err(req, fsError.errno)
    }

    /// The kernel's view of an entry: our inode number and the cache timeouts.
    func entryParam(_ entry: Entry) -> fuse_entry_param {
        var param = fuse_entry_param()
        param.ino = fuse_ino_t(entry.inode.id)
        param.attr = entry.attributes
        param.attr.st_ino = ino_t(entry.inode.id)
        param.attr_timeout = timeout
        param.entry_timeout = timeout
        return param
    }

    func replyEntry(_ req: fuse_req_t?, _ entry: Entry) {
        var param = entryParam(entry)
        fuse_reply_entry(req, &param)
    }

    func replyAttr(_ req: fuse_req_t?, _ id: fuse_ino_t, _ attributes: stat) {
        var st = attributes
        st.st_ino = ino_t(id)
        fuse_reply_attr(req, &st, timeout)
    }

    static func caller(_ req: fuse_req_t?) -> PassthroughFS.Caller? {
        guard let ctx = fuse_req_ctx(req) else { return nil }
        let pid = ctx.pointee.pid
        return PassthroughFS.Caller(uid: ctx.pointee.uid, gid: ctx.pointee.gid, groups: { FuseContext.groups(of: pid) })
    }

    /// The supplementary groups of a requesting process (from /proc, as fuse_req_getgroups reads
    /// them; asked for during the request, while the process waits for the answer).
    static func groups(of pid: pid_t) -> [gid_t]? {
        guard pid > 0, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Groups:") }) else { return nil }
        return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { gid_t($0) }
    }

    static func fileHandle(_ fi: UnsafeMutablePointer<fuse_file_info>?) -> OpenFile? {
        guard let fi, fi.pointee.fh != 0 else { return nil }
        // Safe: fh holds a OpenFile retained in open/create and released only in release.
        return Unmanaged<OpenFile>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi.pointee.fh))!).takeUnretainedValue()
    }

    static func store(_ handle: OpenFile, in fi: UnsafeMutablePointer<fuse_file_info>) {
        fi.pointee.fh = UInt64(UInt(bitPattern: Unmanaged.passRetained(handle).toOpaque()))
    }

    static func dirHandle(_ fi: UnsafeMutablePointer<fuse_file_info>?) -> DirHandle? {
        guard let fi, fi.pointee.fh != 0 else { return nil }
        // Safe: fh holds a DirHandle retained in opendir and released only in releasedir.
        return Unmanaged<DirHandle>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(fi.pointee.fh))!).takeUnretainedValue()
    }
}

extension String {
    /// A name from the kernel (never NULL for the calls that pass one).
    /// Its bytes are kept whatever they are (`NameCoding`).
    init(kernel name: UnsafePointer<CChar>?) {
        self = name.map { NameCoding.text(cString: $0) } ?? ""
    }
}
