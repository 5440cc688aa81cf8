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

    /// Starts the thread; the thread keeps this object alive until its body returns.
    public func start() {
        // The retained reference is released by the thread itself, exactly once.
        let context = Unmanaged.passRetained(self).toOpaque()
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
        var id = pthread_t()
        let rc = pthread_create(&id, &attr, { raw in
            let thread = Unmanaged<WorkerThread>.fromOpaque(raw!).takeRetainedValue()
            if let name = thread.name { WorkerThread.setCurrentName(name) }
            thread.body()
            return nil
        }, context)
        pthread_attr_destroy(&attr)
        if rc != 0 {
            Unmanaged<WorkerThread>.fromOpaque(context).release()
            fatalError("cannot start thread \(name ?? "unnamed"): pthread_create failed with \(rc)")
        }
    }

    /// Starts an unnamed thread running `body`.
    public static func detachNewThread(_ body: @escaping @Sendable () -> Void) {
        WorkerThread(body).start()
    }

    /// Sleeps the calling thread; a signal does not cut the sleep short.
    public static func sleep(forTimeInterval seconds: Double) {
        guard seconds > 0 else { return }
        let whole = Int(min(seconds, 365 * 86_400))
        var left = timespec(tv_sec: whole, tv_nsec: Int((seconds - Double(whole)) * 1e9))
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
