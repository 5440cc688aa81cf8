import FoundationEssentials
import Glibc

/// A moment as a calendar date and a wall-clock time, in UTC or in the machine's time zone, from
/// the C library: FoundationEssentials alone knows no time zone but GMT, and the rest of
/// Foundation would bring ICU with it. The local zone is what `TZ` or /etc/localtime says.
public struct CivilTime: Equatable, Sendable {
    public var year: Int
    /// 1 ... 12
    public var month: Int
    /// 1 ... 31
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// 0 = Sunday ... 6 = Saturday
    public var weekday: Int

    public static func utc(_ date: Date) -> CivilTime {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return CivilTime(parts)
    }

    /// In the local time zone as last loaded (see `reloadLocalZone`).
    public static func local(_ date: Date) -> CivilTime {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        localtime_r(&seconds, &parts)
        return CivilTime(parts)
    }

    /// Reads the local time zone again, so a zone changed while recsync runs (`timedatectl
    /// set-timezone` replaces /etc/localtime) is followed from the next call on.
    public static func reloadLocalZone() {
        tzset()
    }

    /// The moment of `hour:minute` local time on the day `dayOffset` days after `date`'s local
    /// day, chosen as Foundation's calendar chooses it: in the hour the clock repeats (autumn),
    /// the first of the two; in the hour it skips (spring), the moment the clock jumps (02:30
    /// that does not exist is 03:00).
    public static func localMoment(dayOffset: Int, hour: Int, minute: Int, from date: Date) -> Date? {
        let base = local(date)
        // The calendar day wanted, with month and year carried (31 Oct + 1 is 1 Nov).
        var noon = tm()
        noon.tm_year = Int32(base.year - 1900)
        noon.tm_mon = Int32(base.month - 1)
        noon.tm_mday = Int32(base.day + dayOffset)
        noon.tm_hour = 12
        var noonSeconds = timegm(&noon)
        var day = tm()
        gmtime_r(&noonSeconds, &day)
        func attempt(_ isdst: Int32) -> time_t? {
            var parts = tm()
            parts.tm_year = day.tm_year
            parts.tm_mon = day.tm_mon
            parts.tm_mday = day.tm_mday
            parts.tm_hour = Int32(hour)
            parts.tm_min = Int32(minute)
            parts.tm_isdst = isdst
            let seconds = mktime(&parts)
            return seconds == -1 ? nil : seconds
        }
        func shows(_ seconds: time_t) -> Bool {
            var copy = seconds
            var parts = tm()
            localtime_r(&copy, &parts)
            return parts.tm_year == day.tm_year && parts.tm_mon == day.tm_mon && parts.tm_mday == day.tm_mday
                && Int(parts.tm_hour) == hour && Int(parts.tm_min) == minute
        }
        let candidates = [attempt(0), attempt(1)].compactMap { $0 }.sorted()
        if let first = candidates.first(where: shows) { return Date(timeIntervalSince1970: TimeInterval(first)) }
        // Not on the clock that day: a skipped hour. The two readings fall on either side of the
        // jump; the first second with the later offset is where the clock jumped to.
        guard let low = candidates.first, let high = candidates.last, low < high,
              offset(low) != offset(high) else {
            return attempt(-1).map { Date(timeIntervalSince1970: TimeInterval($0)) }
        }
        var (before, after) = (low, high)
        while after - before > 1 {
            let middle = before + (after - before) / 2
            if offset(middle) == offset(high) { after = middle } else { before = middle }
        }
        return Date(timeIntervalSince1970: TimeInterval(after))
    }

    private static func offset(_ seconds: time_t) -> Int {
        var copy = seconds
        var parts = tm()
        localtime_r(&copy, &parts)
        return parts.tm_gmtoff
    }

    /// `2026-11-25T14:03:07Z`: for a UTC time, ISO 8601 without fractional seconds.
    public var iso8601UTC: String {
        "\(NumberText.padded(year, width: 4))-\(NumberText.padded(month, width: 2))-\(NumberText.padded(day, width: 2))T"
            + "\(NumberText.padded(hour, width: 2)):\(NumberText.padded(minute, width: 2)):\(NumberText.padded(second, width: 2))Z"
    }

    /// `Mon`, `Tue`, ...: the English short name of the weekday.
    public var weekdayName: String {
        ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][weekday]
    }

    private init(_ parts: tm) {
        year = Int(parts.tm_year) + 1900
        month = Int(parts.tm_mon) + 1
        day = Int(parts.tm_mday)
        hour = Int(parts.tm_hour)
        minute = Int(parts.tm_min)
        second = Int(parts.tm_sec)
        weekday = Int(parts.tm_wday)
    }
}
