import FoundationEssentials
import RecsyncPrimitives

/// How a schedule reads the wall clock: the weekday and minute of a moment, and the moment of a
/// minute on a nearby day. The daemon uses `LocalWallClock`, the machine's time zone; tests can
/// give a fixed zone.
public protocol WallClock: Sendable {
    /// 0 = Sunday ... 6 = Saturday, and the minute of the day (0 ... 1439).
    func weekdayAndMinute(of date: Date) -> (weekday: Int, minute: Int)
    /// The moment at `minute` of the day `dayOffset` days after `date`'s day. In a
    /// daylight-saving gap, a moment past the gap.
    func moment(minute: Int, dayOffset: Int, from date: Date) -> Date?
}

/// The machine's time zone (`TZ`, else /etc/localtime), as the C library reads it.
public struct LocalWallClock: WallClock {
    public init() {}

    public func weekdayAndMinute(of date: Date) -> (weekday: Int, minute: Int) {
        let time = CivilTime.local(date)
        return (time.weekday, time.hour * 60 + time.minute)
    }

    public func moment(minute: Int, dayOffset: Int, from date: Date) -> Date? {
        CivilTime.localMoment(dayOffset: dayOffset, hour: minute / 60, minute: minute % 60, from: date)
    }
}
