import CSysShims
import FoundationEssentials
import Logging
import Synchronization
import Glibc

/// A passthrough filesystem core in the style of libfuse's passthrough_hp: every inode keeps an
/// O_PATH descriptor of its backing file and every operation is a `*at()` call relative to it.
/// It knows nothing of FUSE: the adapter turns kernel requests into these calls and their
/// thrown `FSError`s into replies, so the core is tested without a mount.
///
/// Threading: called concurrently from FUSE worker threads. Shared state lives in
/// `InodeTable` (its own lock) and per-inode `writeState` mutexes; see `Inode` for the order.
public final class PassthroughFS: @unchecked Sendable {
    let table: InodeTable
    let hooks: SyncHooks
    let logger: Logger
    /// The backing root as the kernel names it, used to turn an fd's path into a mount-relative one.
    let rootPrefix: String
    /// True when running as root: new files are given to the calling user.
    let actsForCallers: Bool
    /// Every handle open for writing, so a stop can name them and make their bytes durable.
    let writerHandles = Mutex<[ObjectIdentifier: OpenFile]>([:])
    /// Called when a lookup finds the process out of descriptors (the FUSE adapter's evictor).
    public let descriptorPressure = Mutex<Callback<Void>?>(nil)

    /// - Parameter rootFd: an O_PATH (or O_RDONLY) descriptor of the folder that holds the recordings,
    ///   opened before anything was mounted over it. The core takes ownership.
    public init(rootFd: Int32, hooks: SyncHooks, logger: Logger) throws {
        table = try InodeTable(rootFd: rootFd)
        self.hooks = hooks
        self.logger = logger
        rootPrefix = try Sys.descriptorTarget(rootFd)
        actsForCallers = geteuid() == 0
    }

    public var root: Inode { table.root }
    public var knownInodeCount: Int { table.count }

    public func inode(_ id: UInt64) throws -> Inode { try table.get(id) }

    // MARK: Paths

    /// The mount-relative path of an inode (`""` for the root), or nil if it was deleted.
    public func relativePath(of inode: Inode) -> String? {
        if inode.id == 1 { return "" }
        guard let full = try? Sys.descriptorTarget(inode.fd) else { return nil }
        let prefix = rootPrefix == "/" ? "/" : rootPrefix + "/"
        guard let relative = NameCoding.dropPrefix(prefix, from: full) else { return nil }
        // The kernel appends " (deleted)" to removed files, but a name may really end that way:
        // only trust the path if it still leads to this inode.
        if full.utf8.reversed().starts(with: " (deleted)".utf8.reversed()) && !names(inode, relative) { return nil }
        return relative
    }

    /// Whether `relative` (from the root) is a name of `inode` right now.
    private func names(_ inode: Inode, _ relative: String) -> Bool {
        guard let st = try? Sys.fstatat(table.root.fd, relative) else { return false }
        return UInt64(st.st_dev) == inode.device && UInt64(st.st_ino) == inode.backingInode
    }

    func relativePath(parent: Inode, name: String) -> String? {
        guard let dir = relativePath(of: parent) else { return nil }
        return dir.isEmpty ? name : dir + "/" + name
    }

    // MARK: Lookup and attributes

    public func lookup(parent: UInt64, name: String) throws -> Entry {
        let dir = try table.get(parent)
        return try lookup(in: dir, name: name)
    }

    func lookup(in dir: Inode, name: String) throws -> Entry {
        let fd = try openPath(in: dir, name: name)
        let st: stat
        do { st = try Sys.fstat(fd) } catch { Sys.close(fd); throw error }
        let inode = table.adopt(fd: fd, stat: st, parent: dir.id, name: name)
        return Entry(inode: inode, attributes: st)
    }

    /// The O_PATH descriptor of an inode.
    private func openPath(in dir: Inode, name: String) throws -> Int32 {
        try withDescriptor { try Sys.openat(dir.fd, name, Sys.oPath | Sys.oNoFollow) }
    }

    /// Runs a call that opens a descriptor. When the process is out of descriptors (the kernel
    /// keeps every name a `find` walked), the evictor is asked to make the kernel forget the
    /// least used names, and the call is tried again for up to a second. (A failed open made
    /// nothing, so trying again is safe, O_CREAT|O_EXCL included.)
    func withDescriptor(_ open: () throws -> Int32) throws -> Int32 {
        var waited = 0
        while true {
            do {
                return try open()
            } catch let error as FSError where (error.errno == EMFILE || error.errno == ENFILE) && waited < 20 {
                descriptorPressure.withLock { $0 }?()
                usleep(50_000)
                waited += 1
            }
        }
    }

    /// Files the kernel knows, the least used first, for the evictor (see `leastRecentlyUsedFiles`).
    public func leastRecentlyUsedFiles(_ count: Int) -> [(parent: UInt64, name: String)] {
        table.leastRecentlyUsedFiles(count)
    }

    public func forget(_ id: UInt64, count: UInt64) {
        table.forget(id, count: count)
    }

    public func getattr(_ id: UInt64) throws -> stat {
        try Sys.fstat(try table.get(id).fd)
    }

    public func statfs(_ id: UInt64) throws -> statvfs {
        let inode = try table.get(id)
        var result = statvfs()
        _ = try Sys.check("statfs") { fstatvfs(inode.fd, &result) }
        return result
    }

    public func readlink(_ id: UInt64) throws -> String {
        try Sys.readlinkat(try table.get(id).fd, "")
    }

    /// The credentials of the process that made a request, used to give new files to their creator.
    public struct Caller: Sendable {
        public let uid: uid_t
        public let gid: gid_t
        /// The caller's supplementary groups, asked for only when a decision needs them; nil when
        /// they cannot be known (then nothing is decided on them).
        public let groups: @Sendable () -> [gid_t]?
        public init(uid: uid_t, gid: gid_t, groups: @escaping @Sendable () -> [gid_t]? = { nil }) {
            self.uid = uid
            self.gid = gid
            self.groups = groups
        }
    }

    /// Gives a freshly created entry to the calling user, as a local filesystem would.
    /// The group follows a setgid parent folder, as the kernel does.
    func chownNew(dir: Inode, name: String, caller: Caller?) throws {
        guard actsForCallers, let caller, caller.uid != 0 || caller.gid != 0 else { return }
        let parent = try Sys.fstat(dir.fd)
        let gid = (parent.st_mode & S_ISGID) != 0 ? parent.st_gid : caller.gid
        _ = try Sys.named("chown", name) { fchownat(dir.fd, $0, caller.uid, gid, Sys.atSymlinkNoFollow) }
    }
}
