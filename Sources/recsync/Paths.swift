import Foundation

/// Where recsync keeps things: per-mount state and runtime files, named after the mountpoint.
enum Paths {
    static func home(_ environment: [String: String]) -> String {
        environment["HOME"] ?? NSHomeDirectory()
    }

    static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
    }

    /// The canonical path of an existing folder, or an error saying what is wrong with it.
    static func existingDirectory(_ path: String) throws -> String {
        let absolutePath = absolute(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolutePath, isDirectory: &isDirectory) else {
            throw CLIError.usage("mountpoint \(absolutePath) does not exist; create it with 'mkdir -p \(absolutePath)'")
        }
        guard isDirectory.boolValue else {
            throw CLIError.usage("mountpoint \(absolutePath) is not a folder; give a folder to mount over")
        }
        guard let resolved = realpath(absolutePath, nil) else { return absolutePath }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A file name for a mountpoint: `/home/ana/Recordings` -> `home-ana-Recordings`
    /// (a `-` in the path is written `\x2d`, as systemd-escape does).
    static func escape(_ mountpoint: String) -> String {
        let trimmed = mountpoint.drop { $0 == "/" }
        if trimmed.isEmpty { return "-" }
        return trimmed.split(separator: "/", omittingEmptySubsequences: true)
            .map { $0.replacingOccurrences(of: "-", with: "\\x2d") }
            .joined(separator: "-")
    }

    static func defaultStateDirectory(for mountpoint: String, environment: [String: String]) -> String {
        let base: String
        if geteuid() == 0 {
            base = "/var/lib/recsync"
        } else if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            base = state + "/recsync"
        } else {
            base = home(environment) + "/.local/state/recsync"
        }
        return base + "/" + escape(mountpoint)
    }

    /// Holds the daemon's process id while it runs, so `recsync unmount` can wait for it.
    static func runtimeFile(for mountpoint: String, environment: [String: String]) -> String {
        let base: String
        if geteuid() == 0 {
            base = "/run/recsync"
        } else if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            base = runtime + "/recsync"
        } else {
            base = "/tmp/recsync-\(geteuid())"
        }
        return base + "/" + escape(mountpoint) + ".pid"
    }

    /// The daemon's control socket, next to its runtime file.
    static func controlSocket(for mountpoint: String, environment: [String: String]) -> String {
        String(runtimeFile(for: mountpoint, environment: environment).dropLast(4)) + ".sock"
    }

    static func makeDirectory(_ path: String, mode: Int = 0o700) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: mode])
        } catch {
            throw CLIError("cannot create \(path): \(error.localizedDescription); choose another --state-dir or fix its permissions")
        }
    }
}

/// What /proc/self/mountinfo says is mounted.
enum MountTable {
    /// The filesystem type mounted exactly at `path`, or nil.
    static func mountType(at path: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, let separator = fields.firstIndex(of: "-"), separator + 1 < fields.count else { continue }
            if unescape(String(fields[4])) == path { return String(fields[separator + 1]) }
        }
        return nil
    }

    /// The recsync mount whose mountpoint is `path` or a parent of it (the deepest one).
    static func recsyncMount(containing path: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return nil }
        var best: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4, let separator = fields.firstIndex(of: "-"), separator + 1 < fields.count,
                  fields[separator + 1] == "fuse.recsync" else { continue }
            let point = unescape(String(fields[4]))
            if path == point || path.hasPrefix(point == "/" ? "/" : point + "/") {
                if best == nil || point.count > best!.count { best = point }
            }
        }
        return best
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes.
    static func unescape(_ field: String) -> String {
        var result = ""
        var iterator = Array(field.utf8)[...]
        var bytes: [UInt8] = []
        while let byte = iterator.first {
            iterator = iterator.dropFirst()
            if byte == UInt8(ascii: "\\"), iterator.count >= 3,
               let value = UInt8(String(decoding: iterator.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                iterator = iterator.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        result = String(decoding: bytes, as: UTF8.self)
        return result
    }
}
