/// A timetable that cannot be read: what is wrong, where (1-based column in the text), and how
/// to write it.
public struct UploadScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    public let column: Int
    public let message: String
    public var description: String { "at column \(column) of the timetable: \(message)" }
}

extension UploadSchedule {
    static let dayNames = [["mon", "monday"], ["tue", "tues", "tuesday"], ["wed", "wednesday"], ["thu", "thur", "thurs", "thursday"],
                           ["fri", "friday"], ["sat", "saturday"], ["sun", "sunday"]]
    static let example = "write rules such as \"Mon-Fri 08:00-18:00 1M, 18:00-08:00 off\""

    /// Reads a timetable; an empty text is no schedule (nil).
    ///
    /// - Throws: ``UploadScheduleError`` with the column of the first problem.
    public static func parse(_ text: String) throws -> UploadSchedule? {
        let characters = Array(text)
        var rules: [Rule] = []
        var start = 0
        while start <= characters.count {
            var end = start
            while end < characters.count && characters[end] != "," { end += 1 }
            let tokens = tokenize(characters, from: start, to: end)
            if tokens.isEmpty {
                if end < characters.count || !rules.isEmpty {
                    throw UploadScheduleError(column: start + 1, message: "an empty rule; remove the extra comma, or \(example)")
                }
            } else {
                rules.append(try rule(tokens))
            }
            start = end + 1
        }
        return rules.isEmpty ? nil : UploadSchedule(rules: rules, text: text)
    }

    /// A word of a rule and the 1-based column it starts at.
    typealias Token = (text: String, column: Int)

    static func tokenize(_ characters: [Character], from start: Int, to end: Int) -> [Token] {
        var tokens: [Token] = []
        var index = start
        while index < end {
            if characters[index].isWhitespace { index += 1; continue }
            let first = index
            while index < end && !characters[index].isWhitespace { index += 1 }
            tokens.append((String(characters[first..<index]), first + 1))
        }
        return tokens
    }

    static func rule(_ tokens: [Token]) throws -> Rule {
        var days: Set<Int>?
        var span: (Int, Int)?
        for (position, token) in tokens.enumerated() {
            let isLast = position == tokens.count - 1
            if isLast {
                if let limit = try limit(token) {
                    return Rule(days: days ?? Set(0..<7), span: span, limit: limit)
                }
            }
            if token.text.contains(":") {
                guard span == nil else {
                    throw UploadScheduleError(column: token.column, message: "a second time range in one rule; give each range its own rule, separated by a comma")
                }
                span = try timeRange(token)
            } else if let parsed = try dayRange(token) {
                guard days == nil, span == nil else {
                    throw UploadScheduleError(column: token.column, message: "days come first in a rule, once; \(example)")
                }
                days = parsed
            } else {
                throw UploadScheduleError(column: token.column, message: "\(token.text.debugDescription) is not a day (Mon...Sun, Mon-Fri, daily, weekdays, weekends), a time range (08:00-18:00) or a limit (off, unlimited, 1M); \(example)")
            }
        }
        let last = tokens[tokens.count - 1]
        throw UploadScheduleError(column: last.column + last.text.count, message: "the rule has no limit at its end; end it with off, unlimited or a rate such as 1M")
    }

    /// Days: `Mon`, `Mon-Fri`, `Fri-Mon` (wrapping), `daily`, `weekdays`, `weekends`; nil when
    /// the token is not about days at all.
    static func dayRange(_ token: Token) throws -> Set<Int>? {
        let text = token.text.lowercased()
        switch text {
        case "daily", "everyday", "all": return Set(0..<7)
        case "weekdays": return Set(0..<5)
        case "weekends", "weekend": return [5, 6]
        default: break
        }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ $0.allSatisfy(\.isLetter) }), parts.contains(where: { !$0.isEmpty }) else { return nil }
        func day(_ name: String, offset: Int) throws -> Int {
            guard let index = dayNames.firstIndex(where: { $0.contains(name) }) else {
                throw UploadScheduleError(column: token.column + offset, message: "\(name.debugDescription) is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun (or their full names)")
            }
            return index
        }
        switch parts.count {
        case 1: return [try day(parts[0], offset: 0)]
        case 2:
            let first = try day(parts[0], offset: 0)
            let last = try day(parts[1], offset: parts[0].count + 1)
            var result: Set<Int> = [first]
            var current = first
            while current != last { current = (current + 1) % 7; result.insert(current) }
            return result
        default:
            throw UploadScheduleError(column: token.column, message: "\(token.text.debugDescription) is not a day range; write one such as Mon-Fri")
        }
    }

    /// `HH:MM-HH:MM`, as minutes after midnight; 24:00 ends a day.
    static func timeRange(_ token: Token) throws -> (Int, Int) {
        let parts = token.text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else {
            throw UploadScheduleError(column: token.column, message: "\(token.text.debugDescription) is not a time range; write HH:MM-HH:MM, such as 08:00-18:00")
        }
        let start = try time(parts[0], column: token.column, allowEndOfDay: false)
        let end = try time(parts[1], column: token.column + parts[0].count + 1, allowEndOfDay: true)
        return (start, end)
    }

    static func time(_ text: String, column: Int, allowEndOfDay: Bool) throws -> Int {
        let pieces = text.split(separator: ":", omittingEmptySubsequences: false)
        guard pieces.count == 2, (1...2).contains(pieces[0].count), pieces[1].count == 2,
              let hour = Int(pieces[0]), let minute = Int(pieces[1]), hour >= 0, minute >= 0 else {
            throw UploadScheduleError(column: column, message: "\(text.debugDescription) is not a time; write HH:MM in 24-hour form, such as 08:00 or 18:30")
        }
        if hour == 24 && minute == 0 && allowEndOfDay { return 1440 }
        guard hour < 24, minute < 60 else {
            throw UploadScheduleError(column: column, message: "\(text) is not a time of day; hours go from 00 to 23 (24:00 may end a range) and minutes from 00 to 59")
        }
        return hour * 60 + minute
    }

    /// `off`, `unlimited`/`on`, or a rate; nil when the token is not a limit.
    static func limit(_ token: Token) throws -> Limit? {
        var text = token.text.lowercased()
        switch text {
        case "off": return .off
        case "on", "unlimited": return .unlimited
        default: break
        }
        guard let first = text.first, first.isNumber, !text.contains(":") else { return nil }
        if text.hasSuffix("/s") { text.removeLast(2) }
        // rclone's shorthand: K, M, G are binary units.
        if let unit = text.last, "kmg".contains(unit) { text += "ib" }
        guard let bytes = ByteSize.parse(text) else {
            throw UploadScheduleError(column: token.column, message: "\(token.text.debugDescription) is not a rate; write bytes per second such as 512K, 1M, 2MB/s or 1.5MiB")
        }
        guard bytes >= 1024 else {
            throw UploadScheduleError(column: token.column, message: "\(token.text) is below the smallest rate, 1K (1024 bytes per second); write off to stop uploads instead")
        }
        return .rate(bytes)
    }
}
