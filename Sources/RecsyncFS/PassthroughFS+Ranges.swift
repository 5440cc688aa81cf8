import CSysShims
import FoundationEssentials
import Glibc

/// fallocate, SEEK_DATA/SEEK_HOLE and copy_file_range: passed to the backing file as they are,
/// so preallocation, punched holes, sparse copies and server-side-free copies behave as on ext4.
extension PassthroughFS {
    /// fallocate(2) on an open file. Anything but a plain preallocation that keeps the size
    /// (punching a hole, zeroing a range, growing the file) changes the content.
    public func fallocate(_ handle: OpenFile, mode: Int32, offset: Int64, length: Int64) throws {
        _ = try Sys.check("fallocate") { recsync_fallocate(handle.fd, mode, offset, length) }
        if mode != recsync_FALLOC_FL_KEEP_SIZE { markChanged(handle.inode) }
    }

    /// lseek(2) with SEEK_DATA or SEEK_HOLE (the kernel answers the other kinds itself).
    public func seek(_ handle: OpenFile, offset: Int64, whence: Int32) throws -> Int64 {
        let result = Glibc.lseek(handle.fd, off_t(offset), whence)
        if result < 0 { throw FSError.fromErrno("lseek") }
        return Int64(result)
    }

    /// copy_file_range(2) between two open files of the mount; the destination changed.
    public func copyRange(from source: OpenFile, at sourceOffset: Int64, to destination: OpenFile, at destinationOffset: Int64,
                          length: Int, flags: UInt32) throws -> Int {
        // The reply carries a 32-bit count: copy at most 1 GiB per request (the caller asks again).
        let length = min(length, 1 << 30)
        while true {
            let copied = recsync_copy_file_range(source.fd, sourceOffset, destination.fd, destinationOffset, length, flags)
            if copied < 0 {
                if errno == EINTR { continue }
                throw FSError.fromErrno("copy_file_range")
            }
            if copied > 0 { markChanged(destination.inode) }
            return Int(copied)
        }
    }
}
