import FoundationEssentials
import RecsyncFS

/// The facts about one recording that a ``KeyPattern`` turns into an S3 key.
public struct KeyContext: Sendable, Equatable {
    /// The user the recording belongs to; rendered as `{user_id}`.
    public var userId: String
    /// The file's path inside the mount, without a leading `/`, e.g. `sub/take1.wav`.
    ///
    /// Its last component is `{filename}`; everything before it is `{path}`
    /// (`""` for a file at the root of the mount).
    public var relativePath: String
    /// When the recording was made; `{timestamp}`, `{year}`, `{month}` and `{day}`
    /// are taken from it in UTC.
    public var timestamp: Date
    /// The machine's host name; rendered as `{hostname}`.
    public var hostname: String

    /// Creates a context for rendering one key.
    public init(userId: String = "anonymous", relativePath: String, timestamp: Date, hostname: String) {
        self.userId = userId
        self.relativePath = relativePath
        self.timestamp = timestamp
        self.hostname = hostname
    }

    /// The last component of ``relativePath``.
    public var fileName: String {
        NameCoding.split(Self.trimmingSlashes(relativePath)).name
    }

    /// The folder part of ``relativePath``: `""` at the root, `interviews/2026`
    /// for `interviews/2026/take1.wav`.
    public var folderPath: String {
        NameCoding.split(Self.trimmingSlashes(relativePath)).folder
    }

    private static func trimmingSlashes(_ path: String) -> String {
        var result = Substring(path).unicodeScalars
        while result.first == "/" { result = result.dropFirst() }
        while result.last == "/" { result = result.dropLast() }
        return String(result)
    }
}
