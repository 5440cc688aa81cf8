import CFuse3
import CSysShims
import FoundationEssentials
import Logging
import RecsyncFS
import Synchronization
import Glibc

/// Kernel FUSE passthrough (Linux 6.9 and later): the kernel sends the reads and writes of an
/// open file straight to the backing file, and recsync only sees opens, closes, fsyncs and
/// metadata. Every `write()` then lands in the backing file's page cache as on the disk below,
/// so a crash of the daemon can lose nothing a program was told was written, at the disk's
/// own speed (docs/PERFORMANCE.md, "Kernel passthrough").
///
/// libfuse 3.14 knows nothing of it: its capability flags are 32 bits and its INIT reply
/// sends no `flags2`. So recsync serves the connection through libfuse's custom I/O hook
/// (`fuse_session_custom_io`, public since 3.13), adds `FUSE_PASSTHROUGH` and a stacking depth
/// of 1 to the INIT reply as it goes to the kernel, registers each open file with the
/// `FUSE_DEV_IOC_BACKING_OPEN` ioctl, and answers OPEN and CREATE with replies it builds itself.
///
/// The kernel lets all the open handles of one file use only one backing file, and never mixes
/// passthrough opens with ordinary ones on one file. So one registration per file is shared by
/// its handles and given back when the last one is released, and a file with an ordinary open
/// handle gets ordinary ones until they are all released. When the kernel refuses a
/// registration for a reason that holds for every file (no CAP_SYS_ADMIN, no passthrough in
/// this kernel), new files get ordinary opens for the rest of the mount; when it refuses one file
/// (a filesystem stacked on another: ELOOP), only that file goes through recsync.
///
/// Locking: `state` is taken alone, never while calling into the filesystem core.
final class FusePassthrough: Sendable {
    /// Whether the mount asked for it and may have it: the setting is on, recsync runs as root
    /// (the kernel wants CAP_SYS_ADMIN), the kernel is new enough and the backing folder's
    /// filesystem qualifies. Only then is the connection served through the custom I/O hook
    /// (which costs libfuse's spliced receive of WRITE requests).
    let requested: Bool
    /// The backing folder's device: files on another device (a filesystem mounted inside the
    /// folder) get ordinary opens.
    private let device: UInt64
    /// The INIT request's id, and whether the kernel offered FUSE_PASSTHROUGH in it.
    private let initUnique = Atomic<UInt64>(0)
    private let offered = Atomic<Bool>(false)
    /// Set once the INIT reply went out with the flag added.
    private let negotiated = Atomic<Bool>(false)
    /// Whether the kernel offered FUSE_HANDLE_KILLPRIV_V2, and whether the INIT reply took it
    /// (with passthrough only: see `handleKillPrivV2`).
    private let offeredKillPrivV2 = Atomic<Bool>(false)
    let killPrivV2 = Atomic<Bool>(false)
    /// Set when the kernel refused a registration for a reason that holds for every file (no
    /// CAP_SYS_ADMIN, no passthrough in this kernel): no new registrations for the mount.
    private let refused = Atomic<Bool>(false)
    private let announced = Atomic<Bool>(false)
    /// The session's /dev/fuse descriptor, the one the registration ioctls go to.
    private let connection = Atomic<Int32>(-1)

    private struct Backing {
        var id: Int32?
        var passthroughOpens = 0
        var ordinaryOpens = 0
    }
    private struct State {
        var files: [UInt64: Backing] = [:]
        /// How each open handle was answered: the inode, and whether it was passthrough.
        var handles: [ObjectIdentifier: (inode: UInt64, passthrough: Bool)] = [:]
    }
    private let state = Mutex(State())

    init(options: FuseOptions) {
        device = options.passthroughDevice ?? 0
        requested = options.passthrough && !options.writebackCache && options.passthroughDevice != nil
            && geteuid() == 0 && Self.kernelTracksEveryChange
    }

    /// Passthrough needs Linux 6.9; recsync asks for 6.13, whose multigrain timestamps make sure
    /// that a write right after a close moves the file's change time, which is how recsync learns
    /// that a file it cannot watch being written has changed.
    static var kernelTracksEveryChange: Bool {
        var name = utsname()
        guard uname(&name) == 0 else { return false }
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return false }
        return (numbers[0], numbers[1]) >= (6, 13)
    }

    /// The device of the folder at `fd` when its filesystem keeps change times to the
    /// nanosecond and moves them on every change (multigrain timestamps: ext4, XFS, Btrfs, tmpfs
    /// since Linux 6.13), so that a rewrite of the same size right after a look is never missed.
    /// vfat, exFAT, NFS and the like keep coarser times: nil, no passthrough.
    static func eligibleDevice(_ fd: Int32) -> UInt64? {
        var fs = statfs()
        var st = stat()
        guard fstatfs(fd, &fs) == 0, fstat(fd, &st) == 0 else { return nil }
        let multigrain: Set<Int> = [0xEF53, 0x5846_5342, 0x9123_683E, 0x0102_1994]  // ext4, XFS, Btrfs, tmpfs
        guard multigrain.contains(Int(fs.f_type)) else { return nil }
        // ext4 with 128-byte inodes keeps whole seconds: its times have no nanoseconds.
        guard st.st_ctim.tv_nsec != 0 || st.st_mtim.tv_nsec != 0 else { return nil }
        return UInt64(st.st_dev)
    }

    /// Whether opens are offered to the kernel: the INIT reply asked for passthrough.
    var active: Bool { requested && negotiated.load(ordering: .acquiring) }

    // MARK: The connection

    /// Serves the session's descriptor through our own read and writev, so that the INIT reply
    /// can carry what libfuse cannot express. Call right after `fuse_session_mount`.
    func install(on session: OpaquePointer) throws {
        guard requested else { return }
        var io = fuse_custom_io()
        io.read = { fd, buffer, length, userdata in
            let count = Glibc.read(fd, buffer, length)
            if count > 0, let buffer, let userdata {
                // Safe: userdata is the retained FuseContext passed to fuse_session_new; the
                // kernel wrote `count` bytes into `buffer`.
                Unmanaged<FuseContext>.fromOpaque(userdata).takeUnretainedValue().passthrough
                    .noteRequest(UnsafeRawBufferPointer(start: buffer, count: count))
            }
            return count
        }
        io.writev = { fd, iov, count, userdata in
            if let userdata, let iov {
                // Safe: as above; libfuse hands `count` iovecs of its own reply.
                Unmanaged<FuseContext>.fromOpaque(userdata).takeUnretainedValue().passthrough.amendInitReply(iov, count)
            }
            return Glibc.writev(fd, iov, count)
        }
        connection.store(fuse_session_fd(session), ordering: .releasing)
        let rc = fuse_session_custom_io(session, &io, fuse_session_fd(session))
        if rc != 0 { throw FSError(-rc, "could not serve the FUSE connection for kernel passthrough") }
    }

    /// Remembers the INIT request: its id, and whether the kernel offers passthrough
    /// (FUSE_INIT_EXT with FUSE_PASSTHROUGH, bit 37, in `flags2`) and FUSE_HANDLE_KILLPRIV_V2.
    /// After it, notes for the thread that handles each request whether it asks for the
    /// set-ID bits to be cleared (`requestKillsSetID`).
    func noteRequest(_ bytes: UnsafeRawBufferPointer) {
        let headerSize = MemoryLayout<fuse_in_header>.size
        guard bytes.count >= headerSize else { return }
        let header = bytes.loadUnaligned(as: fuse_in_header.self)
        if killPrivV2.load(ordering: .relaxed) {
            recsync_set_request_kills_setid(Self.killsSetID(header.opcode, bytes.dropFirst(headerSize)) ? 1 : 0)
            return
        }
        guard initUnique.load(ordering: .relaxed) == 0, !negotiated.load(ordering: .relaxed),
              header.opcode == FUSE_INIT.rawValue, bytes.count >= headerSize + MemoryLayout<fuse_init_in>.size else { return }
        let request = bytes.loadUnaligned(fromByteOffset: headerSize, as: fuse_init_in.self)
        let extended = request.flags & UInt32(FUSE_INIT_EXT) != 0
        offered.store(extended && request.flags2 & (UInt32(1) << (37 - 32)) != 0, ordering: .relaxed)
        offeredKillPrivV2.store(request.flags & Self.handleKillPrivV2 != 0, ordering: .relaxed)
        initUnique.store(header.unique, ordering: .releasing)
    }

    /// FUSE_HANDLE_KILLPRIV_V2 (protocol 7.33). With it the kernel no longer asks for
    /// `security.capability` before every write (the inode is marked as having nothing to drop,
    /// S_NOSEC, until its attributes change); in exchange it leaves the clearing of the set-ID
    /// bits to the filesystem and says when: `FUSE_WRITE_KILL_SUIDGID` in a WRITE,
    /// `FATTR_KILL_SUIDGID` in a SETATTR (truncate, chown), and an empty SETATTR for a write
    /// through a passthrough handle. (An O_TRUNC open is handled the same with or without it:
    /// `FuseFileOperations`.)
    static let handleKillPrivV2 = UInt32(1) << 28

    /// Whether a request's body asks for the set-ID bits to be cleared.
    static func killsSetID(_ opcode: UInt32, _ body: UnsafeRawBufferPointer.SubSequence) -> Bool {
        let base = UnsafeRawBufferPointer(rebasing: body)
        switch opcode {
        case FUSE_WRITE.rawValue where base.count >= MemoryLayout<fuse_write_in>.size:
            return base.loadUnaligned(as: fuse_write_in.self).write_flags & UInt32(FUSE_WRITE_KILL_SUIDGID) != 0
        case FUSE_SETATTR.rawValue where base.count >= MemoryLayout<fuse_setattr_in>.size:
            return base.loadUnaligned(as: fuse_setattr_in.self).valid & UInt32(FATTR_KILL_SUIDGID) != 0
        default:
            return false
        }
    }

    /// Whether the request this thread is handling asked for the set-ID bits to be cleared.
    static var requestKillsSetID: Bool { recsync_request_kills_setid() != 0 }

    /// Asks for passthrough in the reply to the INIT request, when the kernel offered it.
    func amendInitReply(_ iov: UnsafeMutablePointer<iovec>, _ count: Int32) {
        let unique = initUnique.load(ordering: .acquiring)
        guard unique != 0, count >= 2, iov[0].iov_len >= MemoryLayout<fuse_out_header>.size,
              let headerBase = iov[0].iov_base,
              headerBase.loadUnaligned(as: fuse_out_header.self).unique == unique else { return }
        initUnique.store(0, ordering: .relaxed)
        guard offered.load(ordering: .relaxed), iov[1].iov_len >= MemoryLayout<fuse_init_out>.size,
              let base = iov[1].iov_base else { return }
        let reply = base.assumingMemoryBound(to: fuse_init_out.self)
        guard reply.pointee.major == 7, reply.pointee.flags & UInt32(FUSE_INIT_EXT) != 0 else { return }
        reply.pointee.flags2 |= UInt32(1) << (37 - 32)  // FUSE_PASSTHROUGH
        reply.pointee.unused.0 = 1                      // max_stack_depth (protocol 7.40)
        if offeredKillPrivV2.load(ordering: .relaxed) {
            reply.pointee.flags |= Self.handleKillPrivV2
            killPrivV2.store(true, ordering: .releasing)
        }
        negotiated.store(true, ordering: .releasing)
    }

    // MARK: Open handles

    /// The registration for a new handle, or nil when the handle must be an ordinary one.
    /// Every call is matched by `released(handle:)`. A file whose other handles are passthrough
    /// gets the same registration (the kernel refuses an ordinary open beside them), one with
    /// ordinary handles gets another ordinary one (the kernel refuses the mix the other way too).
    func backingID(for handle: OpenFile, inode: UInt64, logger: Logger) -> Int32? {
        let key = ObjectIdentifier(handle)
        return state.withLock { state -> Int32? in
            var backing = state.files[inode] ?? Backing()
            defer { state.files[inode] = backing }
            if let id = backing.id {
                backing.passthroughOpens += 1
                state.handles[key] = (inode, true)
                return id
            }
            if backing.ordinaryOpens == 0, !refused.load(ordering: .relaxed), handle.inode.device == device {
                let id = Self.register(handle, connection: connection.load(ordering: .acquiring))
                if id > 0 {
                    if !announced.exchange(true, ordering: .relaxed) {
                        logger.info("kernel passthrough is on: reads and writes of open files go straight to the files on disk")
                    }
                    backing.id = id
                    backing.passthroughOpens += 1
                    state.handles[key] = (inode, true)
                    return id
                }
                let failure = errno
                // No CAP_SYS_ADMIN, or no passthrough in this kernel: the same for every file.
                if [EPERM, EOPNOTSUPP, ENOTTY, EINVAL].contains(failure), !refused.exchange(true, ordering: .relaxed) {
                    logger.notice("kernel passthrough is off for this mount: the kernel refused it (\(String(cString: strerror(failure)))); writes go through recsync")
                }
            }
            backing.ordinaryOpens += 1
            state.handles[key] = (inode, false)
            return nil
        }
    }

    /// Registers the handle's file with the connection through a read-only descriptor of its
    /// own, closed once the kernel holds it. The kernel keeps the registered descriptor until the
    /// registration is given back, and opens each handle's file afresh with that handle's own
    /// flags; registering the first opener's read-write descriptor would leave the file open for
    /// writing while readers alone still have it, and the uploader would take that for a writer
    /// it cannot see (`SyncEngine.noteUnseenWriter`). Returns the id, or -1 with errno set: when
    /// that descriptor cannot be had (out of descriptors), the handle is an ordinary one.
    /// O_NONBLOCK: never wait here, under the lock, for another process's lease to break.
    private static func register(_ handle: OpenFile, connection: Int32) -> Int32 {
        let fd = open("/proc/self/fd/\(handle.inode.fd)", O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return -1 }
        let id = recsync_fuse_backing_open(connection, fd)
        let failure = errno
        close(fd)
        errno = failure
        return id
    }

    /// The handle is gone: the last passthrough handle of a file gives its registration back.
    func released(handle: OpenFile) {
        state.withLock { state in
            guard let (inode, passthrough) = state.handles.removeValue(forKey: ObjectIdentifier(handle)),
                  var backing = state.files[inode] else { return }
            if passthrough { backing.passthroughOpens -= 1 } else { backing.ordinaryOpens -= 1 }
            if backing.passthroughOpens == 0, let id = backing.id {
                _ = recsync_fuse_backing_close(connection.load(ordering: .acquiring), UInt32(id))
                backing.id = nil
            }
            state.files[inode] = backing.passthroughOpens == 0 && backing.ordinaryOpens == 0 ? nil : backing
        }
    }

    // MARK: Replies libfuse 3.14 cannot build

    static func openReply(_ fi: UnsafeMutablePointer<fuse_file_info>, backingID: Int32) -> fuse_open_out {
        var open = fuse_open_out()
        open.fh = fi.pointee.fh
        open.open_flags = 1 << 7  // FOPEN_PASSTHROUGH
        open.padding = UInt32(bitPattern: backingID)  // backing_id (protocol 7.40)
        return open
    }

    static func replyOpen(_ req: fuse_req_t?, _ fi: UnsafeMutablePointer<fuse_file_info>, backingID: Int32) -> Int32 {
        var open = openReply(fi, backingID: backingID)
        return withUnsafeBytes(of: &open) { fuse_reply_buf(req, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
    }

    static func replyCreate(_ req: fuse_req_t?, _ param: fuse_entry_param, _ fi: UnsafeMutablePointer<fuse_file_info>,
                            backingID: Int32) -> Int32 {
        var reply = (entryOut(param), openReply(fi, backingID: backingID))
        let size = MemoryLayout<fuse_entry_out>.size + MemoryLayout<fuse_open_out>.size
        return withUnsafeBytes(of: &reply) { raw in
            precondition(raw.count >= size && MemoryLayout<(fuse_entry_out, fuse_open_out)>.offset(of: \.1) == MemoryLayout<fuse_entry_out>.size)
            return fuse_reply_buf(req, raw.baseAddress?.assumingMemoryBound(to: CChar.self), size)
        }
    }

    /// What `fuse_reply_entry` sends for `param`.
    static func entryOut(_ param: fuse_entry_param) -> fuse_entry_out {
        var out = fuse_entry_out()
        out.nodeid = UInt64(param.ino)
        out.generation = UInt64(param.generation)
        (out.entry_valid, out.entry_valid_nsec) = split(param.entry_timeout)
        (out.attr_valid, out.attr_valid_nsec) = split(param.attr_timeout)
        let st = param.attr
        out.attr.ino = UInt64(st.st_ino)
        out.attr.mode = st.st_mode
        out.attr.nlink = UInt32(st.st_nlink)
        out.attr.uid = st.st_uid
        out.attr.gid = st.st_gid
        out.attr.rdev = UInt32(truncatingIfNeeded: st.st_rdev)
        out.attr.size = UInt64(st.st_size)
        out.attr.blksize = UInt32(st.st_blksize)
        out.attr.blocks = UInt64(st.st_blocks)
        out.attr.atime = UInt64(bitPattern: Int64(st.st_atim.tv_sec))
        out.attr.atimensec = UInt32(st.st_atim.tv_nsec)
        out.attr.mtime = UInt64(bitPattern: Int64(st.st_mtim.tv_sec))
        out.attr.mtimensec = UInt32(st.st_mtim.tv_nsec)
        out.attr.ctime = UInt64(bitPattern: Int64(st.st_ctim.tv_sec))
        out.attr.ctimensec = UInt32(st.st_ctim.tv_nsec)
        return out
    }

    /// A timeout as whole seconds and nanoseconds, as libfuse sends it.
    static func split(_ seconds: Double) -> (UInt64, UInt32) {
        guard seconds > 0 else { return (0, 0) }
        let whole = seconds.rounded(.down)
        return (UInt64(whole), UInt32((seconds - whole) * 1e9))
    }
}
