import CSysShims
import Glibc

/// A detached POSIX thread with a name, the daemon's replacement for Foundation's `Thread`:
/// create it, set `name`, then `start()` it once. The name (at most 15 bytes reach the kernel)
/// shows in `top -H`, `ps -L` and /proc/PID/task/TID/comm.
public final class WorkerThread: @unchecked Sendable {
    public var name: String?
    private let body: @Sendable () -> Void

    public init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    /// Starts the thread; the thread keeps this object alive until its body returns. When the
    /// system refuses a thread (EAGAIN: the task limit of the user or of the service, or memory)
    /// it tries again for up to 5 s, then gives up: false, a line on standard error, and the
    /// body never runs. Callers that hold something for the body (a claimed upload, a client's
    /// socket) check the answer and give it back.
    @discardableResult
    public func start() -> Bool {
        var rc: Int32 = 0
        for attempt in 0..<100 {
            // The retained reference is released by the thread itself, exactly once, or below
            // when no thread was made.
            let context = Unmanaged.passRetained(self).toOpaque()
            var attr = pthread_attr_t()
            pthread_attr_init(&attr)
            pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
            var id = pthread_t()
            rc = pthread_create(&id, &attr, { raw in
                let thread = Unmanaged<WorkerThread>.fromOpaque(raw!).takeRetainedValue()
                if let name = thread.name { WorkerThread.setCurrentName(name) }
                thread.body()
                return nil
            }, context)
            pthread_attr_destroy(&attr)
            if rc == 0 { return true }
            Unmanaged<WorkerThread>.fromOpaque(context).release()
            guard rc == EAGAIN, attempt < 99 else { break }
            WorkerThread.sleep(forTimeInterval: 0.05)
        }
        StandardStream.error("recsync: cannot start thread \(name ?? "unnamed"): \(String(cString: strerror(rc))); "
            + "raise the task limit (ulimit -u, systemd TasksMax=) or free memory\n")
        return false
    }

    /// Starts an unnamed thread running `body`; false when the system refused it (see `start`).
    @discardableResult
    public static func detachNewThread(_ body: @escaping @Sendable () -> Void) -> Bool {
        WorkerThread(body).start()
    }

    /// Sleeps the calling thread; a signal does not cut the sleep short. Not finite or not
    /// positive: no sleep; longer than a year: a year.
    public static func sleep(forTimeInterval seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { return }
        let capped = min(seconds, 365 * 86_400)
        let whole = Int(capped)
        var left = timespec(tv_sec: whole, tv_nsec: min(Int((capped - Double(whole)) * 1e9), 999_999_999))
        var rest = timespec()
        while nanosleep(&left, &rest) == -1 && errno == EINTR { left = rest }
    }

    /// Names the calling thread (the kernel keeps the first 15 bytes).
    public static func setCurrentName(_ name: String) {
        var bytes = name.utf8.prefix(15).map { CChar(bitPattern: $0) }
        bytes.append(0)
        _ = recsync_set_thread_name(bytes)
    }
}
