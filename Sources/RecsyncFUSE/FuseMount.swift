import CFuse3
import FoundationEssentials
import Logging
import RecsyncFS
import RecsyncPrimitives
import Glibc

/// A live FUSE session over a `PassthroughFS`: mount, serve requests on worker threads, unmount.
public final class FuseMount: @unchecked Sendable {
    let fs: PassthroughFS
    let options: FuseOptions
    let logger: Logger
    /// Set once in `mount()`, cleared in `close()`; used only from the thread that owns the mount.
    private var session: OpaquePointer?
    /// Keeps the argv strings alive for the session's lifetime.
    private var argStorage: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    private var argCount = 0

    public init(fs: PassthroughFS, options: FuseOptions, logger: Logger) {
        self.fs = fs
        self.options = options
        self.logger = logger
    }

    /// Creates the session and mounts it. When this returns, the mount is live: requests
    /// wait in the kernel until `run()` serves them.
    public func mount() throws {
        let arguments = ["recsync", "-o", options.mountOptionString] + (options.debug ? ["-d"] : [])
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: arguments.count + 1)
        for (index, argument) in arguments.enumerated() { argv[index] = strdup(argument) }
        argv[arguments.count] = nil
        argStorage = argv
        argCount = arguments.count
        // Safe: argv stays allocated until close(); libfuse only reads it.
        var args = fuse_args(argc: Int32(arguments.count), argv: argv, allocated: 0)
        var ops = FuseOperations.table()
        // Safe: the adapter context lives as long as this FuseMount (released in close()).
        let fuseContext = FuseContext(fs: fs, options: options, logger: logger)
        let context = Unmanaged.passRetained(fuseContext).toOpaque()
        guard let se = fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, context) else {
            Unmanaged<FuseContext>.fromOpaque(context).release()
            throw FSError(EINVAL, "could not start a FUSE session; is the fuse3 package installed and /dev/fuse present?")
        }
        contextPointer = context
        if fuse_session_mount(se, options.mountpoint) != 0 {
            fuse_session_destroy(se)
            Unmanaged<FuseContext>.fromOpaque(context).release()
            contextPointer = nil
            throw FSError(EIO, "could not mount on \(options.mountpoint); see the message above (is it already mounted, or is /dev/fuse missing?)")
        }
        session = se
        do {
            try fuseContext.passthrough.install(on: se)
        } catch {
            logger.warning("kernel passthrough is off: \(error)")
        }
        let evictor = DescriptorEvictor(fs: fs, session: se, descriptorLimit: DescriptorEvictor.currentLimit, logger: logger)
        fs.descriptorPressure.withLock { $0 = Callback { evictor.press() } }
        evictor.start()
        self.evictor = evictor
    }
    /// Set in `mount()`, stopped in `close()` before the session is destroyed.
    private var evictor: DescriptorEvictor?
    private var contextPointer: UnsafeMutableRawPointer?

    private let unmountLock = Lock()
    /// Guarded by `unmountLock`.
    private var detached = false

    /// Detaches the mount from its folder, from any thread, once: the folder shows the backing
    /// files again at once, and `run()` returns when the kernel lets go of the connection
    /// (at once, unless programs still hold files of the mount open).
    ///
    /// The detach is a lazy unmount of the mountpoint (`umount2(MNT_DETACH)`, or
    /// `fusermount3 -u -z` for other users); the session's /dev/fuse descriptor stays open until
    /// `close()`, after the loop ended, so no worker still answering a request can write its
    /// reply into a descriptor number that was reused meanwhile.
    public func unmount() {
        unmountLock.withLock {
            guard !detached, let session else { return }
            detached = true
            // The evictor goes first, while workers still answer: a notification waiting for a
            // folder lock that an unanswered lookup holds would never return after the loop ended.
            fs.descriptorPressure.withLock { $0 = nil }
            evictor?.stop()
            fuse_session_exit(session)
            if geteuid() == 0 {
                if umount2(options.mountpoint, Int32(MNT_DETACH)) != 0 {
                    logger.warning("could not detach the mount: \(String(cString: strerror(errno)))")
                }
                return
            }
            let path = ProcessInfo.processInfo.environment["PATH"]
            if let program = ChildProcess.find("fusermount3", path: path),
               let pid = try? ChildProcess(executable: program, arguments: ["-u", "-q", "-z", options.mountpoint]).spawn() {
                ChildProcess.wait(pid)
            } else {
                logger.warning("could not run fusermount3 to detach the mount")
            }
        }
    }

    /// Serves requests on a pool of worker threads until the filesystem is unmounted (by
    /// `unmount()` or from outside). Returns the loop's status (0 on a clean stop).
    public func run() -> Int32 {
        guard let session else { return -1 }
        let config = fuse_loop_cfg_create()
        fuse_loop_cfg_set_max_threads(config, options.maxThreads)
        fuse_loop_cfg_set_idle_threads(config, 4)
        fuse_loop_cfg_set_clone_fd(config, 0)
        let status = fuse_session_loop_mt(session, config)
        fuse_loop_cfg_destroy(config)
        return status
    }

    /// Unmounts (if still mounted) and frees the session.
    public func close() {
        unmount()
        fs.descriptorPressure.withLock { $0 = nil }
        evictor?.stop()
        evictor = nil
        if let session {
            // The mount is detached already; this only lets libfuse forget it before freeing the session.
            fuse_session_unmount(session)
            fuse_session_destroy(session)
        }
        session = nil
        if let contextPointer { Unmanaged<FuseContext>.fromOpaque(contextPointer).release() }
        contextPointer = nil
        if let argStorage {
            for index in 0..<argCount { free(argStorage[index]) }
            argStorage.deallocate()
        }
        argStorage = nil
    }
}

extension FuseMount {
    /// The libfuse3 library's version, e.g. `3.17.2` (for `recsync version`).
    public static var libraryVersion: String {
        fuse_pkgversion().map { String(cString: $0) } ?? String(fuse_version())
    }
}
