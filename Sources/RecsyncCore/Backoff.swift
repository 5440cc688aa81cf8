import Foundation

/// When to try again after a failed attempt: 1 s doubling per attempt, at most 5 minutes.
public enum Backoff {
    public static let base: TimeInterval = 1
    public static let cap: TimeInterval = 300

    public static func delay(afterAttempts attempts: Int) -> TimeInterval {
        min(base * pow(2, Double(max(0, min(attempts, 30)))), cap)
    }
}
