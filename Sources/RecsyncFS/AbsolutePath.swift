import Glibc
import RecsyncPrimitives

/// A path the user typed, made absolute the way the kernel would walk it: what `mount`,
/// `unmount`, `status` and the others use to name a mountpoint, so all of them find the same
/// state and runtime files whichever way the folder is written.
public enum AbsolutePath {
    /// `~` and `~/...` become the home folder, `~name/...` that user's; a relative path starts
    /// at `workingDirectory`. Then, component by component: `.` is skipped, `..` takes away
    /// the last component resolved so far, a symlink is replaced by its target (at most 40 of
    /// them), and a component that does not exist is kept as written, with the rest.
    public static func resolve(_ path: String, workingDirectory: String, home: String) -> String {
        var expanded = path
        if path == "~" || path.hasPrefix("~/") {
            expanded = home + path.dropFirst()
        } else if path.hasPrefix("~") {
            let name = path.dropFirst().prefix { $0 != "/" }
            if let entry = NameCoding.withCString(String(name), { getpwnam($0) }), let dir = entry.pointee.pw_dir {
                expanded = NameCoding.text(cString: dir) + path.dropFirst(1 + name.count)
            }
        }
        if !expanded.hasPrefix("/") { expanded = PathText.appending(workingDirectory, expanded) }
        return walk(expanded)
    }

    private static func walk(_ path: String) -> String {
        var resolved: [String] = []
        var pending = Array(path.split(separator: "/").map(String.init).reversed())
        var hops = 0
        while let part = pending.popLast() {
            switch part {
            case ".":
                continue
            case "..":
                if !resolved.isEmpty { resolved.removeLast() }
            default:
                let candidate = "/" + (resolved + [part]).joined(separator: "/")
                if hops < 40, let target = symlinkTarget(candidate) {
                    hops += 1
                    if target.hasPrefix("/") { resolved = [] }
                    pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
                } else {
                    resolved.append(part)
                }
            }
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// The target of the symlink at `path`; nil when it is not one (or is not there).
    private static func symlinkTarget(_ path: String) -> String? {
        var st = stat()
        guard NameCoding.withCString(path, { lstat($0, &st) }) == 0, st.st_mode & S_IFMT == S_IFLNK,
              let target = try? Sys.readlink(path), !target.isEmpty else { return nil }
        return target
    }
}
