import RecsyncPrimitives

/// Settings given on the command line (flags and `-o` options); each replaces the value from the
/// config file. See ``RecsyncConfig/merged(with:)``.
public struct ConfigOverrides: Sendable, Equatable {
    /// One setting given on the command line.
    public struct Given: Sendable, Equatable {
        /// The setting's canonical name (``Setting/name``).
        public var name: String
        public var value: SettingValue
        /// How it was given, for messages: `--user-id "a/b"` or `-o user_id=a/b`.
        public var origin: String
    }

    /// What was given, in order; a later value of the same setting wins.
    public private(set) var given: [Given] = []

    /// No overrides.
    public init() {}

    /// Overrides from `name: value` pairs, each described as its flag (`--chunk-size 1024`).
    public init(_ values: KeyValuePairs<String, SettingValue>) {
        for (name, value) in values { set(name, value) }
    }

    /// Adds a setting given on the command line.
    ///
    /// - Parameters:
    ///   - name: a name from ``Settings/all``; anything else is a programming error.
    ///   - origin: how it was given; by default its flag spelling and value.
    public mutating func set(_ name: String, _ value: SettingValue, origin: String? = nil) {
        guard let setting = Settings.named(name) else { preconditionFailure("no setting named \(name)") }
        given.append(Given(name: setting.name, value: value,
                           origin: origin ?? "--\(setting.name.replacingBytes(of: "_", with: "-")) \(Self.describe(value))"))
    }

    /// The value given for a setting, the last one if it was given more than once.
    public func value(of name: String) -> SettingValue? {
        given.last { $0.name == name }?.value
    }

    /// Checks the values given, so an error can name the flag or option.
    ///
    /// - Throws: ``ConfigError`` such as `--user-id "a/b": ...`.
    public func validate() throws {
        for item in given {
            try Settings.named(item.name)?.check(item.value, origin: item.origin)
        }
    }

    static func describe(_ value: SettingValue) -> String {
        switch value {
        case let .text(text): return text.debugDescription
        case let .boolean(flag): return String(flag)
        case let .number(number): return String(number)
        case let .list(items): return items.joined(separator: " ").debugDescription
        case .automatic: return "auto"
        }
    }
}
