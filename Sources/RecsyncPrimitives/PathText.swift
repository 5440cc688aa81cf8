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

    private static func components(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}
