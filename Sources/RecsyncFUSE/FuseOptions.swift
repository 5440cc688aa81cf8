import FoundationEssentials
import Glibc

/// How the kernel mount is set up.
public struct FuseOptions: Sendable {
    public var mountpoint: String
    /// Let other users reach the mount (needs root or user_allow_other in /etc/fuse.conf).
    public var allowOther: Bool
    /// Let the kernel check permissions from the mode bits, as on a local filesystem.
    public var defaultPermissions = true
    /// Let the kernel cache writes. Off: with it, bytes a program was told were written sit in
    /// the kernel's cache of the mount until the daemon writes them out, and a crash or kill of
    /// the daemon loses them. Without it every write() reaches the backing file before it
    /// returns (docs/SEMANTICS.md, "Written means kept").
    public var writebackCache = false
    /// How long the kernel may cache names and attributes, in seconds. Nothing else changes the
    /// backing folder while it is mounted over, so this can be long.
    public var cacheTimeout: Double = 1.0
    /// Let the kernel send the reads and writes of open files straight to the backing files
    /// (kernel FUSE passthrough, Linux 6.13 and later here, as root), when it agrees to.
    public var passthrough = false
    /// The backing folder's device when its filesystem can serve passthrough files whose every
    /// change recsync can see (see `FusePassthrough.eligibleDevice`); nil otherwise.
    var passthroughDevice: UInt64?
    public var maxThreads: UInt32 = 16
    public var maxWrite: UInt32 = 1 << 20
    public var debug = false

    /// Device nodes and set-user/group-ID programs work in the mount as on the folder below it:
    /// FUSE mounts are `nodev,nosuid` unless asked, so a root mount asks for `dev` and `suid`
    /// exactly when the backing filesystem allows them (only root can mount with them).
    public var devices = false
    public var setID = false

    public init(mountpoint: String, allowOther: Bool = false) {
        self.mountpoint = mountpoint
        self.allowOther = allowOther
    }

    /// Options that follow the backing filesystem of `backingFd` (the folder mounted over).
    public mutating func follow(backingFd: Int32) {
        passthroughDevice = FusePassthrough.eligibleDevice(backingFd)
        var info = statvfs()
        guard geteuid() == 0, fstatvfs(backingFd, &info) == 0 else { return }
        // statvfs(3)'s ST_NOSUID (2) and ST_NODEV (4), which Glibc's Swift module does not name.
        devices = info.f_flag & 4 == 0
        setID = info.f_flag & 2 == 0
    }

    /// Mount flags asked for in `-o` or fstab (`noexec`, `nosuid`, `nodev`, `noatime`,
    /// `nodiratime`), passed to the kernel.
    public var kernelFlags: [String] = []

    /// Takes the flags of an fstab line: `nosuid` and `nodev` win over the folder below.
    public mutating func apply(kernelFlags flags: [String]) {
        if flags.contains("nodev") { devices = false }
        if flags.contains("nosuid") { setID = false }
        kernelFlags = flags.filter { ["noexec", "noatime", "nodiratime"].contains($0) }
    }

    var mountOptionString: String {
        var options = ["fsname=recsync", "subtype=recsync"]
        if allowOther { options.append("allow_other") }
        if defaultPermissions { options.append("default_permissions") }
        if devices { options.append("dev") }
        if setID { options.append("suid") }
        options += kernelFlags
        return options.joined(separator: ",")
    }
}
