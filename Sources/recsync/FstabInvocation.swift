import FoundationEssentials
import RecsyncCore
import RecsyncPrimitives

/// How `mount(8)` starts recsync for `mount -t fuse.recsync` and `/etc/fstab` lines, turned into
/// a `recsync mount` command line.
///
/// - As `mount.fuse.recsync` (a link to the recsync binary that `mount` finds in `/sbin`):
///   `mount.fuse.recsync SOURCE MOUNTPOINT [-sfnvw] [-o OPTIONS] [-t fuse.recsync]`.
/// - Through `mount.fuse3`, which runs the type's name as a program:
///   `recsync SOURCE MOUNTPOINT -o OPTIONS` (only in exactly that order, with `-o`).
///
/// SOURCE is a bucket name (`s3://` allowed), a config file's path (it has a `/`), or `recsync`
/// or `none` to take everything from the options and the default config.
enum FstabInvocation {
    /// The names of the mount helper: `mount.fuse.recsync`, and `mount.recsync` for `-t recsync`.
    static let helperNames: Set<String> = ["mount.fuse.recsync", "mount.recsync"]

    /// The `recsync` arguments for this invocation, or nil when it is an ordinary command line.
    ///
    /// - Parameters:
    ///   - program: the name the binary was started as (`argv[0]`).
    ///   - subcommands: the names of recsync's commands, which are never a mount source.
    static func arguments(program: String, arguments: [String], subcommands: Set<String>) throws -> [String]? {
        let name = PathText.lastComponent(program)
        if helperNames.contains(name) { return try translate(arguments) }
        // mount.fuse3's form always carries -o; without it, two plain words are a mistyped
        // command (`recsync verfy a b`), which must not become a mount.
        guard arguments.count >= 4, let first = arguments.first, !first.hasPrefix("-"), !subcommands.contains(first),
              first != "help", !arguments[1].hasPrefix("-"), arguments[2] == "-o" else { return nil }
        // `recsync moutn DIR -o ...` is a typo, not a bucket named "moutn".
        if let command = Spelling.closest(to: first, among: Array(subcommands)) {
            throw CLIError.usage("unknown command \(first.debugDescription); did you mean 'recsync \(command)'? "
                                 + "(in mount.fuse3's form 'recsync SOURCE MOUNTPOINT -o OPTIONS', write a bucket of that name as s3://\(first))")
        }
        return try translate(arguments)
    }

    /// What a mount helper exits with when the mount failed (mount(8)'s own code 32); 64 would
    /// mean "some mounts succeeded" to it.
    static let mountFailure: Int32 = 32

    /// `mount -f`: checked, but nothing is mounted.
    static let fakeMarker = "--check-only"

    static func translate(_ arguments: [String]) throws -> [String] {
        var positionals: [String] = []
        var options: [String] = []
        var fake = false
        var sloppy = false
        var index = 0
        func value(after flag: String) throws -> String {
            index += 1
            guard index < arguments.count else { throw CLIError("\(flag) needs a value", exitCode: mountFailure) }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "-o" {
                options.append(try value(after: "-o"))
            } else if argument.hasPrefix("-o") {
                options.append(String(argument.dropFirst(2)))
            } else if argument == "-t" {
                _ = try value(after: argument)
            } else if argument.hasPrefix("-t") {
                // -tfuse.recsync: the type is known.
            } else if argument.hasPrefix("-N") {
                throw CLIError("mount.fuse.recsync: -N (a mount in another namespace) is not supported; run the mount inside that namespace, e.g. with nsenter",
                               exitCode: mountFailure)
            } else if argument == "--help" {
                return ["mount", "--help"]
            } else if argument.hasPrefix("-"), argument.count > 1 {
                for letter in argument.dropFirst() {
                    switch letter {
                    case "f": fake = true
                    case "s": sloppy = true
                    case "n", "v", "w", "i": break
                    case "r": throw CLIError("a recsync mount is where recordings are written, so it cannot be read-only; remove -r / ro", exitCode: mountFailure)
                    case "h": return ["mount", "--help"]
                    default: throw CLIError("mount.fuse.recsync: unknown flag -\(letter); usage: mount.fuse.recsync SOURCE MOUNTPOINT [-o OPTIONS]",
                                            exitCode: mountFailure)
                    }
                }
            } else {
                positionals.append(argument)
            }
            index += 1
        }
        guard positionals.count == 2 else {
            throw CLIError("mount.fuse.recsync takes a source and a mountpoint, not \(positionals.count) arguments; "
                           + "usage: mount -t fuse.recsync BUCKET-OR-CONFIG MOUNTPOINT -o OPTIONS (see 'recsync mount --help')",
                           exitCode: mountFailure)
        }
        var result = ["mount", positionals[1]] + source(positionals[0])
        for option in options { result += ["-o", option] }
        if fake { result.append(fakeMarker) }
        if sloppy { result.append("--sloppy") }
        return result
    }

    /// The arguments that a mount source stands for.
    static func source(_ source: String) -> [String] {
        if source.isEmpty || source == "recsync" || source == "none" { return [] }
        if source.hasPrefix("s3://") {
            // A path after the bucket is left for the bucket check to refuse with its reason.
            var bucket = String(source.dropFirst("s3://".count))
            while bucket.hasSuffix("/") { bucket.removeLast() }
            return ["--bucket", bucket]
        }
        if source.contains("/") { return ["--config", source] }
        return ["--bucket", source]
    }
}
