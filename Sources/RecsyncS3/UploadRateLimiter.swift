import FoundationEssentials
import Synchronization
import RecsyncPrimitives

/// A token bucket shared by every upload of one client, so that together they send at most
/// `bytesPerSecond` request-body bytes per second.
///
/// Transfers ask for their bytes after reading them from the body source and before handing
/// them to curl. The bucket may go into debt: a transfer takes what it asked for at once and
/// sleeps until the debt is paid, so concurrent transfers queue up behind each other and the
/// sum of their rates stays at the limit. Each request is at most `sliceSize` bytes (about
/// 50 ms worth), which keeps sleeps short, cancellation prompt and the transfers interleaved.
///
/// Locking rule: `bucket` is only read or changed inside its Mutex, which is never held while
/// sleeping or calling the caller's closures.
/// The rate can change while transfers run (`upload_schedule`); nil means no limit, and then
/// the limiter only costs a lock per read.
final class UploadRateLimiter: Sendable {
    /// The smallest rate accepted; lower limits are raised to it.
    static let minimumRate: Int64 = 1024

    private struct Bucket {
        var rate: Int64?
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let bucket: Mutex<Bucket>

    init(bytesPerSecond: Int64?) {
        bucket = Mutex(Bucket(rate: Self.clamped(bytesPerSecond), tokens: 0, updated: .now))
    }

    static func clamped(_ rate: Int64?) -> Int64? {
        rate.flatMap { $0 > 0 ? max($0, minimumRate) : nil }
    }

    /// The limit now, in bytes per second; nil: none.
    var bytesPerSecond: Int64? { bucket.withLock { $0.rate } }

    /// Changes the limit for the bytes sent from now on; nil or 0 lifts it. The same rate again
    /// changes nothing.
    func setRate(_ bytesPerSecond: Int64?) {
        bucket.withLock { bucket in
            let rate = Self.clamped(bytesPerSecond)
            guard rate != bucket.rate else { return }
            bucket.rate = rate
            bucket.tokens = 0
            bucket.updated = .now
        }
    }

    /// The most bytes to hand to curl per read callback (about 50 ms worth); nil while there is
    /// no limit: reads stay whole, and are not charged (``waitToSend(_:sizedUnlimited:shouldCancel:)``)
    /// even when a limit is set between the read and its charge.
    var sliceSize: Int? { bytesPerSecond.map { Int(max($0 / 20, 256)) } }

    /// Takes `count` bytes from the bucket and returns how long the caller must wait before
    /// sending them. An idle bucket saves up at most one slice for a burst.
    func reserve(_ count: Int) -> Duration {
        bucket.withLock { bucket in
            guard let limit = bucket.rate else { return .zero }
            let rate = Double(limit)
            let burst = Double(max(limit / 20, 256))
            let now = ContinuousClock.now
            bucket.tokens = min(burst, bucket.tokens + Self.seconds(now - bucket.updated) * rate)
            bucket.updated = now
            bucket.tokens -= Double(count)
            return bucket.tokens >= 0 ? .zero : .milliseconds(Int64((-bucket.tokens / rate * 1000).rounded(.up)))
        }
    }

    /// Reserves `count` bytes and sleeps until they may be sent, polling `shouldCancel` at
    /// least every 100 ms. Returns false when the caller cancelled while waiting. A read sized
    /// while there was no limit (`sizedUnlimited`) is let through without a charge: it may be
    /// far larger than a slice of a limit set since.
    func waitToSend(_ count: Int, sizedUnlimited: Bool = false, shouldCancel: (@Sendable () -> Bool)?) -> Bool {
        if sizedUnlimited { return true }
        let deadline = ContinuousClock.now + reserve(count)
        while true {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return true }
            if let shouldCancel, shouldCancel() { return false }
            WorkerThread.sleep(forTimeInterval: Self.seconds(min(left, .milliseconds(100))))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
