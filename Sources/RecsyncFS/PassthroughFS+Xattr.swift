import CSysShims
import FoundationEssentials
import Glibc

/// Extended attributes: `user.sync.*` belong to recsync and are answered by the sync engine;
/// every other name passes through to the backing file.
extension PassthroughFS {
    public static let syncPrefix = "user.sync."

    public func getxattr(_ id: UInt64, name: String, caller: Caller? = nil) throws -> [UInt8] {
        let inode = try table.get(id)
        if name.utf8.starts(with: Self.syncPrefix.utf8) {
            guard let path = relativePath(of: inode) else { throw FSError(ENOENT, "file was deleted") }
            guard let value = try hooks.syncAttribute(path: path, name: name, isDirectory: inode.isDirectory, caller: caller) else {
                throw FSError(ENODATA, "no attribute \(name)")
            }
            // A path (user.sync.events) is given as its bytes, like a name; the rest is text.
            return name == "user.sync.events" ? NameCoding.bytes(of: value) : Array(value.utf8)
        }
        if inode.isSymlinkLike { throw FSError(ENOTSUP, "extended attributes of symlinks are not supported") }
        let path = Sys.procPath(inode.fd)
        while true {
            let size = NameCoding.withCString(name) { CSysShims.getxattr(path, $0, nil, 0) }
            if size < 0 { throw FSError.fromErrno("getxattr", name) }
            var buffer = [UInt8](repeating: 0, count: size)
            let got = NameCoding.withCString(name) { CSysShims.getxattr(path, $0, &buffer, buffer.count) }
            if got < 0 {
                if errno == ERANGE { continue }  // grew between the two calls
                throw FSError.fromErrno("getxattr", name)
            }
            return Array(buffer[0..<got])
        }
    }

    /// Attribute names as a list of NUL-terminated strings, as listxattr(2) returns them.
    public func listxattr(_ id: UInt64, caller: Caller? = nil) throws -> [UInt8] {
        let inode = try table.get(id)
        var result: [UInt8] = []
        if !inode.isSymlinkLike {
            let path = Sys.procPath(inode.fd)
            while true {
                let size = CSysShims.listxattr(path, nil, 0)
                if size < 0 { throw FSError.fromErrno("listxattr") }
                var buffer = [UInt8](repeating: 0, count: size)
                let got = CSysShims.listxattr(path, &buffer, buffer.count)
                if got < 0 {
                    if errno == ERANGE { continue }
                    throw FSError.fromErrno("listxattr")
                }
                result = Array(buffer[0..<got])
                break
            }
        }
        // The kernel allows no user.* attributes on symlinks, FIFOs, sockets or devices.
        let st = try Sys.fstat(inode.fd)
        if st.isRegular || st.isDirectory, let path = relativePath(of: inode) {
            for name in hooks.syncAttributeNames(path: path, isDirectory: inode.isDirectory, caller: caller) {
                result.append(contentsOf: Array(name.utf8) + [0])
            }
        }
        return result
    }

    public func setxattr(_ id: UInt64, name: String, value: [UInt8], flags: Int32) throws {
        let inode = try table.get(id)
        if name.utf8.starts(with: Self.syncPrefix.utf8) {
            guard let path = relativePath(of: inode) else { throw FSError(ENOENT, "file was deleted") }
            try hooks.setSyncAttribute(path: path, name: name, value: value)
            return
        }
        if inode.isSymlinkLike { throw FSError(ENOTSUP, "extended attributes of symlinks are not supported") }
        _ = try Sys.check("setxattr", name) { NameCoding.withCString(name) { CSysShims.setxattr(Sys.procPath(inode.fd), $0, value, value.count, flags) } }
    }

    public func removexattr(_ id: UInt64, name: String) throws {
        let inode = try table.get(id)
        if name.utf8.starts(with: Self.syncPrefix.utf8) {
            throw FSError(EPERM, "\(name) is maintained by recsync and cannot be removed")
        }
        if inode.isSymlinkLike { throw FSError(ENOTSUP, "extended attributes of symlinks are not supported") }
        _ = try Sys.check("removexattr", name) { NameCoding.withCString(name) { CSysShims.removexattr(Sys.procPath(inode.fd), $0) } }
    }
}
