import Glibc

/// A mutual-exclusion lock over a `pthread_mutex_t`: what the daemon uses instead of Foundation's
/// `NSLock`, so that no module of the daemon needs the whole of Foundation (and ICU with it).
/// Not recursive; `lock()` and `unlock()` pair on one thread.
public final class Lock: @unchecked Sendable {
    // Allocated once and never moved: a pthread mutex must keep its address while in use.
    // `Condition` waits on it.
    let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init() {
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
    }

    deinit {
        pthread_mutex_destroy(mutex)
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
}
