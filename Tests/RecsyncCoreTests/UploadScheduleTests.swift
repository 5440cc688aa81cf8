import Foundation
import Logging
import RecsyncPrimitives
import RecsyncStore
import Synchronization
import XCTest
@testable import RecsyncCore

final class UploadScheduleTests: XCTestCase {
    var calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        return calendar
    }()

    /// 2026-12-07 is a Monday.
    func at(_ day: Int, _ hour: Int, _ minute: Int = 0) -> Date {
        calendar.date(from: DateComponents(year: 2026, month: 12, day: 7 + day, hour: hour, minute: minute))!
    }

    /// The machine's time zone is Europe/Berlin while `body` runs (`TZ`, which the C library's
    /// local time, and so `LocalWallClock`, reads), whatever this machine's own zone is.
    func inBerlin<T>(_ body: () throws -> T) rethrows -> T {
        let saved = getenv("TZ").map { String(cString: $0) }
        setenv("TZ", "Europe/Berlin", 1)
        CivilTime.reloadLocalZone()
        defer {
            if let saved { setenv("TZ", saved, 1) } else { unsetenv("TZ") }
            CivilTime.reloadLocalZone()
        }
        return try body()
    }

    func schedule(_ text: String) throws -> UploadSchedule {
        try XCTUnwrap(UploadSchedule.parse(text))
    }

    func testTheFirstRuleThatCoversAMomentDecidesAndTheRestIsUnlimited() throws {
        try inBerlin {
            let s = try schedule("Mon-Fri 08:00-18:00 1M, Mon-Fri 18:00-08:00 off, Sat 512K")
            XCTAssertEqual(s.limit(at: at(0, 9)), .rate(1024 * 1024))
            XCTAssertEqual(s.limit(at: at(0, 7, 59)), .unlimited, "Monday before 08:00: Sunday's night rule does not reach it")
            XCTAssertEqual(s.limit(at: at(1, 7, 59)), .off, "Monday's 18:00-08:00 runs into Tuesday")
            XCTAssertEqual(s.limit(at: at(4, 23)), .off)
            XCTAssertEqual(s.limit(at: at(5, 3)), .off, "Friday night reaches into Saturday")
            XCTAssertEqual(s.limit(at: at(5, 8)), .rate(512 * 1024))
            XCTAssertEqual(s.limit(at: at(6, 12)), .unlimited, "no rule: unlimited")
            XCTAssertEqual(try schedule("Mon-Fri 09:00-17:00 on, off").limit(at: at(5, 12)), .off, "a catch-all last")
            XCTAssertEqual(try schedule("weekends off").limit(at: at(6, 12)), .off)
            XCTAssertEqual(try schedule("Fri-Mon 2MB/s").limit(at: at(0, 12)), .rate(2_000_000), "day ranges wrap")
            XCTAssertEqual(try schedule("Fri-Mon 2MB/s").limit(at: at(1, 12)), .unlimited)
            XCTAssertEqual(try schedule("daily 22:00-24:00 off").limit(at: at(2, 23, 59)), .off)
            XCTAssertNil(try UploadSchedule.parse(""), "empty: no schedule")
            XCTAssertNil(try UploadSchedule.parse("   "))
        }
    }

    func testNextChangeIsTheNextBoundaryWhereTheAnswerDiffers() throws {
        try inBerlin {
            let s = try schedule("Mon-Fri 08:00-18:00 1M, Mon-Fri 18:00-08:00 off")
            XCTAssertEqual(s.nextChange(after: at(0, 9)), at(0, 18))
            XCTAssertEqual(s.nextChange(after: at(0, 19)), at(1, 8))
            XCTAssertEqual(s.nextChange(after: at(4, 19)), at(5, 8), "Friday night ends Saturday 08:00 (unlimited)")
            XCTAssertEqual(s.nextChange(after: at(5, 9)), at(7, 8), "the weekend runs to Monday 08:00")
            XCTAssertNil(try schedule("off").nextChange(after: at(0, 0)), "a constant answer never changes")
        }
    }

    func testDaylightSavingTransitionsFollowTheWallClock() throws {
        try inBerlin {
            // Europe/Berlin: 2026-03-29 02:00 becomes 03:00; 2026-10-25 03:00 becomes 02:00 again.
            let s = try schedule("daily 02:30-04:00 off")
            let spring = { (hour: Int, minute: Int) in
                self.calendar.date(from: DateComponents(year: 2026, month: 3, day: 29, hour: hour, minute: minute))!
            }
            XCTAssertEqual(s.limit(at: spring(3, 30)), .off)
            XCTAssertEqual(s.limit(at: spring(1, 30)), .unlimited)
            let closes = try XCTUnwrap(s.nextChange(after: spring(1, 0)))
            XCTAssertGreaterThanOrEqual(closes, spring(3, 0), "02:30 does not exist that night")
            XCTAssertLessThanOrEqual(closes, spring(3, 30))
            XCTAssertEqual(s.limit(at: closes), .off)
            XCTAssertEqual(s.nextChange(after: spring(3, 30)), spring(4, 0))

            let night = try schedule("daily 01:00-02:30 off")
            var utc = Calendar(identifier: .gregorian)
            utc.timeZone = TimeZone(identifier: "UTC")!
            // 00:15 UTC is the first 02:15 (CEST), 01:15 UTC the second (CET).
            let first = utc.date(from: DateComponents(year: 2026, month: 10, day: 25, hour: 0, minute: 15))!
            let second = utc.date(from: DateComponents(year: 2026, month: 10, day: 25, hour: 1, minute: 15))!
            XCTAssertEqual(night.limit(at: first), .off)
            XCTAssertEqual(night.limit(at: second), .off, "the repeated hour is covered again")
            let opens = try XCTUnwrap(night.nextChange(after: first))
            XCTAssertGreaterThan(opens, first)
            XCTAssertEqual(night.limit(at: opens), .unlimited)
        }
    }

    func testTheLocalClockReadsTheZoneAsFoundationsCalendarDoes() throws {
        try inBerlin {
            let clock = LocalWallClock()
            // Every 37 minutes through 2026, both daylight-saving changes included.
            let start = at(-340, 0)
            for step in 0..<(366 * 24 * 60 / 37) {
                let date = start.addingTimeInterval(Double(step) * 37 * 60 + 13)
                let parts = calendar.dateComponents([.weekday, .hour, .minute], from: date)
                let read = clock.weekdayAndMinute(of: date)
                XCTAssertEqual(read.weekday, parts.weekday! - 1, "\(date)")
                XCTAssertEqual(read.minute, parts.hour! * 60 + parts.minute!, "\(date)")
            }
            // Midnight-based moments, days ahead, across the October change.
            let friday = calendar.date(from: DateComponents(year: 2026, month: 10, day: 23, hour: 15, minute: 40))!
            for dayOffset in 0...8 {
                let day = calendar.date(byAdding: .day, value: dayOffset, to: calendar.startOfDay(for: friday))!
                for minute in [0, 59, 8 * 60 + 30, 23 * 60 + 59] {
                    let expected = calendar.date(bySettingHour: minute / 60, minute: minute % 60, second: 0, of: day)
                    XCTAssertEqual(clock.moment(minute: minute, dayOffset: dayOffset, from: friday), expected, "day +\(dayOffset), minute \(minute)")
                }
            }
            XCTAssertEqual(SyncGate.windowTime(at(0, 8, 5)), "Mon 08:05", "local time, English day names")
            // The nights the clock changes: the skipped hour gives the moment of the jump, the
            // repeated hour its first occurrence, as Foundation's calendar chooses.
            for (month, day) in [(3, 29), (10, 25)] {
                let evening = calendar.date(from: DateComponents(year: 2026, month: month, day: day - 1, hour: 20))!
                let night = calendar.startOfDay(for: calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: evening))!)
                for minute in [60, 119, 120, 150, 179, 180, 210] {
                    let expected = calendar.date(bySettingHour: minute / 60, minute: minute % 60, second: 0, of: night)
                    XCTAssertEqual(clock.moment(minute: minute, dayOffset: 1, from: evening), expected, "\(month)-\(day) minute \(minute)")
                }
            }
        }
    }

    func testBadTimetablesSayWhereAndWhatToWrite() {
        func error(_ text: String) -> String {
            do {
                _ = try UploadSchedule.parse(text)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(error("Mon-Fri 08:00-18:00 1M, Mon-Fry 18:00-08:00 off"),
                       "at column 29 of the timetable: \"fry\" is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun (or their full names)")
        XCTAssertTrue(error("Mon 25:00-26:00 off").hasPrefix("at column 5 of the timetable: 25:00 is not a time of day"), error("Mon 25:00-26:00 off"))
        XCTAssertTrue(error("Mon 08:00-18:60 off").hasPrefix("at column 11 "), error("Mon 08:00-18:60 off"))
        XCTAssertTrue(error("Mon 8-18 off").contains("is not a time range") || error("Mon 8-18 off").contains("is not a day"), error("Mon 8-18 off"))
        XCTAssertTrue(error("Mon 08:00-18:00").hasPrefix("at column 16 of the timetable: the rule has no limit at its end"), error("Mon 08:00-18:00"))
        XCTAssertTrue(error("Mon 08:00-18:00 1Q").hasPrefix("at column 17 of the timetable: \"1Q\" is not a rate"), error("Mon 08:00-18:00 1Q"))
        XCTAssertTrue(error("Mon 08:00-18:00 100").contains("below the smallest rate"))
        XCTAssertTrue(error("Mon 08:00-18:00 off,, Tue off").hasPrefix("at column 21 of the timetable: an empty rule"), error("Mon 08:00-18:00 off,, Tue off"))
        XCTAssertTrue(error("08:00-12:00 13:00-18:00 off").contains("a second time range"))
        XCTAssertTrue(error("08:00-12:00 Mon off").contains("days come first"))
        XCTAssertTrue(error("1M Mon").contains("\"1M\" is not a day"), error("1M Mon"))
        // In the config file, the message names the line too.
        XCTAssertThrowsError(try RecsyncConfig.parse("[sync]\nupload_schedule = \"Mon-Fri 8:00-18:00 1M, sometimes off\"")) { error in
            XCTAssertTrue("\(error)".contains("line 2"), "\(error)")
            XCTAssertTrue("\(error)".contains("at column 24 of the timetable: \"sometimes\" is not a day"), "\(error)")
        }
    }

    func testTheFollowerPausesCapsAndReopensAtTheBoundaryWithoutPolling() throws {
        // A clock set so that the next minute boundary is 1.5 s away.
        let real = Date()
        let nextMinute = (real.timeIntervalSinceReferenceDate / 60).rounded(.down) * 60 + 60
        let offset = nextMinute - 1.5 - real.timeIntervalSinceReferenceDate
        let now: @Sendable () -> Date = { Date().addingTimeInterval(offset) }
        let start = Calendar.current.dateComponents([.hour, .minute], from: now())
        let end = Calendar.current.dateComponents([.hour, .minute], from: now().addingTimeInterval(60))
        let text = String(format: "%02d:%02d-%02d:%02d off, 256K", start.hour!, start.minute!, end.hour!, end.minute!)
        let gate = SyncGate(policy: SyncPolicy())
        let rates = Mutex<[Int64?]>([])
        let changes = Mutex<[PauseReason?]>([])
        let reopened = expectation(description: "the window opens")
        let follower = ScheduleFollower(schedule: try schedule(text), maxRate: 100_000, gate: gate, logger: Logger(label: "test"),
                                        now: now, setRate: { rate in rates.withLock { $0.append(rate) } },
                                        onChange: { _, after in
                                            changes.withLock { $0.append(after) }
                                            if after == nil { reopened.fulfill() }
                                        })
        defer { follower.stop() }
        follower.refresh()
        XCTAssertEqual(gate.pauseReason, .outsideWindow, text)
        XCTAssertEqual(gate.waitReason(path: "a.wav", priority: Priority.normal.rawValue), .outsideWindow)
        XCTAssertNil(gate.waitReason(path: "a.wav", priority: Priority.critical.rawValue), "sync-now goes through")
        XCTAssertTrue(gate.pauseDescription?.hasPrefix("outside upload window until ") ?? false, gate.pauseDescription ?? "none")
        XCTAssertEqual(rates.withLock { $0 }, [100_000], "closed: what still uploads goes at max_upload_rate")
        wait(for: [reopened], timeout: 10)
        XCTAssertNil(gate.pauseReason)
        XCTAssertEqual(changes.withLock { $0 }, [.outsideWindow, nil])
        XCTAssertEqual(rates.withLock { $0 }.last, 100_000, "256K is above max_upload_rate, which wins")
        XCTAssertEqual(follower.rate(for: .rate(50_000)), 50_000, "the lower cap wins")
    }
}
