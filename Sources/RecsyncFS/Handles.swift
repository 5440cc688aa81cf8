import FoundationEssentials
import Synchronization
import Glibc

/// An open file: a real read/write descriptor on the backing file.
/// `flushed` and `seen` are guarded by the inode's `writeState` lock.
public final class OpenFile: @unchecked Sendable {
    public let inode: Inode
    /// Readable/writable descriptor of the backing file.
    public let fd: Int32
    public let isWriter: Bool
    /// A writer whose writes may go from the kernel straight to the backing file (kernel FUSE
    /// passthrough), never through recsync: whether it changed the file is read from the
    /// backing file's size and times at each close.
    public let writesUnseen: Bool
    var flushed = false
    /// The backing file's identity when last looked at, for a writer whose writes are unseen.
    var seen: FileIdentity?

    init(inode: Inode, fd: Int32, isWriter: Bool, writesUnseen: Bool = false) {
        self.inode = inode
        self.fd = fd
        self.isWriter = isWriter
        self.writesUnseen = writesUnseen && isWriter
    }
}

/// An open folder being listed. Only one thread uses a directory handle at a time
/// (the kernel serialises readdir on one open folder), so no lock is needed.
public final class DirHandle: @unchecked Sendable {
    public let inode: Inode
    let stream: OpaquePointer
    /// Offset of the entry `readdir` would return next, to detect seeks.
    var position: Int64 = 0

    init(inode: Inode, stream: OpaquePointer) {
        self.inode = inode
        self.stream = stream
    }
}

/// One folder entry as readdir reports it.
public struct DirEntry: Sendable {
    public let name: String
    public let inode: UInt64
    public let type: UInt8
    /// Offset to resume after this entry.
    public let nextOffset: Int64
}

/// The result of lookup, create, mkdir and the other calls that make an entry known to the kernel.
public struct Entry: @unchecked Sendable {
    public let inode: Inode
    public let attributes: stat
}
