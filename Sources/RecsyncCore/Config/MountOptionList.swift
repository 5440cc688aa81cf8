import RecsyncPrimitives

/// The `-o` options of `recsync mount` and of the `mount.fuse.recsync` helper, as written in
/// `/etc/fstab`: every setting of the config file (``Settings/all``), a few options of their own,
/// the kernel's mount flags recsync honours, and the options of `mount(8)` and systemd that are
/// only for them.
public struct MountOptionList: Sendable, Equatable {
    /// Settings given as options.
    public var overrides = ConfigOverrides()
    /// `config=PATH`: the config file to read.
    public var configPath: String?
    /// `aws_profile=`, `aws_shared_credentials_file=`, `aws_config_file=`: where the credentials
    /// are, as the environment variables the AWS tools read. A boot-time mount has no
    /// environment of its own to say it.
    public var environment: [String: String] = [:]
    /// Kernel mount flags to pass on: `noexec`, `nosuid`, `nodev`, `noatime`, `nodiratime`.
    public var kernelFlags: [String] = []
    /// Options accepted and not used (`_netdev`, `nofail`, `x-systemd.*`, ...), or unknown ones
    /// under `-s` (sloppy).
    public var ignored: [String] = []

    public init() {}

    /// Kernel flags recsync passes to the FUSE mount.
    public static let kernelFlagNames: Set<String> = ["noexec", "nosuid", "nodev", "noatime", "nodiratime"]

    /// Options of `mount(8)`, fstab and systemd that say how or when to mount, not what:
    /// accepted and ignored. (`rw` is what a recsync mount always is; `sync` and `dirsync` are
    /// what it already does: every write reaches the disk below before it returns.)
    public static let ignoredNames: Set<String> = [
        "rw", "defaults", "auto", "noauto", "user", "users", "nouser", "owner", "group", "_netdev", "_rnetdev", "nofail",
        "exec", "suid", "dev", "atime", "relatime", "norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime",
        "diratime", "async", "sync", "dirsync", "silent", "loud", "default_permissions", "fsname", "subtype",
    ]

    static let environmentOptions = [
        "aws_profile": "AWS_PROFILE",
        "aws_shared_credentials_file": "AWS_SHARED_CREDENTIALS_FILE",
        "aws_config_file": "AWS_CONFIG_FILE",
    ]

    /// Reads `-o` arguments, each one or more comma-separated options.
    ///
    /// - Parameters:
    ///   - sloppy: unknown options are ignored instead of refused (`mount -s`).
    /// - Throws: ``ConfigError`` naming the option and saying how to write it.
    public static func parse(_ arguments: [String], environment: [String: String], sloppy: Bool = false) throws -> MountOptionList {
        var result = MountOptionList()
        if let open = arguments.first(where: SettingText.hasUnclosedQuote) {
            throw ConfigError(kind: .invalidValue, message: "-o \(open.debugDescription): a double quote is not closed; "
                              + "write the value as name=\"value, with commas\", or leave the quotes out")
        }
        for option in arguments.flatMap(SettingText.options) {
            try result.add(option, environment: environment, sloppy: sloppy)
        }
        return result
    }

    mutating func add(_ option: SettingText.Option, environment: [String: String], sloppy: Bool) throws {
        let name = option.name.replacingBytes(of: "-", with: "_")
        func problem(_ message: String) -> ConfigError {
            ConfigError(kind: .invalidValue, message: "-o \(option.written): \(message)")
        }
        if Self.ignoredNames.contains(name) || name.hasPrefix("x_") || name.hasPrefix("comment") {
            ignored.append(option.written)
        } else if Self.kernelFlagNames.contains(name) {
            kernelFlags.append(name)
        } else if name == "ro" {
            throw problem("a recsync mount is where recordings are written, so it cannot be read-only; remove ro")
        } else if name == "config" {
            guard let value = option.value, !value.isEmpty else { throw problem("needs the config file's path: config=/etc/recsync/NAME.toml") }
            configPath = SettingText.unescape(value)
        } else if let variable = Self.environmentOptions[name] {
            guard let value = option.value, !value.isEmpty else { throw problem("needs a value: \(name)=...") }
            self.environment[variable] = SettingText.unescape(value)
        } else if Settings.looksLikeCredential(name) {
            throw ConfigError(kind: .credentialsInConfig, message: "-o \(option.name): credentials are never taken as mount options (they would be in fstab, in the process list and in logs); "
                              + "use aws_profile=NAME or aws_shared_credentials_file=PATH, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")
        } else if let setting = Settings.named(name) ?? Settings.named(option.name) {
            switch SettingText.value(of: option.value, for: setting, environment: environment) {
            case let .success(value): overrides.set(setting.name, value, origin: "-o \(option.written)")
            case let .failure(failure): throw problem(failure.message)
            }
        } else if sloppy {
            ignored.append(option.written)
        } else {
            // The name only: an unknown option's value may be something secret mistyped.
            throw ConfigError(kind: .unknownKey, message: "-o \(option.name): unknown option; \(Settings.didYouMean(name, table: nil))"
                              + "the options are the settings of the config file (see 'recsync mount --help' or CONFIGURATION.md), config=, "
                              + "aws_profile=, aws_shared_credentials_file=, aws_config_file= and the mount flags noexec, nosuid, nodev, noatime")
        }
    }
}
