import CSysShims
import FoundationEssentials
import Glibc

extension PassthroughFS {
    public func opendir(_ id: UInt64) throws -> DirHandle {
        let inode = try table.get(id)
        let fd = try withDescriptor { try Sys.openat(inode.fd, ".", O_RDONLY | Sys.oDirectory) }
        guard let stream = fdopendir(fd) else {
            let error = FSError.fromErrno("opendir")
            Sys.close(fd)
            throw error
        }
        return DirHandle(inode: inode, stream: stream)
    }

    /// Calls `body` for each entry from `offset` on until it returns false (the reply buffer
    /// is full); the entry that did not fit is returned again by the next call.
    public func readdir(_ handle: DirHandle, offset: Int64, body: (DirEntry) -> Bool) throws {
        if offset != handle.position {
            seekdir(handle.stream, Int(offset))
            handle.position = offset
        }
        while true {
            let before = telldir(handle.stream)
            errno = 0
            guard let entry = Glibc.readdir(handle.stream) else {
                if errno != 0 { throw FSError.fromErrno("readdir") }
                return
            }
            let name = NameCoding.text(entry: entry)
            let item = DirEntry(name: name, inode: UInt64(entry.pointee.d_ino), type: entry.pointee.d_type,
                                nextOffset: Int64(entry.pointee.d_off))
            if !body(item) {
                seekdir(handle.stream, before)
                handle.position = Int64(before)
                return
            }
            handle.position = item.nextOffset
        }
    }

    public func releasedir(_ handle: DirHandle) {
        closedir(handle.stream)
    }

    public func fsyncdir(_ handle: DirHandle, dataOnly: Bool) throws {
        let fd = dirfd(handle.stream)
        _ = try Sys.check("fsync") { dataOnly ? fdatasync(fd) : Glibc.fsync(fd) }
    }
}
