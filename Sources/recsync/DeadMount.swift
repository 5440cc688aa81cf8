import FoundationEssentials
import RecsyncFS
import Glibc

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
        try Unmounter.unmount(path, lazy: true)
    }
}

/// Unmounts a folder the way its user may: root with umount2, anyone else with fusermount3.
enum Unmounter {
    /// `lazy` detaches at once even while programs hold files of the mount (MNT_DETACH,
    /// `fusermount3 -z`); otherwise a busy mount is refused with what to do about it.
    static func unmount(_ path: String, lazy: Bool) throws {
        if geteuid() == 0 {
            if umount2(path, lazy ? Int32(MNT_DETACH) : 0) == 0 { return }
            let code = errno
            if code == EBUSY {
                throw CLIError("\(path) is busy: close the files and shells using it (see 'fuser -vm \(path)') and try again")
            }
            throw CLIError("cannot unmount \(path): \(String(cString: strerror(code)))"
                           + (lazy ? "; run 'umount -l \(path)'" : ""))
        }
        let status: Int32
        do {
            var child = ChildProcess(executable: "/usr/bin/fusermount3", arguments: ["-u"] + (lazy ? ["-z"] : []) + [path])
            child.standardError = .descriptor(2)  // its own reason, for the user to read
            status = ChildProcess.wait(try child.spawn())
        } catch {
            throw CLIError("cannot run fusermount3: \(error); install the fuse3 package")
        }
        if ChildProcess.exitCode(status) != 0 {
            throw CLIError("fusermount3 could not unmount \(path) (is it busy? see 'fuser -vm \(path)')")
        }
    }
}
