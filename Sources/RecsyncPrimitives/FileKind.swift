import Glibc

/// What a path names, following symlinks as `FileManager.fileExists(atPath:isDirectory:)` does.
public enum FileKind: Equatable, Sendable {
    case missing
    case directory
    case other

    public static func of(_ path: String) -> FileKind {
        path.withCString { of(cString: $0) }
    }

    /// For a path given as its bytes (a name that is not valid UTF-8 included).
    public static func of(cString path: UnsafePointer<CChar>) -> FileKind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        return st.st_mode & S_IFMT == S_IFDIR ? .directory : .other
    }
}
