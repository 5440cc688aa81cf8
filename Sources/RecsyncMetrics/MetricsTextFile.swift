import CSysShims
#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import Logging
import RecsyncCore
import Synchronization
import RecsyncPrimitives
import Dispatch

/// Writes the metrics to a file every `interval` seconds for node_exporter's textfile collector
/// (`metrics_file`): into a new temporary file in the same folder, then renamed over the old one,
/// so the collector never reads half a file. The temporary file gets a random name and is
/// created with O_EXCL | O_NOFOLLOW, so another account that may write in that folder cannot
/// point it elsewhere; the rename replaces whatever is at the final name without following it.
/// The file is removed when recsync stops, so that a stopped mount shows as absent rather than as
/// frozen numbers (after a crash it stays: alert on its age, see METRICS.md).
public final class MetricsTextFile: Sendable {
    let path: String
    let interval: TimeInterval
    let render: @Sendable () -> String
    let logger: Logger
    /// Held while writing, so that ``stop()`` cannot remove the file between a write's render
    /// and its rename.
    private let state = Mutex(false)
    private let wake = DispatchSemaphore(value: 0)

    public init(path: String, interval: TimeInterval = 15, logger: Logger, render: @escaping @Sendable () -> String) {
        self.path = path
        self.interval = interval
        self.logger = logger
        self.render = render
    }

    /// Writes once now (so a wrong folder is reported at mount), then every `interval`.
    public func start() throws {
        try write()
        WorkerThread.detachNewThread { [self] in
            while wake.wait(timeout: .now() + interval) == .timedOut {
                do {
                    try write()
                } catch is Stopped {
                    return
                } catch {
                    logger.warning("cannot write the metrics file", metadata: ["path": "\(path)", "error": "\(error)"])
                }
            }
        }
    }

    /// Stops writing and removes the file.
    public func stop() {
        state.withLock { stopped in
            stopped = true
            unlink(path)
        }
        wake.signal()
    }

    struct Stopped: Error {}

    func write() throws {
        let text = render()
        try state.withLock { stopped in
            if stopped { throw Stopped() }
            let folder = PathText.parent(path).isEmpty ? "." : PathText.parent(path)
            let temporary = folder + "/.\(PathText.lastComponent(path)).\(UInt64.random(in: 0...UInt64.max)).tmp"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | recsync_O_NOFOLLOW, 0o644)
            guard fd >= 0 else {
                throw MetricsError("cannot create \(temporary): \(String(cString: strerror(errno))); check that the folder exists and is writable")
            }
            var failure: String?
            _ = fchmod(fd, 0o644)  // whatever the umask: the collector runs as another user
            let bytes = Array(text.utf8)
            var written = 0
            while written < bytes.count {
                let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = "cannot write \(temporary): \(String(cString: strerror(errno)))"
                    break
                }
                written += count
            }
            // A network filesystem or a quota may report the failed write only at close.
            if close(fd) != 0 && failure == nil { failure = "cannot write \(temporary): \(String(cString: strerror(errno)))" }
            if failure == nil && rename(temporary, path) != 0 {
                failure = "cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))"
            }
            if let failure {
                unlink(temporary)
                throw MetricsError(failure)
            }
        }
    }
}
