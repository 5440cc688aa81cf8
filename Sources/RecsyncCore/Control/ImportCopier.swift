import CSysShims
import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncStore
import Glibc

/// `recsync import`: brings existing recordings in at LOW priority, so an old archive never
/// pushes aside what was just recorded. Files already inside the mount are queued; files and
/// folders outside it are copied into the mount's folder first (never over an existing file).
struct ImportCopier {
    let engine: SyncEngine
    let mountpoint: String
    let logger: Logger

    func run(_ paths: [String], destination: String) throws -> ControlResponse {
        var queued = 0
        var copied = 0
        var skipped: [String] = []
        for path in paths {
            if NameCoding.isSameOrInside(path, mountpoint) {
                let relative = String((NameCoding.dropPrefix(mountpoint, from: path) ?? "").unicodeScalars.drop { $0 == "/" })
                for file in try ControlHandler.items(engine: engine, under: relative, mountpoint: mountpoint).filter({ $0.kind == nil }).map(\.path) {
                    if try engine.queue.record(path: file) != nil { skipped.append(file); continue }
                    try engine.enqueue(path: file, priority: .low)
                    queued += 1
                }
            } else {
                let name = NameCoding.split(path).name
                let target = destination.isEmpty ? name : destination + "/" + name
                try copy(source: path, to: target, queued: &queued, copied: &copied, skipped: &skipped)
            }
        }
        if queued > 0 { engine.wake() }
        logger.info("import", metadata: ["queued": "\(queued)", "copied": "\(copied)", "skipped": "\(skipped.count)"])
        var response = ControlResponse(ok: true)
        response.changed = queued
        response.copied = copied
        response.skipped = skipped
        return response
    }

    /// Copies `source` (a file or a tree). Each item is opened once, with O_NOFOLLOW, relative to
    /// its folder's descriptor, and what is copied is what that descriptor is: a folder swapped
    /// for a symbolic link while the import runs can never lead it to files elsewhere.
    private func copy(source: String, to target: String, queued: inout Int, copied: inout Int, skipped: inout [String]) throws {
        let fd = NameCoding.withCString(source) { Glibc.open($0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        guard fd >= 0 else {
            if errno == ELOOP { skipped.append(target); return }  // a symbolic link: not imported
            throw ControlError("cannot import \(NameCoding.display(source)): \(String(cString: strerror(errno)))")
        }
        try copy(fd: fd, display: source, to: target, queued: &queued, copied: &copied, skipped: &skipped)
    }

    /// Takes ownership of `fd`.
    private func copy(fd: Int32, display: String, to target: String, queued: inout Int, copied: inout Int, skipped: inout [String]) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw ControlError("cannot import \(NameCoding.display(display)): \(String(cString: strerror(errno)))")
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            defer { close(fd) }
            if Beneath.mkdir(engine.rootFd, target, st.st_mode & 0o777) != 0 && errno != EEXIST {
                throw ControlError("cannot create \(NameCoding.display(target)) in the mount: \(String(cString: strerror(errno)))")
            }
            for child in Self.names(inFolder: fd) {
                let childFd = NameCoding.withCString(child) { openat(fd, $0, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
                guard childFd >= 0 else { skipped.append(target + "/" + child); continue }  // a link, or gone
                try copy(fd: childFd, display: display + "/" + child, to: target + "/" + child,
                         queued: &queued, copied: &copied, skipped: &skipped)
            }
        case S_IFREG:
            defer { close(fd) }
            guard try copyFile(input: fd, display: display, stat: st, to: target) else {
                skipped.append(target)
                return
            }
            copied += 1
            try engine.enqueue(path: target, priority: .low)
            queued += 1
        default:
            close(fd)
            skipped.append(target)
        }
    }

    /// The names in an open folder, as bytes (`NameCoding`), sorted.
    static func names(inFolder fd: Int32) -> [String] {
        let copy = dup(fd)  // closedir closes the descriptor it was given
        guard copy >= 0, let stream = fdopendir(copy) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = NameCoding.text(entry: entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Copies one file; false when the target exists already (it is never overwritten).
    private func copyFile(input: Int32, display source: String, stat st: stat, to target: String) throws -> Bool {
        let output = Beneath.open(engine.rootFd, target, O_WRONLY | O_CREAT | O_EXCL, st.st_mode & 0o777)
        if output < 0 {
            if errno == EEXIST { return false }
            throw ControlError("cannot create \(target) in the mount: \(String(cString: strerror(errno)))")
        }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = read(input, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw ControlError("cannot read \(source): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { raw in
                    // Safe: writes only the `count` bytes just read into the buffer.
                    write(output, raw.baseAddress! + offset, count - offset)
                }
                if written < 0 && errno == EINTR { continue }
                if written < 0 { throw ControlError("cannot write \(target): \(String(cString: strerror(errno)))") }
                offset += written
            }
        }
        if geteuid() == 0 { _ = fchown(output, st.st_uid, st.st_gid) }
        var times = [st.st_atim, st.st_mtim]
        _ = futimens(output, &times)
        guard fsync(output) == 0 else { throw ControlError("cannot write \(target): \(String(cString: strerror(errno)))") }
        return true
    }
}

extension ControlHandler {
    /// Regular files at or under a mount-relative path.
    static func items(engine: SyncEngine, under path: String, mountpoint: String) throws -> [FolderWalk.Item] {
        var st = stat()
        if Beneath.stat(engine.rootFd, path.isEmpty ? "." : path, &st) != 0 {
            throw ControlError("\(mountpoint)/\(path): \(String(cString: strerror(errno)))")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { return FolderWalk(rootFd: engine.rootFd).items(under: path) }
        return [FolderWalk.Item(path: path, mode: st.st_mode)]
    }
}
