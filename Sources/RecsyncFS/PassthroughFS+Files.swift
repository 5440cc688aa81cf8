import CSysShims
import FoundationEssentials
import Glibc

/// Opening, reading, writing and closing files, and the write tracking that queues a file
/// when its last writer closes it.
extension PassthroughFS {
    /// Flag adjustments for the backing file. O_DIRECT is the kernel's business: it already
    /// bypasses the mount's page cache for such a file, and the buffers it hands us are not
    /// aligned as the backing disk's direct I/O needs. The kernel's writeback cache (when on) may
    /// read pages of files opened write-only, and implements O_APPEND itself.
    func backingOpenFlags(_ flags: Int32, writebackCache: Bool) -> Int32 {
        var result = flags & ~Sys.oNoFollow & ~recsync_O_DIRECT
        if writebackCache {
            if (result & O_ACCMODE) == O_WRONLY { result = (result & ~O_ACCMODE) | O_RDWR }
            result &= ~O_APPEND
        }
        return result
    }

    static func isWriteOpen(_ flags: Int32) -> Bool {
        (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0
    }

    /// Opens a file. `writesUnseen`: the kernel may send this handle's writes straight to the
    /// backing file (kernel passthrough); the file then counts as being written from the open
    /// on (its status is `local`), and each close looks at the backing file to learn whether it
    /// changed.
    public func open(_ id: UInt64, flags: Int32, writebackCache: Bool = false, writesUnseen: Bool = false) throws -> OpenFile {
        let inode = try table.get(id)
        if inode.isDirectory { throw FSError(EISDIR, "cannot open a folder as a file") }
        let fd = try withDescriptor { try Sys.openat(AT_FDCWD, Sys.procPath(inode.fd), backingOpenFlags(flags, writebackCache: writebackCache)) }
        let handle = OpenFile(inode: inode, fd: fd, isWriter: Self.isWriteOpen(flags), writesUnseen: writesUnseen)
        if handle.isWriter {
            registerWriter(handle)
            if let path = relativePath(of: inode) {
                hooks.fileOpenedForWriting(path: path)
                if handle.writesUnseen { hooks.fileIsBeingWritten(path: path) }
            }
        }
        if (flags & O_TRUNC) != 0 { markChanged(inode) }
        return handle
    }

    public func create(parent: UInt64, name: String, mode: mode_t, flags: Int32, caller: Caller?,
                       writebackCache: Bool = false, writesUnseen: Bool = false) throws -> (Entry, OpenFile) {
        let dir = try table.get(parent)
        let openFlags = backingOpenFlags(flags | O_CREAT, writebackCache: writebackCache)
        let fd = try withDescriptor { try Sys.withModesAsGiven { try Sys.openat(dir.fd, name, openFlags, mode) } }
        do {
            try chownNew(dir: dir, name: name, caller: caller)
            let entry = try lookup(in: dir, name: name)
            let handle = OpenFile(inode: entry.inode, fd: fd, isWriter: true, writesUnseen: writesUnseen)
            registerWriter(handle)
            markChanged(entry.inode)
            return (entry, handle)
        } catch {
            Sys.close(fd)
            throw error
        }
    }

    /// Reads into memory (the FUSE adapter may instead hand `handle.fd` to the kernel to splice).
    public func read(_ handle: OpenFile, size: Int, offset: Int64) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: size)
        let count = try buffer.withUnsafeMutableBytes { raw in
            // Safe: pread writes at most raw.count bytes into the array's own storage.
            try Sys.check("read") { Int32(truncatingIfNeeded: pread(handle.fd, raw.baseAddress, raw.count, off_t(offset))) }
        }
        buffer.removeSubrange(Int(count)...)
        return buffer
    }

    /// Writes all of `bytes` at `offset` and marks the file changed.
    public func write(_ handle: OpenFile, bytes: UnsafeRawBufferPointer, offset: Int64) throws -> Int {
        var written = 0
        while written < bytes.count {
            let result = pwrite(handle.fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if result < 0 {
                if errno == EINTR { continue }
                throw FSError.fromErrno("write")
            }
            written += result
        }
        markChanged(handle.inode)
        return written
    }

    /// Called after data reached the backing file by other means (spliced buffers).
    public func noteWritten(_ handle: OpenFile) {
        markChanged(handle.inode)
    }

    /// close() of one descriptor of the handle: when no unclosed writer remains and the file
    /// changed, it is queued durably before this returns.
    public func flush(_ handle: OpenFile) throws {
        guard handle.isWriter else { return }
        lookForUnseenWrites(handle)
        handle.inode.writeState.withLock { state in
            if !handle.flushed {
                handle.flushed = true
                state.activeWriters -= 1
            }
        }
        try queueIfSettled(handle.inode)
    }

    /// The kernel dropped its last reference to the handle.
    public func release(_ handle: OpenFile) {
        if handle.isWriter { writerHandles.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(handle)) } }
        guard handle.isWriter else { Sys.close(handle.fd); return }
        lookForUnseenWrites(handle)
        Sys.close(handle.fd)
        let lastWriter = handle.inode.writeState.withLock { state -> Bool in
            state.openWriters -= 1
            if !handle.flushed {
                handle.flushed = true
                state.activeWriters -= 1
            }
            return state.openWriters == 0
        }
        do {
            let queued = try queueIfSettled(handle.inode)
            if lastWriter && !queued, let path = relativePath(of: handle.inode) {
                hooks.fileWritersReleased(path: path)
            }
        } catch {
            logger.error("could not queue a file after its last close", metadata: ["error": "\(error)"])
        }
    }

    public func fsync(_ handle: OpenFile, dataOnly: Bool) throws {
        _ = try Sys.check("fsync") { dataOnly ? fdatasync(handle.fd) : Glibc.fsync(handle.fd) }
    }

    // MARK: Write tracking

    func registerWriter(_ handle: OpenFile) {
        if handle.writesUnseen, let identity = FileIdentity.of(fd: handle.fd) {
            handle.inode.writeState.withLock { _ in handle.seen = identity }
        }
        writerHandles.withLock { $0[ObjectIdentifier(handle)] = handle }
        handle.inode.writeState.withLock { state in
            state.openWriters += 1
            state.activeWriters += 1
        }
    }

    /// For a writer whose writes do not pass through recsync: marks the file changed when its
    /// size or times moved since the handle last looked (or when they cannot be read).
    func lookForUnseenWrites(_ handle: OpenFile) {
        guard handle.writesUnseen else { return }
        let now = FileIdentity.of(fd: handle.fd)
        let changed = handle.inode.writeState.withLock { _ -> Bool in
            defer { handle.seen = now }
            return now == nil || now != handle.seen
        }
        if changed { markChanged(handle.inode) }
    }

    /// Records that the file's content changed; tells the engine on the first change since it was queued.
    func markChanged(_ inode: Inode) {
        let first = inode.writeState.withLock { state -> Bool in
            if state.dirty { return false }
            state.dirty = true
            return true
        }
        if first, let path = relativePath(of: inode) {
            hooks.fileIsBeingWritten(path: path)
        }
    }

    /// Queues the file if it changed and every writer has closed it. Returns whether it did.
    @discardableResult
    func queueIfSettled(_ inode: Inode) throws -> Bool {
        let (due, stillOpen) = inode.writeState.withLock { state -> (Bool, Bool) in
            guard state.dirty, state.activeWriters <= 0 else { return (false, false) }
            state.dirty = false
            return (true, state.openWriters > 0)
        }
        guard due else { return false }
        guard let path = relativePath(of: inode) else { return false }  // deleted while open: nothing to upload
        do {
            try hooks.fileWasWritten(path: path, stillOpen: stillOpen)
            return true
        } catch {
            inode.writeState.withLock { $0.dirty = true }
            throw FSError.wrap(error, operation: "queueing \(path) for upload")
        }
    }
}
