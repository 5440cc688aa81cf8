import FoundationEssentials
import RecsyncFS
import Glibc
import RecsyncPrimitives

/// Turns a recording's path inside the mount into its S3 object key.
///
/// A pattern is literal text with variables in braces, for example the default
/// `{user_id}/{year}/{month}/{filename}`. Variables:
///
/// | variable      | value                                                        |
/// |---------------|--------------------------------------------------------------|
/// | `{user_id}`   | the configured user id (default `anonymous`)                 |
/// | `{filename}`  | the file's name, e.g. `take1.wav`                            |
/// | `{path}`      | the file's folder inside the mount, `""` at the root         |
/// | `{timestamp}` | the recording date as `YYYY-MM-DD`                           |
/// | `{year}`      | four-digit year                                              |
/// | `{month}`     | two-digit month, `01`...`12`                                 |
/// | `{day}`       | two-digit day of the month, `01`...`31`                      |
/// | `{hostname}`  | the machine's host name                                      |
///
/// Dates are always taken from the recording's timestamp in UTC, so a key does
/// not depend on the time zone of the machine that uploads it.
///
/// Every occurrence of a variable is replaced. File and folder names are used
/// exactly as they are (no Unicode normalization or escaping; the HTTP layer
/// percent-encodes keys). When a variable renders empty, such as `{path}` for a
/// file at the root, the `/` around it is collapsed so the key never has an
/// empty segment.
public struct KeyPattern: Sendable, Equatable, CustomStringConvertible {
    /// The pattern used when none is configured.
    public static let defaultPattern = "{user_id}/{year}/{month}/{filename}"

    /// The variable names a pattern may use, without braces.
    public static let variableNames = Variable.allCases.map(\.rawValue)

    enum Variable: String, CaseIterable, Sendable {
        case userId = "user_id"
        case filename
        case path
        case timestamp
        case year
        case month
        case day
        case hostname
    }

    enum Token: Sendable, Equatable {
        case literal(String)
        case variable(Variable)
    }

    /// The pattern text as written.
    public let pattern: String
    let tokens: [Token]

    /// Parses and validates a pattern.
    ///
    /// - Throws: ``KeyPatternError`` when the pattern uses an unknown variable,
    ///   has unbalanced braces, lacks `{filename}`, starts with `/`, has literal
    ///   empty, `.` or `..` segments, contains control characters, or has more
    ///   than 1024 bytes of literal text.
    public init(_ pattern: String) throws {
        guard !pattern.isEmpty else { throw KeyPatternError.emptyPattern }
        let scalars = Array(pattern.unicodeScalars)
        if let offset = scalars.firstIndex(where: Self.isControl) {
            throw KeyPatternError.controlCharacter(offset: offset, pattern: pattern)
        }
        if pattern.hasPrefix("/") { throw KeyPatternError.leadingSlash(pattern: pattern) }

        var tokens: [Token] = []
        var literal = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "}" {
                throw KeyPatternError.unbalancedBrace(offset: index, pattern: pattern)
            }
            if scalar != "{" {
                literal.append(scalar)
                index += 1
                continue
            }
            guard let close = scalars[(index + 1)...].firstIndex(where: { $0 == "}" || $0 == "{" }),
                  scalars[close] == "}" else {
                throw KeyPatternError.unbalancedBrace(offset: index, pattern: pattern)
            }
            let name = String(String.UnicodeScalarView(scalars[(index + 1)..<close]))
            guard let variable = Variable(rawValue: name) else {
                throw KeyPatternError.unknownVariable(name: name, pattern: pattern)
            }
            if !literal.isEmpty {
                tokens.append(.literal(String(literal)))
                literal = String.UnicodeScalarView()
            }
            tokens.append(.variable(variable))
            index = close + 1
        }
        if !literal.isEmpty { tokens.append(.literal(String(literal))) }

        guard tokens.contains(.variable(.filename)) else {
            throw KeyPatternError.missingFilename(pattern: pattern)
        }
        let literalBytes = tokens.reduce(0) { sum, token in
            if case let .literal(text) = token { return sum + text.utf8.count }
            return sum
        }
        if literalBytes > KeyPatternError.maximumKeyBytes {
            throw KeyPatternError.literalTooLong(bytes: literalBytes, pattern: pattern)
        }
        // A segment made of literal text only is the same in every key, so an
        // empty, "." or ".." one is always wrong. Segments with a variable are
        // checked when rendered.
        for segment in Self.segments(of: tokens) where !segment.hasVariable {
            if segment.text.isEmpty || segment.text == "." || segment.text == ".." {
                throw KeyPatternError.invalidSegment(segment: segment.text, pattern: pattern)
            }
        }
        self.pattern = pattern
        self.tokens = tokens
    }

    public var description: String { pattern }

    /// Renders the S3 key for one recording.
    ///
    /// - Throws: ``KeyPatternError`` when the user id is invalid, when the key
    ///   would contain a `.` or `..` segment or a NUL character, or when it
    ///   would be longer than 1024 bytes.
    public func render(_ ctx: KeyContext) throws -> String {
        try Self.validateUserId(ctx.userId)
        let file = ctx.relativePath
        let fileName = ctx.fileName
        if fileName.isEmpty {
            throw KeyPatternError.invalidKey(file: file, key: "", reason: "the path has no file name")
        }
        if ctx.hostname.unicodeScalars.contains("/") {
            throw KeyPatternError.invalidKey(file: file, key: "", reason: "the host name \(ctx.hostname.debugDescription) contains \"/\"")
        }
        let date = Self.utcDate(ctx.timestamp)

        var raw = ""
        for token in tokens {
            switch token {
            case let .literal(text): raw += text
            case let .variable(variable):
                switch variable {
                case .userId: raw += ctx.userId
                case .filename: raw += Self.keyText(fileName)
                case .path: raw += Self.keyText(ctx.folderPath)
                case .timestamp: raw += "\(date.year)-\(date.month)-\(date.day)"
                case .year: raw += date.year
                case .month: raw += date.month
                case .day: raw += date.day
                case .hostname: raw += ctx.hostname
                }
            }
        }

        // Split at `/` scalars: a `Character` split misses a `/` that a combining mark follows.
        let segments = raw.unicodeScalars.split(separator: "/", omittingEmptySubsequences: true).map { String($0) }
        let key = segments.joined(separator: "/")
        if let bad = segments.first(where: { $0 == "." || $0 == ".." }) {
            throw KeyPatternError.invalidKey(file: file, key: key, reason: "it contains a \"\(bad)\" segment")
        }
        if key.unicodeScalars.contains("\0") {
            throw KeyPatternError.invalidKey(file: file, key: key, reason: "it contains a NUL character")
        }
        let bytes = key.utf8.count
        if bytes > KeyPatternError.maximumKeyBytes {
            throw KeyPatternError.keyTooLong(file: file, bytes: bytes)
        }
        return key
    }

    /// Checks that a user id can be used as a key segment.
    ///
    /// - Throws: ``KeyPatternError/invalidUserId(userId:reason:)`` when the id is
    ///   empty, is `.` or `..`, contains `/`, or contains control characters.
    public static func validateUserId(_ userId: String) throws {
        if userId.isEmpty {
            throw KeyPatternError.invalidUserId(userId: userId, reason: "is empty")
        }
        if userId == "." || userId == ".." {
            throw KeyPatternError.invalidUserId(userId: userId, reason: "is not allowed because it is a relative path segment")
        }
        if userId.unicodeScalars.contains("/") {
            throw KeyPatternError.invalidUserId(userId: userId, reason: "contains \"/\"")
        }
        if userId.unicodeScalars.contains(where: isControl) {
            throw KeyPatternError.invalidUserId(userId: userId, reason: "contains a control character")
        }
        if userId.utf8.count > KeyPatternError.maximumKeyBytes {
            throw KeyPatternError.invalidUserId(userId: userId, reason: "is longer than \(KeyPatternError.maximumKeyBytes) bytes")
        }
    }

    // MARK: - Names in keys

    /// How a file or folder name appears in a key (docs/SEMANTICS.md, "Names"). S3 keys are
    /// UTF-8, names are bytes: each byte that is not valid UTF-8 is written `%HH` (uppercase hex),
    /// each control character (U+0000...U+001F, U+007F...U+009F: S3's listings cannot carry them
    /// in XML) is written `%HH` for each of its UTF-8 bytes, and a `%` that two hex digits follow
    /// is written `%25`, so the mapping can be undone and two names never share a key. Every other
    /// name, `100% take.wav` included, is its key unchanged.
    public static func keyText(_ name: String) -> String {
        guard name.unicodeScalars.contains(where: { $0 == "%" || isKeyControl($0) || NameCoding.hasEscapedBytes(String($0)) })
        else { return name }
        let scalars = Array(name.unicodeScalars)
        var result = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if NameCoding.hasEscapedBytes(String(scalar)) || isKeyControl(scalar) {
                for byte in NameCoding.bytes(of: String(scalar)) {
                    result.append("%")
                    result.append(Unicode.Scalar(upperHexDigits[Int(byte >> 4)]))
                    result.append(Unicode.Scalar(upperHexDigits[Int(byte & 0x0F)]))
                }
            } else if scalar == "%", index + 2 < scalars.count, isHex(scalars[index + 1]), isHex(scalars[index + 2]) {
                result.append(contentsOf: "%25".unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)

    /// The name a key text stands for (the inverse of `keyText`).
    public static func name(fromKeyText text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var bytes: [UInt8] = []
        var index = 0
        while index < scalars.count {
            if scalars[index] == "%", index + 2 < scalars.count, isHex(scalars[index + 1]), isHex(scalars[index + 2]),
               let byte = UInt8(String(scalars[(index + 1)...(index + 2)].map(Character.init)), radix: 16) {
                bytes.append(byte)
                index += 3
            } else {
                bytes.append(contentsOf: Array(String(scalars[index]).utf8))
                index += 1
            }
        }
        return NameCoding.text(bytes)
    }

    /// C0 and C1 control characters and DEL: S3 listings cannot carry them in XML, and HTTP
    /// headers (the `original-name` metadata) refuse them.
    private static func isKeyControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private static func isHex(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar { case "0"..."9", "a"..."f", "A"..."F": return true; default: return false }
    }

    // MARK: - Helpers

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Splits the tokens at the `/` in literal text.
    static func segments(of tokens: [Token]) -> [(text: String, hasVariable: Bool)] {
        var result: [(text: String, hasVariable: Bool)] = []
        var text = ""
        var hasVariable = false
        for token in tokens {
            switch token {
            case .variable:
                hasVariable = true
            case let .literal(literal):
                let parts = literal.split(separator: "/", omittingEmptySubsequences: false)
                for (i, part) in parts.enumerated() {
                    if i > 0 {
                        result.append((text, hasVariable))
                        text = ""
                        hasVariable = false
                    }
                    text += part
                }
            }
        }
        result.append((text, hasVariable))
        return result
    }

    /// The UTC date of `date`, from the C library (every close renders a key; a `Calendar` cost
    /// more than the rest of the key).
    static func utcDate(_ date: Date) -> (year: String, month: String, day: String) {
        let time = CivilTime.utc(date)
        return (NumberText.padded(time.year, width: 4), NumberText.padded(time.month, width: 2), NumberText.padded(time.day, width: 2))
    }
}
