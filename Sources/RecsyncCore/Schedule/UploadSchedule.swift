import FoundationEssentials

/// `upload_schedule`: a weekly timetable of when automatic uploads run and how fast, in the
/// machine's local time. See docs/CONFIGURATION.md, "Upload schedule".
///
///     Mon-Fri 08:00-18:00 1M, Mon-Fri 18:00-08:00 off, Sat-Sun unlimited
///
/// Rules are separated by commas; each is `[DAYS] [HH:MM-HH:MM] LIMIT`. The first rule that
/// covers a moment decides; a moment no rule covers is unlimited. A time range that ends at or
/// before its start runs past midnight into the next day. LIMIT is `off` (no automatic
/// uploads), `unlimited` (or `on`), or a rate such as `512K`, `1M`, `2MB/s`.
public struct UploadSchedule: Sendable, Equatable {
    /// What the schedule allows at one moment.
    public enum Limit: Sendable, Equatable, CustomStringConvertible {
        case off
        case unlimited
        /// Bytes per second.
        case rate(Int)

        public var description: String {
            switch self {
            case .off: return "off"
            case .unlimited: return "unlimited"
            case let .rate(bytes): return "\(ByteSize.format(bytes))/s"
            }
        }
    }

    struct Rule: Sendable, Equatable {
        /// Days the rule starts on, 0 = Monday.
        var days: Set<Int>
        /// Minutes after midnight; nil: the whole day.
        var span: (start: Int, end: Int)?
        var limit: Limit

        static func == (a: Rule, b: Rule) -> Bool {
            a.days == b.days && a.limit == b.limit && a.span?.start == b.span?.start && a.span?.end == b.span?.end
        }

        /// Whether the rule covers minute `minute` of weekday `day`.
        func covers(day: Int, minute: Int) -> Bool {
            guard let span else { return days.contains(day) }
            if span.start < span.end { return days.contains(day) && minute >= span.start && minute < span.end }
            // Past midnight: from the start on the rule's day until the end on the next.
            return (days.contains(day) && minute >= span.start) || (days.contains((day + 6) % 7) && minute < span.end)
        }
    }

    let rules: [Rule]
    /// The text it was read from.
    public let text: String

    /// The limit at `date`, on `clock`'s wall clock.
    public func limit(at date: Date, clock: some WallClock = LocalWallClock()) -> Limit {
        let (day, minute) = Self.weekMinute(date, clock: clock)
        return rules.first { $0.covers(day: day, minute: minute) }?.limit ?? .unlimited
    }

    /// The next moment after `date` at which the limit changes; nil when it never does.
    public func nextChange(after date: Date, clock: some WallClock = LocalWallClock()) -> Date? {
        let now = limit(at: date, clock: clock)
        var boundaries = Set([0])
        for rule in rules {
            if let span = rule.span { boundaries.formUnion([span.start % 1440, span.end % 1440]) }
        }
        var candidates: [Date] = []
        for dayOffset in 0...8 {
            for minute in boundaries {
                if let moment = clock.moment(minute: minute, dayOffset: dayOffset, from: date), moment > date {
                    candidates.append(moment)
                }
            }
        }
        return candidates.sorted().first { limit(at: $0, clock: clock) != now }
    }

    /// Monday = 0 ... Sunday = 6, and the minute of the day.
    static func weekMinute(_ date: Date, clock: some WallClock) -> (day: Int, minute: Int) {
        let (weekday, minute) = clock.weekdayAndMinute(of: date)
        return ((weekday + 6) % 7, minute)
    }
}
