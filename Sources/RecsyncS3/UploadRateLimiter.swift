import Foundation
import Synchronization

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
final class UploadRateLimiter: Sendable {
    /// The smallest rate accepted; lower limits are raised to it.
    static let minimumRate: Int64 = 1024

    let bytesPerSecond: Int64
    /// The most bytes to hand to curl per read callback.
    let sliceSize: Int
    /// How many unused bytes an idle bucket may save up for a burst.
    private let burst: Double

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let bucket: Mutex<Bucket>

    init(bytesPerSecond: Int64) {
        let rate = max(bytesPerSecond, Self.minimumRate)
        self.bytesPerSecond = rate
        sliceSize = Int(max(rate / 20, 256))
        burst = Double(sliceSize)
        bucket = Mutex(Bucket(tokens: 0, updated: .now))
    }

    /// Takes `count` bytes from the bucket and returns how long the caller must wait before
    /// sending them.
    func reserve(_ count: Int) -> Duration {
        let rate = Double(bytesPerSecond)
        return bucket.withLock { bucket in
            let now = ContinuousClock.now
            bucket.tokens = min(burst, bucket.tokens + Self.seconds(now - bucket.updated) * rate)
            bucket.updated = now
            bucket.tokens -= Double(count)
            return bucket.tokens >= 0 ? .zero : .milliseconds(Int64((-bucket.tokens / rate * 1000).rounded(.up)))
        }
    }

    /// Reserves `count` bytes and sleeps until they may be sent, polling `shouldCancel` at
    /// least every 100 ms. Returns false when the caller cancelled while waiting.
    func waitToSend(_ count: Int, shouldCancel: (@Sendable () -> Bool)?) -> Bool {
        let deadline = ContinuousClock.now + reserve(count)
        while true {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return true }
            if let shouldCancel, shouldCancel() { return false }
            Thread.sleep(forTimeInterval: Self.seconds(min(left, .milliseconds(100))))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
