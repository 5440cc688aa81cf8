/// Settings written as text: `-o name=value` mount options, as in `/etc/fstab`.
///
/// Options are separated by commas. A value in double quotes may hold commas
/// (`upload_schedule="Mon-Fri 08:00-18:00 1M, off"`), as mount(8) and /etc/fstab quote them
/// (spaces in an fstab line are written `\040`); a backslash also makes the next character plain
/// (`\,` is a comma inside a value, on a command line). Lists and commands separate their items with `:` (`\:` is a colon inside an
/// item). A boolean given by its name alone is true.
public enum SettingText {
    /// One `name[=value]` option, split but not interpreted.
    public struct Option: Sendable, Equatable {
        public var name: String
        /// Nil when the option is a bare name.
        public var value: String?

        public init(name: String, value: String?) {
            self.name = name
            self.value = value
        }

        /// How the option was written, for messages.
        public var written: String { value.map { "\(name)=\($0)" } ?? name }
    }

    /// Splits a comma-separated option string, keeping backslash escapes for ``value(of:for:environment:)``.
    public static func options(_ text: String) -> [Option] {
        let parts = split(text, on: ",", keepingEscapes: true, quoting: true)
        return parts.filter { !$0.isEmpty }.map { part in
            guard let equals = part.firstIndex(of: "=") else { return Option(name: part, value: nil) }
            var value = String(part[part.index(after: equals)...])
            if value.count >= 2 && value.hasPrefix("\"") && value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return Option(name: String(part[..<equals]), value: value)
        }
    }

    /// Reads the text of an option (nil: the bare name) as a value of the setting's type.
    ///
    /// - Returns: the value, or a sentence saying what is wrong and how to write it.
    public static func value(of text: String?, for setting: Setting, environment: [String: String]) -> Result<SettingValue, SettingTextProblem> {
        let type = setting.type
        guard let text else {
            if type == .boolean || type == .booleanOrAuto { return .success(.boolean(true)) }
            return .failure(SettingTextProblem("needs a value; write \(setting.name)=\(type.optionForm)"))
        }
        switch type {
        case .text, .schedule:
            return .success(.text(unescape(text)))
        case .path:
            let path = unescape(text)
            guard path == "~" || path.hasPrefix("~/") else { return .success(.text(path)) }
            guard let home = environment["HOME"], home.hasPrefix("/") else {
                return .failure(SettingTextProblem("starts with \"~\" but HOME is not set; write the full path"))
            }
            return .success(.text(path == "~" ? home : RecsyncConfig.joinPath(home, String(path.dropFirst(2)))))
        case .boolean, .booleanOrAuto:
            switch text.lowercased() {
            case "true", "yes", "on", "1": return .success(.boolean(true))
            case "false", "no", "off", "0": return .success(.boolean(false))
            case "auto" where type == .booleanOrAuto: return .success(.automatic)
            default: return .failure(SettingTextProblem("\(text.debugDescription) is not \(type == .boolean ? "true or false" : "true, false or auto")"))
            }
        case .integer:
            guard let number = Int(text) else { return .failure(SettingTextProblem("\(text.debugDescription) is not a whole number")) }
            return .success(.number(number))
        case .bytes:
            guard let bytes = Int(text) ?? ByteSize.parse(text) else {
                return .failure(SettingTextProblem("\(text.debugDescription) is not a size; write a number of bytes or a number with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as 8MiB"))
            }
            return .success(.number(bytes))
        case .seconds:
            guard let seconds = Int(text) ?? DurationText.parse(text) else {
                return .failure(SettingTextProblem("\(text.debugDescription) is not a duration; write whole seconds (300) or numbers with units s, m, h, d, such as 5m or 1h30m"))
            }
            return .success(.number(seconds))
        case .patterns, .interfaces, .command:
            return .success(.list(items(text)))
        }
    }

    /// Whether `text` has a double quote that is not closed (outside backslash escapes).
    public static func hasUnclosedQuote(_ text: String) -> Bool {
        scan(text, on: ",", keepingEscapes: true, quoting: true).unclosedQuote
    }

    /// The `:`-separated items of a list; empty text is an empty list.
    static func items(_ text: String) -> [String] {
        text.isEmpty ? [] : split(text, on: ":", keepingEscapes: false)
    }

    /// Splits on `separator` where no backslash comes before it (nor, with `quoting`, inside
    /// double quotes); the backslashes stay when `keepingEscapes` (for a second split), else
    /// they are dropped.
    static func split(_ text: String, on separator: Character, keepingEscapes: Bool, quoting: Bool = false) -> [String] {
        scan(text, on: separator, keepingEscapes: keepingEscapes, quoting: quoting).parts
    }

    /// ``split(_:on:keepingEscapes:quoting:)``, and whether a quote was left open at the end.
    private static func scan(_ text: String, on separator: Character, keepingEscapes: Bool,
                             quoting: Bool) -> (parts: [String], unclosedQuote: Bool) {
        var parts: [String] = []
        var current = ""
        var escaped = false
        var quoted = false
        for character in text {
            if quoting && !escaped && character == "\"" {
                quoted.toggle()
                current.append(character)
            } else if quoted {
                current.append(character)
            } else if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                if keepingEscapes { current.append(character) }
                escaped = true
            } else if character == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return (parts, quoted)
    }

    static func unescape(_ text: String) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if !escaped && character == "\\" {
                escaped = true
            } else {
                result.append(character)
                escaped = false
            }
        }
        return result
    }

    static func listItemIsValid(_ item: String, type: SettingType) -> Bool {
        switch type {
        case .patterns: return !item.isEmpty && !item.contains("/")
        case .interfaces: return !item.isEmpty && item.count <= 64 && !item.contains("/") && !item.contains(" ")
        default: return true
        }
    }

    static func listRule(_ type: SettingType) -> String {
        switch type {
        case .patterns: return "must list file name patterns without \"/\" (they match the last part of a path); write e.g. [\"*.part\", \".*.swp\"]"
        case .interfaces: return "must list interface names (such as \"wlan0\") or patterns (such as \"usb*\"); write e.g. [\"usb0\", \"wwan*\"]"
        default: return "must be a list"
        }
    }
}

/// Why an option's text is not a value of its setting's type.
public struct SettingTextProblem: Error, Sendable, Equatable {
    public let message: String
    init(_ message: String) { self.message = message }
}
