/// Why a path pattern, a user id or a rendered S3 key was rejected.
///
/// ``description`` is a complete message for the user: what is wrong and
/// what to do about it.
public enum KeyPatternError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The pattern is the empty string.
    case emptyPattern
    /// `{name}` is not one of the known variables.
    case unknownVariable(name: String, pattern: String)
    /// A `{` without its `}` (or the other way round) at this character offset.
    case unbalancedBrace(offset: Int, pattern: String)
    /// The pattern has no `{filename}`, so recordings would overwrite each other.
    case missingFilename(pattern: String)
    /// The pattern starts with `/`.
    case leadingSlash(pattern: String)
    /// The literal text makes an empty, `.` or `..` path segment.
    case invalidSegment(segment: String, pattern: String)
    /// The pattern contains a control character at this character offset.
    case controlCharacter(offset: Int, pattern: String)
    /// The literal text alone is longer than an S3 key may be.
    case literalTooLong(bytes: Int, pattern: String)
    /// The user id cannot be used as a key segment.
    case invalidUserId(userId: String, reason: String)
    /// The rendered key for this file is longer than 1024 bytes.
    case keyTooLong(file: String, bytes: Int)
    /// The rendered key for this file is not a valid key.
    case invalidKey(file: String, key: String, reason: String)

    /// The longest S3 object key, in UTF-8 bytes.
    public static let maximumKeyBytes = 1024

    public var description: String {
        switch self {
        case .emptyPattern:
            return "path pattern is empty; it needs at least {filename}, e.g. the default \"\(KeyPattern.defaultPattern)\""
        case let .unknownVariable(name, pattern):
            let suggestion = Spelling.closest(to: name, among: KeyPattern.variableNames)
                .map { "did you mean {\($0)}? " } ?? ""
            let known = KeyPattern.variableNames.map { "{\($0)}" }.joined(separator: " ")
            return "unknown variable {\(name)} in path pattern \"\(pattern)\"; \(suggestion)Known variables: \(known)"
        case let .unbalancedBrace(offset, pattern):
            return "unbalanced brace at character \(offset + 1) of path pattern \"\(pattern)\"; variables are written {name} and literal braces are not allowed"
        case let .missingFilename(pattern):
            return "path pattern \"\(pattern)\" does not contain {filename}, so different recordings would get the same S3 key; add {filename}, e.g. \"\(KeyPattern.defaultPattern)\""
        case let .leadingSlash(pattern):
            return "path pattern \"\(pattern)\" starts with \"/\", which would make an empty first key segment; remove the leading \"/\""
        case let .invalidSegment(segment, pattern):
            let shown = segment.isEmpty ? "an empty segment (\"//\" or a trailing \"/\")" : "the segment \"\(segment)\""
            return "path pattern \"\(pattern)\" has \(shown); S3 keys must not contain empty, \".\" or \"..\" segments, so remove it"
        case let .controlCharacter(offset, pattern):
            return "path pattern \(pattern.debugDescription) has a control character at character \(offset + 1); remove it"
        case let .literalTooLong(bytes, _):
            return "path pattern has \(bytes) bytes of literal text, more than the \(Self.maximumKeyBytes) bytes an S3 key may have; shorten it"
        case let .invalidUserId(userId, reason):
            return "user id \(userId.debugDescription) \(reason); choose a non-empty name without \"/\" or control characters, such as \"anonymous\""
        case let .keyTooLong(file, bytes):
            return "the S3 key for \"\(file)\" would be \(bytes) bytes, more than the \(Self.maximumKeyBytes) bytes S3 allows; shorten the file or folder names or the path pattern"
        case let .invalidKey(file, key, reason):
            return "the S3 key \(key.debugDescription) for \"\(file)\" is invalid: \(reason); rename the file or folder, or change the path pattern"
        }
    }
}
