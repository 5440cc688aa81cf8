import FoundationEssentials
import Glibc

/// A lock with a condition variable, the daemon's replacement for Foundation's `NSCondition`:
/// `wait()` and `wait(until:)` must be called with the lock held, and return with it held.
/// Timed waits run on the monotonic clock, so a wall-clock step (NTP, a suspended laptop's
/// resume) neither ends a wait early nor stretches it.
public final class Condition: @unchecked Sendable {
    // Allocated once and never moved: the mutex and the condition must keep their addresses.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        mutex.initialize(to: pthread_mutex_t())
        cond.initialize(to: pthread_cond_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(cond, &attr) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    public func lock() {
        let rc = pthread_mutex_lock(mutex)
        precondition(rc == 0, "pthread_mutex_lock failed: \(rc)")
    }

    public func unlock() {
        let rc = pthread_mutex_unlock(mutex)
        precondition(rc == 0, "pthread_mutex_unlock failed: \(rc)")
    }

    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits until signalled (or woken spuriously: callers loop on their predicate).
    public func wait() {
        let rc = pthread_cond_wait(cond, mutex)
        precondition(rc == 0, "pthread_cond_wait failed: \(rc)")
    }

    /// Waits until signalled or until `deadline`; false when the deadline passed first.
    @discardableResult
    public func wait(until deadline: Date) -> Bool {
        wait(seconds: deadline.timeIntervalSinceNow)
    }

    /// Waits until signalled or for at most `seconds`; false when the time ran out first.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let wait = max(0, min(seconds, 365 * 86_400))
        let whole = Int(wait)
        var nanos = Int(now.tv_nsec) + Int((wait - Double(whole)) * 1e9)
        var secs = Int(now.tv_sec) + whole
        if nanos >= 1_000_000_000 { secs += 1; nanos -= 1_000_000_000 }
        var until = timespec(tv_sec: secs, tv_nsec: nanos)
        let rc = pthread_cond_timedwait(cond, mutex, &until)
        precondition(rc == 0 || rc == ETIMEDOUT, "pthread_cond_timedwait failed: \(rc)")
        return rc == 0
    }

    public func signal() { pthread_cond_signal(cond) }

    public func broadcast() { pthread_cond_broadcast(cond) }
}
