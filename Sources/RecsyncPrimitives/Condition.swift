import FoundationEssentials
import Glibc

/// A lock with a condition variable, the daemon's replacement for Foundation's `NSCondition`:
/// `wait()` and `wait(until:)` must be called with the lock held, and return with it held.
/// A wait for a wall-clock `Date` sleeps in slices of at most 5 s of the monotonic clock and
/// reads the wall clock between them, so it ends within 5 s of its deadline even after a
/// suspend (which the monotonic clock does not count) or a step of the wall clock.
public final class Condition: @unchecked Sendable {
    private let exclusion = Lock()
    // Allocated once and never moved: the condition must keep its address.
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        cond.initialize(to: pthread_cond_t())
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(cond, &attr) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deallocate()
    }

    public func lock() { exclusion.lock() }

    public func unlock() { exclusion.unlock() }

    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        try exclusion.withLock(body)
    }

    /// Waits until signalled (or woken spuriously: callers loop on their predicate).
    public func wait() {
        let rc = pthread_cond_wait(cond, exclusion.mutex)
        precondition(rc == 0, "pthread_cond_wait failed: \(rc)")
    }

    /// Waits until signalled (or woken spuriously) or until the wall clock reaches `deadline`;
    /// false when the deadline came first.
    @discardableResult
    public func wait(until deadline: Date) -> Bool {
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return false }
            if wait(seconds: min(left, Self.slice)) { return true }
        }
    }

    /// The longest a timed wait sleeps before it looks at the wall clock again.
    static let slice = 5.0

    /// Waits until signalled or for at most `seconds`; false when the time ran out first.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let wait = seconds.isFinite ? max(0, min(seconds, 365 * 86_400)) : (seconds > 0 ? 365 * 86_400 : 0)
        let whole = Int(wait)
        var nanos = Int(now.tv_nsec) + Int((wait - Double(whole)) * 1e9)
        var secs = Int(now.tv_sec) + whole
        if nanos >= 1_000_000_000 { secs += 1; nanos -= 1_000_000_000 }
        var until = timespec(tv_sec: secs, tv_nsec: nanos)
        let rc = pthread_cond_timedwait(cond, exclusion.mutex, &until)
        precondition(rc == 0 || rc == ETIMEDOUT, "pthread_cond_timedwait failed: \(rc)")
        return rc == 0
    }

    public func signal() { pthread_cond_signal(cond) }

    public func broadcast() { pthread_cond_broadcast(cond) }
}
