import Foundation

/// A recsync mount whose daemon is gone (kill -9, a crash, the OOM killer): the kernel keeps the
/// mount, and every access to the folder answers "Transport endpoint is not connected" until it
/// is detached. The files below it are untouched; detaching shows them again.
enum DeadMount {
    /// Whether `path` is a recsync mount that no daemon serves any more.
    static func isDead(_ path: String) -> Bool {
        guard MountTable.mountType(at: path) == "fuse.recsync" else { return false }
        var st = stat()
        return stat(path, &st) != 0 && errno == ENOTCONN
    }

    /// Detaches the dead mount at `path` (lazily, so that programs still holding its files do
    /// not block it). Throws with what to do when it cannot.
    static func clear(_ path: String) throws {
        if geteuid() == 0 {
            if umount2(path, Int32(MNT_DETACH)) == 0 { return }
            throw CLIError("cannot detach the dead recsync mount at \(path): \(String(cString: strerror(errno))); run 'umount -l \(path)'")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/fusermount3")
        process.arguments = ["-u", "-z", path]
        do { try process.run() } catch {
            throw CLIError("cannot run fusermount3 to detach the dead mount at \(path): \(error.localizedDescription); install the fuse3 package")
        }
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw CLIError("fusermount3 could not detach the dead recsync mount at \(path); run 'fusermount3 -uz \(path)'")
        }
    }
}
