import FoundationEssentials
import RecsyncS3
import Glibc

/// What a failed upload allows. Every failure is classified here and nowhere else.
public enum FailureKind: Equatable, Sendable {
    /// Try again after a backoff delay; the attempt counts against the limit.
    case transient
    /// The endpoint cannot be reached at all (DNS, refused, no route): pause uploads until it
    /// answers again. The attempt does not count: recordings made offline must never end `failed`.
    case unreachable
    /// The server refused for good (AccessDenied, NoSuchBucket, SignatureDoesNotMatch, ...):
    /// the file is `failed` at once with the server's code and message.
    case permanent
    /// The server says our clock is off; the client corrected its offset from the server's
    /// Date header. Try again at once, without counting the attempt.
    case clockSkew
    /// The session token expired; credentials were reloaded. Try again at once, not counted.
    case expiredCredentials
    /// The upload was stopped on purpose (the file changed, was deleted, or recsync is stopping).
    case cancelled
    /// The local file changed or vanished while it was read: upload it again, not counted.
    /// (An error of the system while reading it, EMFILE, ENOMEM, EIO, ENOSPC..., is `transient`.)
    case localChange
}

/// Retry rules: exponential backoff with jitter and an attempt limit.
///
/// delay after the n-th counted failure = min(base × 2^(n-1), cap), then ±`jitter` of that
/// (so the first retry comes after about 1 s, and no wait exceeds cap × 1.25).
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseDelay: TimeInterval
    public var maxDelay: TimeInterval
    public var jitter: Double

    public init(maxAttempts: Int = 5, baseDelay: TimeInterval = 1, maxDelay: TimeInterval = 300, jitter: Double = 0.25) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// The wait before the next attempt after `failures` counted failures (1 after the first).
    /// `random` is uniform in 0..<1 (injectable for tests).
    public func delay(afterFailures failures: Int, random: Double) -> TimeInterval {
        let exponent = Double(max(0, min(failures - 1, 40)))
        let plain = min(baseDelay * pow(2, exponent), maxDelay)
        return plain * (1 + jitter * (2 * random - 1))
    }

    public func delay(afterFailures failures: Int) -> TimeInterval {
        delay(afterFailures: failures, random: Double.random(in: 0..<1))
    }

    /// Whether a file that has now failed `failures` counted times should stop retrying.
    public func isExhausted(failures: Int) -> Bool {
        failures >= maxAttempts
    }

    /// The classification table (docs/SEMANTICS.md, "Retries").
    public static func classify(_ error: any Error) -> FailureKind {
        guard let error = error as? S3Error else { return .transient }
        switch error.kind {
        case .cancelled:
            return .cancelled
        case let .io(code, _):
            // errno 0: the file was shorter than its size said (it changed under the reader);
            // ENOENT, ESTALE: it went away. Running out of descriptors, memory or space, or a
            // failing disk: retry later and count it, never at once (that would spin on the file).
            return [0, ENOENT, ESTALE].contains(code) ? .localChange : .transient
        case .invalidRequest:
            return .permanent
        case .invalidResponse:
            return .transient
        case .transport:
            return error.endpointUnreachable ? .unreachable : .transient
        case let .http(status, code, _, _):
            if code == "RequestTimeTooSkewed" { return .clockSkew }
            if code == "ExpiredToken" || code == "TokenRefreshRequired" { return .expiredCredentials }
            // The server computed a different hash of the body than we signed: bytes were damaged
            // on the way. Sending them again is the cure.
            if ["XAmzContentSHA256Mismatch", "BadDigest", "InvalidDigest"].contains(code) { return .transient }
            return S3Error.isRetryable(status: status, code: code) ? .transient : .permanent
        }
    }
}
