import FoundationEssentials
import Glibc

/// Parsing of the two date formats S3 uses, without shared formatter state.
package enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// RFC 7231 IMF-fixdate, e.g. `Wed, 21 Oct 2015 07:28:00 GMT` (the `Last-Modified` header).
    package static func parseRFC1123(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, let day = Int(parts[1]),
              let month = months.firstIndex(of: parts[2].lowercased()), let year = Int(parts[3]) else { return nil }
        let hms = parts[4].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3 else { return nil }
        return makeDate(year: year, month: month + 1, day: day, hour: hms[0], minute: hms[1], second: hms[2], fraction: 0)
    }

    /// ISO 8601 as in ListObjectsV2, e.g. `2009-10-12T17:50:30.000Z`.
    package static func parseISO8601(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= scalars.count else { return nil }
            return Int(String(decoding: scalars[from..<(from + count)], as: UTF8.self))
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        var fraction = 0.0
        if scalars.count > 20, scalars[19] == UInt8(ascii: ".") {
            let digits = scalars[20...].prefix { $0 >= 48 && $0 <= 57 }.prefix(9)
            fraction = Double("0." + String(decoding: digits, as: UTF8.self)) ?? 0
        }
        return makeDate(year: year, month: month, day: day, hour: hour, minute: minute, second: second, fraction: fraction)
    }

    /// The date, or nil when any field is out of range (a server's answer is never trusted to be
    /// sane: converting an absurd year or day would trap, and timegm would quietly roll over).
    private static func makeDate(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, fraction: Double) -> Date? {
        guard (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
              fraction.isFinite, (0..<1).contains(fraction) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        // timegm normalises 31 February to 3 March: such a date is refused.
        guard seconds != -1, parts.tm_mday == Int32(day), parts.tm_mon == Int32(month - 1) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds) + fraction)
    }
}
