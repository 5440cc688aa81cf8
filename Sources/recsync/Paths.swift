import FoundationEssentials
import RecsyncFS
import RecsyncPrimitives
import Glibc

/// Where recsync keeps things: per-mount state and runtime files, named after the mountpoint.
enum Paths {
    static func home(_ environment: [String: String]) -> String {
        if let home = environment["HOME"] { return home }
        guard let entry = getpwuid(geteuid()), let dir = entry.pointee.pw_dir else { return "/" }
        return NameCoding.text(cString: dir)
    }

    /// `path` made absolute: `~` expanded, relative to the working folder, `.`, `..` and
    /// symlinks resolved as the kernel walks them (`AbsolutePath`).
    static func absolute(_ path: String) -> String {
        AbsolutePath.resolve(path, workingDirectory: currentDirectory(), home: home(ProcessInfo.processInfo.environment))
    }

    /// The working folder as its bytes (`NameCoding`); Foundation's would replace some.
    static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return FileManager.default.currentDirectoryPath }
        defer { free(cwd) }
        return NameCoding.text(cString: cwd)
    }

    /// Whether something exists at `path` (a symlink counts, even when it dangles).
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return NameCoding.withCString(path) { lstat($0, &st) } == 0
    }

    /// The canonical path of an existing folder, or an error saying what is wrong with it.
    static func existingDirectory(_ path: String) throws -> String {
        let absolutePath = absolute(path)
        let kind = NameCoding.withCString(absolutePath) { FileKind.of(cString: $0) }
        guard kind != .missing else {
            throw CLIError.usage("mountpoint \(absolutePath) does not exist; create it with 'mkdir -p \(absolutePath)'")
        }
        guard kind == .directory else {
            throw CLIError.usage("mountpoint \(absolutePath) is not a folder; give a folder to mount over")
        }
        guard let resolved = NameCoding.withCString(absolutePath, { realpath($0, nil) }) else { return absolutePath }
        defer { free(resolved) }
        return NameCoding.text(cString: resolved)
    }

    /// A file name for a mountpoint: `/home/ana/Recordings` -> `home-ana-Recordings`
    /// (a `-` in the path is written `\x2d`, as systemd-escape does).
    static func escape(_ mountpoint: String) -> String {
        let trimmed = mountpoint.drop { $0 == "/" }
        if trimmed.isEmpty { return "-" }
        return trimmed.split(separator: "/", omittingEmptySubsequences: true)
            // Character by character, as earlier versions did (a `-` that a combining mark joins
            // stays): the state folder of an existing mount keeps its name.
            .map { String($0).replacing("-", with: "\\x2d") }
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

    /// A folder only this user may use (the state folder, the runtime folder with the control
    /// socket and pid file): made with mode 0700 when missing; an existing one must be a real
    /// folder, not a symlink, owned by this user (then it is set to 0700). Otherwise another user
    /// who made it first could read the queue or answer the CLI in the daemon's place.
    static func privateDirectory(_ path: String, purpose: String, fix: String) throws {
        let parent = PathText.parent(path)
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot create \(parent): \(errorText(error)); \(fix)")
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw CLIError("cannot create \(purpose) \(path): \(String(cString: strerror(errno))); \(fix)")
        }
        switch inspectPrivateFolder(path) {
        case .private:
            return
        case let .unreadable(code):
            throw CLIError("cannot use \(purpose) \(path): \(String(cString: strerror(code))); \(fix)")
        case .notFolder:
            throw CLIError("refusing \(purpose) \(path): it is not a folder (a symlink?); remove it and try again, or \(fix)")
        case let .otherOwner(uid):
            throw CLIError("refusing \(purpose) \(path): it belongs to uid \(uid), not to this user (uid \(geteuid())), "
                           + "so another user may have made it; remove it and try again, or \(fix)")
        case let .open(mode):
            // Ours but open to others (made by an older recsync, or by hand): closed now.
            if chmod(path, 0o700) != 0 {
                throw CLIError("refusing \(purpose) \(path): its mode is \(String(mode, radix: 8)), so other users "
                               + "can reach it, and it cannot be changed (\(String(cString: strerror(errno)))); run 'chmod 700 \(path)'")
            }
        }
    }

    /// What a folder meant to be this user's alone is: the one check behind `privateDirectory`
    /// and `recsync doctor`.
    enum PrivateFolderState: Equatable {
        case `private`
        /// lstat failed with this errno (ENOENT: not there yet).
        case unreadable(Int32)
        /// Not a folder: a file, or a symbolic link.
        case notFolder
        case otherOwner(uid_t)
        /// Ours, but group or others may reach it; its mode.
        case open(mode_t)
    }

    static func inspectPrivateFolder(_ path: String) -> PrivateFolderState {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .unreadable(errno) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return .notFolder }
        guard st.st_uid == geteuid() else { return .otherOwner(st.st_uid) }
        return st.st_mode & 0o077 != 0 ? .open(st.st_mode & 0o7777) : .private
    }

    static func makeDirectory(_ path: String) throws {
        try privateDirectory(path, purpose: "the state folder", fix: "choose another --state-dir")
    }
}

/// What /proc/self/mountinfo says is mounted.
enum MountTable {
    /// Every mount as (mountpoint, filesystem type). The file is read as bytes: a mountpoint
    /// whose name is not UTF-8 keeps its bytes (`NameCoding`) and spoils no other line.
    static func entries() -> [(point: String, type: String)] {
        guard let data = FileManager.default.contents(atPath: "/proc/self/mountinfo") else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let fields = line.split(separator: UInt8(ascii: " "))
            guard fields.count > 4, let separator = fields.firstIndex(where: { $0.elementsEqual([UInt8(ascii: "-")]) }),
                  separator + 1 < fields.count else { return nil }
            return (unescape(Array(fields[4])), String(decoding: fields[separator + 1], as: UTF8.self))
        }
    }

    /// The filesystem type mounted exactly at `path`, or nil.
    static func mountType(at path: String) -> String? {
        entries().last { NameCoding.same($0.point, path) }?.type
    }

    /// The recsync mount whose mountpoint is `path` or a parent of it (the deepest one).
    static func recsyncMount(containing path: String) -> String? {
        var best: String?
        for entry in entries() where entry.type == "fuse.recsync" {
            if entry.point == "/" || NameCoding.isSameOrInside(path, entry.point) {
                if best == nil || entry.point.utf8.count > best!.utf8.count { best = entry.point }
            }
        }
        return best
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes.
    static func unescape(_ field: [UInt8]) -> String {
        var iterator = field[...]
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
        return NameCoding.text(bytes)
    }
}
