import FoundationEssentials
import Synchronization
import Glibc

/// One file or folder the kernel knows about: an O_PATH descriptor on the backing file,
/// the kernel's lookup count, and the write tracking that decides when a file is queued.
///
/// Locking: `Inode` fields are guarded by `InodeTable.lock` (lookup counts) or by the
/// inode's own `writeState` mutex (write tracking). The table lock is always taken first;
/// never call into `SyncHooks` while holding either lock.
public final class Inode: @unchecked Sendable {
    public let id: UInt64
    /// O_PATH descriptor of the backing file; closed when the kernel forgets the inode.
    public let fd: Int32
    public let device: UInt64
    let backingInode: UInt64
    let isDirectory: Bool
    /// Guarded by `InodeTable.lock`.
    var lookupCount: UInt64 = 0
    /// The folder and name it was last looked up by, and when it was last used (a tick of the
    /// table): what the descriptor evictor needs to ask the kernel to forget it. Guarded by
    /// `InodeTable.lock`.
    var parentID: UInt64 = 0
    var lastName = ""
    var lastUse: UInt64 = 0

    let writeState = Mutex(WriteState())

    init(id: UInt64, fd: Int32, device: UInt64, backingInode: UInt64, isDirectory: Bool) {
        self.id = id
        self.fd = fd
        self.device = device
        self.backingInode = backingInode
        self.isDirectory = isDirectory
    }
}

/// How the writers of one file stand. A file is queued when it has changes that were not
/// queued yet and no writer handle remains that has not been closed (flushed) at least once.
struct WriteState {
    /// Writer handles that are open and were never flushed (close() not called yet).
    var activeWriters = 0
    /// Writer handles still open (released later than their close()).
    var openWriters = 0
    /// Content changed since the last time the file was queued.
    var dirty = false
}

/// Maps kernel inode numbers to `Inode`s and back-end (device, inode) pairs to the same objects.
/// Locking: every access goes through `lock`.
final class InodeTable: @unchecked Sendable {
    private struct State {
        var byID: [UInt64: Inode] = [:]
        var byBacking: [BackingKey: Inode] = [:]
        var nextID: UInt64 = 2
        var tick: UInt64 = 0
    }
    private struct BackingKey: Hashable { let device: UInt64; let inode: UInt64 }

    private let lock: Mutex<State>
    let root: Inode

    init(rootFd: Int32) throws {
        let st = try Sys.fstat(rootFd)
        root = Inode(id: 1, fd: rootFd, device: UInt64(st.st_dev), backingInode: UInt64(st.st_ino), isDirectory: true)
        root.lookupCount = 1
        var state = State()
        state.byID[1] = root
        state.byBacking[BackingKey(device: root.device, inode: root.backingInode)] = root
        lock = Mutex(state)
    }

    func get(_ id: UInt64) throws -> Inode {
        let found = lock.withLock { state -> Inode? in
            guard let inode = state.byID[id] else { return nil }
            state.tick &+= 1
            inode.lastUse = state.tick
            return inode
        }
        if let inode = found { return inode }
        throw FSError(ESTALE, "unknown inode \(id); the kernel asked for an inode recsync already forgot")
    }

    /// Returns the inode for a freshly opened O_PATH fd, taking one lookup reference.
    /// If the backing file is already known, `fd` is closed and the existing inode is used.
    func adopt(fd: Int32, stat st: stat, parent: UInt64 = 0, name: String = "") -> Inode {
        let key = BackingKey(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        let (inode, duplicate) = lock.withLock { state -> (Inode, Bool) in
            state.tick &+= 1
            if let existing = state.byBacking[key] {
                existing.lookupCount += 1
                existing.parentID = parent
                existing.lastName = name
                existing.lastUse = state.tick
                return (existing, true)
            }
            let inode = Inode(id: state.nextID, fd: fd, device: key.device, backingInode: key.inode,
                              isDirectory: st.isDirectory)
            state.nextID += 1
            inode.lookupCount = 1
            inode.parentID = parent
            inode.lastName = name
            inode.lastUse = state.tick
            state.byID[inode.id] = inode
            state.byBacking[key] = inode
            return (inode, false)
        }
        if duplicate { Sys.close(fd) }
        return inode
    }

    /// Drops `count` lookup references; the inode's fd is closed when none remain.
    func forget(_ id: UInt64, count: UInt64) {
        let dropped: Inode? = lock.withLock { state in
            guard let inode = state.byID[id], inode.id != 1 else { return nil }
            precondition(inode.lookupCount >= count, "inode \(id): forget of \(count) exceeds lookup count \(inode.lookupCount)")
            inode.lookupCount -= count
            guard inode.lookupCount == 0 else { return nil }
            state.byID[id] = nil
            state.byBacking[BackingKey(device: inode.device, inode: inode.backingInode)] = nil
            return inode
        }
        if let dropped { Sys.close(dropped.fd) }
    }

    var count: Int { lock.withLock { $0.byID.count } }

    /// The `count` files (not folders) used least recently, as (folder, name) pairs the kernel
    /// can be asked to forget.
    func leastRecentlyUsedFiles(_ count: Int) -> [(parent: UInt64, name: String)] {
        guard count > 0 else { return [] }
        return lock.withLock { state in
            let chosen = state.byID.values.filter { !$0.isDirectory && $0.id != 1 && $0.parentID != 0 && !$0.lastName.isEmpty }
                .sorted { $0.lastUse < $1.lastUse }
                .prefix(count)
            // Asked about once: they go to the back, so names the kernel keeps (a file still open)
            // do not come first again at every round.
            for inode in chosen {
                state.tick &+= 1
                inode.lastUse = state.tick
            }
            return chosen.map { ($0.parentID, $0.lastName) }
        }
    }

    /// A known backing file now has this folder and name (after a rename the kernel keeps its
    /// cached entry and looks nothing up again).
    func noteName(of st: stat, parent: UInt64, name: String) {
        let key = BackingKey(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        lock.withLock { state in
            guard let inode = state.byBacking[key] else { return }
            inode.parentID = parent
            inode.lastName = name
        }
    }
}
