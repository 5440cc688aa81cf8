/// Paths as text, the way Foundation's NSString path methods treat them (which the daemon does not
/// link): `/` separates components, repeated and trailing slashes do not count, and nothing on
/// disk is looked at.
public enum PathText {
    /// The path without its last component: `/a/b/` -> `/a`, `/a` -> `/`, `/` -> `/`, `a` -> ``.
    public static func parent(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var parts = components(path)
        guard !parts.isEmpty else { return absolute ? "/" : "" }
        parts.removeLast()
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : joined
    }

    /// The last component: `/a/b/` -> `b`, `/` -> `/`, `` -> ``.
    public static func lastComponent(_ path: String) -> String {
        components(path).last.map(String.init) ?? (path.hasPrefix("/") ? "/" : "")
    }

    /// `component` appended to `path` with one slash between them.
    public static func appending(_ path: String, _ component: String) -> String {
        if path.isEmpty { return component }
        if component.isEmpty { return path }
        return (path.hasSuffix("/") ? String(path.dropLast()) : path) + (component.hasPrefix("/") ? "" : "/") + component
    }

    /// An absolute path with `.` and empty components dropped and each `..` taking away the
    /// component before it (never above `/`); a relative path is returned as it came.
    public static func normalized(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        var kept: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !kept.isEmpty { kept.removeLast() }
            default: kept.append(part)
            }
        }
        return "/" + kept.joined(separator: "/")
    }

    private static func components(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}
