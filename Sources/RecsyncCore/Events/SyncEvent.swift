import FoundationEssentials
import RecsyncStore
import Glibc
import RecsyncPrimitives

/// Something that happened to one file in the mount: its sync status changed,
/// or an upload finished or failed.
///
/// Events are written to the event log (``EventLog``) as one JSON object per
/// line, with sorted keys:
///
/// ```json
/// {"attempts":1,"bytes":1048576,"key":"alice/2026/11/take1.wav","path":"take1.wav","previous":"syncing","status":"synced","time":"2026-11-25T14:03:07.123Z","type":"syncSuccess"}
/// ```
///
/// Optional fields that have no value are left out of the object.
public struct SyncEvent: Codable, Sendable, Equatable {
    /// What kind of event this is.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// The file's `user.sync.status` changed.
        case statusChange
        /// The file was uploaded.
        case syncSuccess
        /// An upload attempt failed (it may be retried; see ``SyncEvent/status``).
        case syncFailure
    }

    /// When it happened; written in UTC with millisecond precision.
    public var time: Date
    /// What kind of event this is.
    public var type: Kind
    /// The file's path relative to the mountpoint, e.g. `interviews/take1.wav`.
    public var path: String
    /// The S3 key, when one has been assigned.
    public var key: String?
    /// The file's status after the event.
    public var status: SyncStatus
    /// The file's status before the event, when known.
    public var previous: SyncStatus?
    /// What went wrong, for failures.
    public var error: String?
    /// Upload attempts made so far.
    public var attempts: Int
    /// Bytes uploaded, for ``Kind/syncSuccess``.
    public var bytes: Int64?

    /// Creates an event; `time` defaults to now.
    public init(time: Date = Date(), type: Kind, path: String, key: String? = nil, status: SyncStatus,
                previous: SyncStatus? = nil, error: String? = nil, attempts: Int = 0, bytes: Int64? = nil) {
        self.time = time
        self.type = type
        self.path = path
        self.key = key
        self.status = status
        self.previous = previous
        self.error = error
        self.attempts = attempts
        self.bytes = bytes
    }

    enum CodingKeys: String, CodingKey {
        case time, type, path, key, status, previous, error, attempts, bytes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let timeText = try container.decode(String.self, forKey: .time)
        guard let time = EventTime.parse(timeText) else {
            throw DecodingError.dataCorruptedError(forKey: .time, in: container,
                                                   debugDescription: "\(timeText.debugDescription) is not an ISO 8601 UTC time")
        }
        self.time = time
        type = try container.decode(Kind.self, forKey: .type)
        path = try container.decode(String.self, forKey: .path)
        key = try container.decodeIfPresent(String.self, forKey: .key)
        status = try Self.decodeStatus(container.decode(String.self, forKey: .status), .status, container)
        previous = try container.decodeIfPresent(String.self, forKey: .previous).map { try Self.decodeStatus($0, .previous, container) }
        error = try container.decodeIfPresent(String.self, forKey: .error)
        attempts = try container.decodeIfPresent(Int.self, forKey: .attempts) ?? 0
        bytes = try container.decodeIfPresent(Int64.self, forKey: .bytes)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(EventTime.format(time), forKey: .time)
        try container.encode(type, forKey: .type)
        try container.encode(path, forKey: .path)
        try container.encodeIfPresent(key, forKey: .key)
        try container.encode(status.rawValue, forKey: .status)
        try container.encodeIfPresent(previous?.rawValue, forKey: .previous)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encode(attempts, forKey: .attempts)
        try container.encodeIfPresent(bytes, forKey: .bytes)
    }

    private static func decodeStatus(_ text: String, _ key: CodingKeys,
                                     _ container: KeyedDecodingContainer<CodingKeys>) throws -> SyncStatus {
        guard let status = SyncStatus(rawValue: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "unknown sync status \(text.debugDescription)")
        }
        return status
    }

    /// The event as one line of the event log: compact JSON with sorted keys
    /// and a trailing newline.
    ///
    /// Written by hand: every close emits one, and `JSONEncoder` cost more than the queue's
    /// own transaction. The bytes are the ones `JSONEncoder` gives with `.sortedKeys` and
    /// `.withoutEscapingSlashes` (pinned by a test), keys in sorted order.
    public func jsonLine() -> String {
        var out = JSONLine()
        out.field("attempts", number: String(attempts))
        if let bytes { out.field("bytes", number: String(bytes)) }
        if let error { out.field("error", string: error) }
        if let key { out.field("key", string: key) }
        out.field("path", string: path)
        if let previous { out.field("previous", string: previous.rawValue) }
        out.field("status", string: status.rawValue)
        out.field("time", string: EventTime.format(time))
        out.field("type", string: type.rawValue)
        return out.finish()
    }

    /// Decodes one line of the event log (with or without its newline).
    public static func decode(line: String) throws -> SyncEvent {
        try JSONDecoder().decode(SyncEvent.self, from: Data(line.utf8))
    }
}

/// Times in the event log: ISO 8601 in UTC with milliseconds,
/// `2026-11-25T14:03:07.123Z`.
public enum EventTime {
    /// `2026-11-25T14:03:07.123Z`, rounded to the nearest millisecond.
    public static func format(_ date: Date) -> String {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = time_t(totalMilliseconds >= 0 ? totalMilliseconds / 1000 : (totalMilliseconds - 999) / 1000)
        let milliseconds = Int(totalMilliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String { NumberText.padded(value, width: width) }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds), 3))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z`; nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int32? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int32 = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes.last == UInt8(ascii: "Z"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var fraction = 0.0
        if bytes.count > 20 {
            guard bytes[19] == UInt8(ascii: "."), bytes.count > 21, bytes.count <= 30, number(20..<(bytes.count - 1)) != nil else { return nil }
            fraction = Double("0." + String(decoding: bytes[20..<(bytes.count - 1)], as: UTF8.self)) ?? 0
        }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
