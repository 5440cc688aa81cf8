import FoundationEssentials
import Glibc

/// What a stop needs to know about files that programs still hold open for writing.
///
/// Locking: `writerHandles` is taken alone; the descriptors it holds stay open while they are in
/// it (a handle leaves the registry before `release` closes its descriptor), so an fsync under
/// the lock never reaches a closed or reused descriptor.
extension PassthroughFS {
    /// Mount-relative paths of the files open for writing right now, sorted and without repeats.
    /// A file deleted while open is not listed: there is nothing left to keep.
    public func filesOpenForWriting() -> [String] {
        let inodes = writerHandles.withLock { handles in handles.values.map(\.inode) }
        var seen = Set<ObjectIdentifier>()
        let paths = inodes.filter { seen.insert(ObjectIdentifier($0)).inserted }.compactMap { relativePath(of: $0) }
        var unique = Set<PathKey>()
        return paths.filter { unique.insert(PathKey($0)).inserted }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Makes everything written so far to files still open for writing durable (fsync of each
    /// backing descriptor). Returns how many descriptors were synced and the errors met.
    @discardableResult
    public func syncOpenWriters() -> (synced: Int, errors: [String]) {
        writerHandles.withLock { handles in
            var synced = 0
            var errors: [String] = []
            for handle in handles.values {
                if Glibc.fsync(handle.fd) == 0 {
                    synced += 1
                } else {
                    errors.append("\(relativePath(of: handle.inode) ?? "(deleted file)"): \(String(cString: strerror(errno)))")
                }
            }
            return (synced, errors)
        }
    }
}
