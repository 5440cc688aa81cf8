/// Time spans written for people: `300`, `30s`, `5m`, `1h30m`, `2 min`, `1d`.
public enum DurationText {
    /// Accepted unit spellings and their length in seconds.
    static let units: [String: Int] = [
        "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
        "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
        "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
        "d": 86400, "day": 86400, "days": 86400,
    ]

    /// The number of whole seconds, or nil when `text` is not a sequence of
    /// whole numbers each followed by a unit (`s`, `m`, `h`, `d` or their
    /// long forms). A bare number is seconds.
    public static func parse(_ text: String) -> Int? {
        let scalars = Array(text.lowercased().unicodeScalars)
        var index = 0
        var total = 0
        var sawPart = false
        func skipSpaces() { while index < scalars.count, scalars[index] == " " { index += 1 } }
        skipSpaces()
        while index < scalars.count {
            var digits = ""
            while index < scalars.count, ("0"..."9").contains(scalars[index]) {
                digits.unicodeScalars.append(scalars[index])
                index += 1
            }
            guard let value = Int(digits) else { return nil }
            skipSpaces()
            var unit = ""
            while index < scalars.count, ("a"..."z").contains(scalars[index]) {
                unit.unicodeScalars.append(scalars[index])
                index += 1
            }
            skipSpaces()
            let seconds: Int
            if unit.isEmpty {
                // A bare number is only allowed alone: "300", not "1m 30".
                guard !sawPart, index == scalars.count else { return nil }
                seconds = 1
            } else {
                guard let known = units[unit] else { return nil }
                seconds = known
            }
            let (part, overflow1) = value.multipliedReportingOverflow(by: seconds)
            let (sum, overflow2) = total.addingReportingOverflow(part)
            guard !overflow1, !overflow2 else { return nil }
            total = sum
            sawPart = true
        }
        return sawPart ? total : nil
    }

    /// A short form for messages: `5m`, `1h30m`, `45s`.
    public static func format(_ seconds: Int) -> String {
        guard seconds > 0 else { return "\(seconds)s" }
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}
