/// A value given for a setting, read but not yet checked: from the config file, from an `-o`
/// mount option or from a flag.
public enum SettingValue: Sendable, Equatable {
    case text(String)
    case boolean(Bool)
    /// Integers, byte counts and seconds.
    case number(Int)
    case list([String])
    /// `"auto"`: recsync decides (only for ``SettingType/booleanOrAuto``).
    case automatic
}

/// What a setting holds; it decides how a value is written in the config file and in `-o`.
public enum SettingType: Sendable, Equatable {
    case text
    /// An absolute path; a leading `~/` is expanded with `$HOME`.
    case path
    case boolean
    /// `true`, `false` or `"auto"`.
    case booleanOrAuto
    case integer
    /// An integer number of bytes, or a size such as `"8MiB"`.
    case bytes
    /// An integer number of seconds, or a duration such as `"5m"`.
    case seconds
    /// File name patterns (`*.part`), no `/`.
    case patterns
    /// Network interface names or patterns (`usb*`).
    case interfaces
    /// A program and its arguments.
    case command
    /// A weekly timetable of upload hours and bandwidth caps (``UploadSchedule``).
    case schedule

    /// How the type is named in the documentation.
    public var documentation: String {
        switch self {
        case .text: return "string"
        case .path: return "string (absolute path)"
        case .boolean: return "boolean"
        case .booleanOrAuto: return "boolean or `\"auto\"`"
        case .integer: return "integer"
        case .bytes: return "integer (bytes) or size string"
        case .seconds: return "integer (seconds) or duration string"
        case .patterns, .interfaces: return "array of strings"
        case .command: return "array of strings, or string"
        case .schedule: return "string (timetable)"
        }
    }

    /// How a value is written after `-o name=`, for `--help`.
    public var optionForm: String {
        switch self {
        case .text, .path: return "TEXT"
        case .boolean: return "true|false"
        case .booleanOrAuto: return "true|false|auto"
        case .integer: return "N"
        case .bytes: return "SIZE"
        case .seconds: return "DURATION"
        case .patterns: return "PATTERN:PATTERN..."
        case .interfaces: return "NAME:NAME..."
        case .command: return "PROGRAM:ARG..."
        case .schedule: return "TIMETABLE"
        }
    }

    var isNumeric: Bool { self == .integer || self == .bytes || self == .seconds }
}

/// One recsync setting: its name, where it goes, its type, its help and how it is checked and
/// stored. ``Settings/all`` lists every one; the config file reader, `-o` options, command-line
/// overrides, validation, `--help` and the settings tables of docs/CONFIGURATION.md all come
/// from that list.
public struct Setting: Sendable {
    /// The canonical spelling, `snake_case`.
    public let name: String
    /// The config file table it belongs in; nil for the top level.
    public let table: String?
    public let type: SettingType
    /// One sentence for `--help` and the documentation.
    public let help: String
    /// More for the documentation only (allowed values, interactions).
    public let notes: String
    /// The default as the documentation states it, when it is not simply the value in
    /// ``RecsyncConfig/defaults`` (a setting without a value, or one chosen at run time).
    public let defaultDescription: String?
    /// The dedicated `recsync mount` flag, if there is one besides `-o`.
    public let flag: String?
    /// Nil when the value is acceptable, else a sentence saying what is wrong and what to use.
    let problem: @Sendable (SettingValue) -> String?
    let get: @Sendable (RecsyncConfig) -> SettingValue?
    let set: @Sendable (inout RecsyncConfig, SettingValue) -> Void

    /// The accepted spelling in camelCase, e.g. `pathStyle`.
    public var alias: String {
        let parts = name.split(separator: "_")
        return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
    }

    /// How the setting is named where it is written: `sync.chunk_size` for the documentation.
    public var qualifiedName: String { table.map { "\($0).\(name)" } ?? name }

    /// The value in `config`, nil when unset.
    public func value(in config: RecsyncConfig) -> SettingValue? { get(config) }

    /// Checks `value` and stores it in `config`.
    ///
    /// - Throws: ``ConfigError`` whose message is `"<origin>: <problem>"`.
    public func apply(_ value: SettingValue, to config: inout RecsyncConfig, origin: String) throws {
        try check(value, origin: origin)
        set(&config, value)
    }

    /// Checks `value` without storing it.
    public func check(_ value: SettingValue, origin: String) throws {
        if let problem = problem(value) {
            throw ConfigError(kind: type.isNumeric ? .outOfRange : .invalidValue, message: "\(origin): \(problem)")
        }
    }

    /// The default, as the documentation and `--help` show it.
    public var defaultText: String {
        if let defaultDescription { return defaultDescription }
        guard let value = get(.defaults) else { return "none" }
        return Self.format(value, type: type)
    }

    static func format(_ value: SettingValue, type: SettingType) -> String {
        switch value {
        case let .text(text): return "`\(text.debugDescription)`"
        case let .boolean(flag): return "`\(flag)`"
        case .automatic: return "automatic"
        case let .number(number):
            switch type {
            case .bytes where number >= 1024: return "`\(number)` (\(ByteSize.format(number)))"
            case .seconds where number >= 60: return "`\(number)` (\(DurationText.format(number)))"
            default: return "`\(number)`"
            }
        case let .list(items):
            return "`[" + items.map(\.debugDescription).joined(separator: ", ") + "]`"
        }
    }
}
