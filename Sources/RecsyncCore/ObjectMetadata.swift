import FoundationEssentials
import RecsyncPrimitives

/// The user metadata stored with each uploaded recording.
///
/// The S3 client adds the `x-amz-meta-` prefix to each key and encodes
/// non-ASCII values.
public struct ObjectMetadata: Sendable {
    /// Metadata key for the file's name as it was in the mount.
    public static let originalNameKey = "original-name"
    /// Metadata key for the file's size in bytes.
    public static let sizeKey = "size"
    /// Metadata key for the recording time, ISO 8601 in UTC.
    public static let timestampKey = "timestamp"
    /// Metadata key for the duration in seconds; absent when unknown.
    public static let durationKey = "duration"
    /// Metadata key for the comma-separated tags.
    public static let tagsKey = "tags"

    /// Builds the metadata for one recording.
    ///
    /// - Parameters:
    ///   - originalName: the file's name in the mount, stored unchanged.
    ///   - size: the file's size in bytes.
    ///   - timestamp: when the recording was made; stored as
    ///     `2026-11-25T14:03:07Z` (UTC, whole seconds).
    ///   - duration: the playing time in seconds, stored with up to three
    ///     decimals and no trailing zeros (`30`, `2.5`); omitted when nil,
    ///     negative or not finite.
    ///   - tags: stored comma-separated in the given order, each trimmed of
    ///     surrounding white space, empty tags dropped; `""` when there are none.
    /// - Returns: `original-name`, `size`, `timestamp`, `tags` and, when known,
    ///   `duration`.
    public static func build(originalName: String, size: Int64, timestamp: Date,
                             duration: Double?, tags: [String]) -> [String: String] {
        var metadata: [String: String] = [
            // As in keys: bytes that are not UTF-8 and control characters as %HH (reversible).
            originalNameKey: KeyPattern.keyText(originalName),
            sizeKey: String(size),
            timestampKey: formatTimestamp(timestamp),
            tagsKey: tags
                .map { $0.trimmingWhitespace() }
                .filter { !$0.isEmpty }
                .joined(separator: ","),
        ]
        if let duration, let text = formatDuration(duration) {
            metadata[durationKey] = text
        }
        return metadata
    }

    /// `2026-11-25T14:03:07Z`: ISO 8601 in UTC, fractional seconds dropped.
    public static func formatTimestamp(_ date: Date) -> String {
        CivilTime.utc(date).iso8601UTC
    }

    /// Seconds with up to three decimals, trailing zeros trimmed: `30`, `2.5`,
    /// `0.001`. Nil for negative, infinite or NaN values.
    public static func formatDuration(_ seconds: Double) -> String? {
        guard seconds.isFinite, seconds >= 0 else { return nil }
        let millis = (seconds * 1000).rounded()
        guard millis < 9e15 else { return nil }
        let total = Int64(millis)
        let whole = total / 1000
        let fraction = total % 1000
        guard fraction != 0 else { return String(whole) }
        var decimals = NumberText.padded(fraction, width: 3)
        while decimals.hasSuffix("0") { decimals.removeLast() }
        return "\(whole).\(decimals)"
    }
}
