/// A problem with the configuration: a missing or unreadable file, a syntax
/// error, or a setting with a wrong name, type or value.
///
/// ``description`` is the complete message for the user, including where the
/// problem is and what to do about it.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of problem this is.
    public enum Kind: Sendable, Equatable {
        /// The config file does not exist.
        case fileNotFound
        /// The config file exists but cannot be read.
        case unreadable
        /// The file is not valid TOML (or uses TOML this reader does not support).
        case syntax
        /// A key or table that recsync does not know.
        case unknownKey
        /// A value of the wrong TOML type.
        case wrongType
        /// A number outside the allowed range.
        case outOfRange
        /// A value of the right type that is not acceptable.
        case invalidValue
        /// The same setting given twice, e.g. under both of its spellings.
        case duplicateKey
        /// A credential in the config file.
        case credentialsInConfig
        /// A required setting has no value.
        case missingValue
        /// Run as root, a config file someone else could have written (it names programs that
        /// recsync runs as root).
        case unsafeFile
    }

    /// What kind of problem this is.
    public var kind: Kind
    /// The full message.
    public var message: String
    /// The 1-based line in the config file, when the problem is in one.
    public var line: Int?
    /// The 1-based column in the config file, when known.
    public var column: Int?

    /// Creates an error with a complete message.
    public init(kind: Kind, message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String { message }
}
