import ArgumentParser
import FoundationEssentials
import RecsyncCore
import RecsyncPrimitives

/// The settings `recsync mount` takes on the command line; each one overrides the config file.
/// Every setting can be given with `-o NAME=VALUE`; the common ones also have flags.
struct MountOptions: ParsableArguments {
    @Option(help: Self.help("bucket", valueName: "name"))
    var bucket: String?

    @Option(help: Self.help("region", valueName: "region"))
    var region: String?

    @Option(help: Self.help("endpoint", valueName: "url"))
    var endpoint: String?

    @Flag(inversion: .prefixedNo, help: Self.help("allow_other"))
    var allowOther: Bool?

    @Flag(inversion: .prefixedNo, help: Self.help("allow_plain_http"))
    var allowPlainHttp: Bool?

    @Flag(inversion: .prefixedNo, help: Self.help("path_style"))
    var pathStyle: Bool?

    @Option(help: Self.help("path_pattern", valueName: "pattern"))
    var pathPattern: String?

    @Option(help: Self.help("user_id", valueName: "id"))
    var userId: String?

    @Option(help: Self.help("state_dir", valueName: "dir"))
    var stateDir: String?

    @Option(help: ArgumentHelp("A TOML config file (default: ~/.config/recsync/config.toml, /etc/recsync/config.toml for root, if present).", valueName: "file"))
    var config: String?

    @Option(help: Self.help("log_level", valueName: "level"))
    var logLevel: String?

    @Option(help: Self.help("metrics_address", valueName: "host:port"))
    var metricsAddress: String?

    @Option(name: .customShort("o"), help: ArgumentHelp(
        "Settings as NAME=VALUE, comma-separated as in /etc/fstab; every setting of the config file is one (see SETTINGS below).",
        valueName: "name=value,..."))
    var settings: [String] = []

    /// `mount -s`: unknown `-o` options are ignored instead of refused.
    @Flag(help: .hidden)
    var sloppy = false

    /// The `--help` line of a setting's flag, with its default, from the settings table.
    static func help(_ name: String, valueName: String? = nil) -> ArgumentHelp {
        guard let setting = Settings.named(name) else { preconditionFailure("no setting named \(name)") }
        return ArgumentHelp("\(setting.help) (default: \(SettingsHelp.plain(setting.defaultText)))", valueName: valueName)
    }

    /// Bad `-o` options and flag values are usage errors, reported before anything else is done.
    func validate() throws {
        do {
            try optionList(environment: ProcessInfo.processInfo.environment).overrides.validate()
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The `-o` options read, with the flags given applied over them (a flag wins).
    func optionList(environment: [String: String]) throws -> MountOptionList {
        var list = try MountOptionList.parse(settings, environment: environment, sloppy: sloppy)
        func flag(_ name: String, _ value: SettingValue?) { if let value { list.overrides.set(name, value) } }
        flag("bucket", bucket.map { .text($0) })
        flag("region", region.map { .text($0) })
        flag("endpoint", endpoint.map { .text($0) })
        flag("path_style", pathStyle.map { .boolean($0) })
        flag("allow_other", allowOther.map { .boolean($0) })
        flag("allow_plain_http", allowPlainHttp.map { .boolean($0) })
        flag("path_pattern", pathPattern.map { .text($0) })
        flag("user_id", userId.map { .text($0) })
        flag("state_dir", stateDir.map { .text($0) })
        flag("log_level", logLevel.map { .text($0) })
        flag("metrics_address", metricsAddress.map { .text($0) })
        return list
    }

    /// The same options as arguments, to hand to the background process.
    var arguments: [String] {
        var result: [String] = []
        func add(_ flag: String, _ value: String?) { if let value { result += [flag, value] } }
        func add(_ flag: String, _ value: Bool?) { if let value { result.append(value ? "--\(flag)" : "--no-\(flag)") } }
        add("--bucket", bucket)
        add("--region", region)
        add("--endpoint", endpoint)
        add("path-style", pathStyle)
        add("allow-other", allowOther)
        add("allow-plain-http", allowPlainHttp)
        add("--path-pattern", pathPattern)
        add("--user-id", userId)
        add("--state-dir", stateDir)
        add("--config", config)
        add("--log-level", logLevel)
        add("--metrics-address", metricsAddress)
        for option in settings { result += ["-o", option] }
        if sloppy { result.append("--sloppy") }
        return result
    }
}

/// The settings table as `recsync mount --help` shows it.
enum SettingsHelp {
    /// Markdown defaults (`` `8388608` (8 MiB) ``) as plain text.
    static func plain(_ text: String) -> String {
        text.replacingBytes(of: "`", with: "").replacingBytes(of: "**", with: "")
    }

    /// One line per setting: `-o chunk_size=SIZE  The part size ... (default: 8388608 (8 MiB))`.
    static var discussion: String {
        var lines = ["SETTINGS (as -o NAME=VALUE, or NAME = value in the config file; a flag above wins over -o):"]
        for setting in Settings.all {
            lines.append("  \(setting.name)=\(setting.type.optionForm)")
            lines.append("      \(plain(setting.help)) Default: \(plain(setting.defaultText)).")
        }
        lines.append("Lists separate items with ':'; '\\,' and '\\:' are a comma and a colon inside a value. "
                     + "Also: config=FILE, aws_profile=NAME, aws_shared_credentials_file=FILE, aws_config_file=FILE, "
                     + "and the mount flags noexec, nosuid, nodev, noatime, nodiratime. "
                     + "fstab's _netdev, nofail, noauto, x-systemd.*, rw, user and the like are accepted and ignored.")
        return lines.joined(separator: "\n")
    }
}
