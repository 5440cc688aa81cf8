import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecsyncPrimitives

extension RecsyncConfig {
    /// The largest config file accepted.
    static let maximumFileBytes = 1024 * 1024

    /// Reads and checks a TOML config file.
    ///
    /// Settings missing from the file keep their defaults. `~/` at the start
    /// of `state_dir` is expanded with `$HOME`.
    ///
    /// - Throws: ``ConfigError`` when the file is missing or unreadable, is not
    ///   valid TOML, or has an unknown key, a value of the wrong type, a value
    ///   out of range or a credential. Messages name the file and line.
    public static func load(path: String) throws -> RecsyncConfig {
        let bytes = try readFile(path)
        return try parse(bytes: bytes, source: path, environment: ProcessInfo.processInfo.environment)
    }

    /// Parses config file text; `source` names the file in error messages.
    ///
    /// - Throws: ``ConfigError`` as ``load(path:)`` does.
    public static func parse(_ text: String, source: String = "config file") throws -> RecsyncConfig {
        try parse(bytes: Array(text.utf8), source: source, environment: ProcessInfo.processInfo.environment)
    }

    /// The config file used when `--config` is not given, or nil when there is none.
    ///
    /// Looks for `$XDG_CONFIG_HOME/recsync/config.toml` (or
    /// `~/.config/recsync/config.toml` when `XDG_CONFIG_HOME` is unset or not
    /// absolute), and for root also `/etc/recsync/config.toml`. Returns the
    /// first one that exists.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        defaultPath(environment: environment, isRoot: getuid() == 0) { path in
            FileKind.of(path) == .other
        }
    }

    /// The system-wide config file, considered when running as root.
    public static let systemConfigPath = "/etc/recsync/config.toml"

    static func defaultPath(environment: [String: String], isRoot: Bool, fileExists: (String) -> Bool) -> String? {
        candidatePaths(environment: environment, isRoot: isRoot).first(where: fileExists)
    }

    static func candidatePaths(environment: [String: String], isRoot: Bool) -> [String] {
        var candidates: [String] = []
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            candidates.append(joinPath(xdg, "recsync/config.toml"))
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            candidates.append(joinPath(home, ".config/recsync/config.toml"))
        }
        if isRoot { candidates.append(systemConfigPath) }
        return candidates
    }

    static func joinPath(_ directory: String, _ child: String) -> String {
        directory.hasSuffix("/") ? directory + child : directory + "/" + child
    }

    // MARK: - Reading

    /// Run as root, recsync reads only config files owned by root that group and others cannot
    /// write: a config names a hook program that recsync runs, as root. (The check is on the file
    /// opened, so swapping the path afterwards changes nothing.)
    static func checkOwner(_ info: stat, path: String, asRoot: Bool) throws {
        guard asRoot else { return }
        if info.st_uid != 0 || info.st_mode & 0o022 != 0 {
            throw ConfigError(kind: .unsafeFile, message: "refusing config file \(path): it is owned by uid \(info.st_uid) with mode "
                              + "\(String(info.st_mode & 0o7777, radix: 8)), and run as root recsync reads only config files owned by "
                              + "root that group and others cannot write (a config names programs recsync runs as root); "
                              + "run 'chown root:root \(path) && chmod go-w \(path)' if its content is yours")
        }
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT {
                throw ConfigError(kind: .fileNotFound, message: "config file \(path) does not exist; create it (see CONFIGURATION.md for the format) or pass --config with the path of an existing file")
            }
            throw ConfigError(kind: .unreadable, message: "cannot read config file \(path): \(String(cString: strerror(code))); check that it exists and that this user may read it")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw ConfigError(kind: .unreadable, message: "cannot read config file \(path): \(String(cString: strerror(errno)))")
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            throw ConfigError(kind: .unreadable, message: "config file \(path) is a directory; pass the path of the config.toml file inside it")
        }
        try checkOwner(info, path: path, asRoot: geteuid() == 0)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigError(kind: .unreadable, message: "cannot read config file \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
            if bytes.count > maximumFileBytes {
                throw ConfigError(kind: .unreadable, message: "config file \(path) is larger than \(maximumFileBytes / 1024) KiB, which is not a recsync config file; check the path")
            }
        }
        return bytes
    }

    // MARK: - Interpreting

    package static func parse(bytes: [UInt8], source: String, environment: [String: String]) throws -> RecsyncConfig {
        let document: TOMLDocument
        do {
            document = try TOMLParser.parse(bytes: bytes)
        } catch let error as TOMLError {
            throw ConfigError(kind: .syntax, message: "\(source) line \(error.position.line), column \(error.position.column): \(error.message)",
                              line: error.position.line, column: error.position.column)
        }
        var interpreter = ConfigInterpreter(source: source, environment: environment)
        return try interpreter.interpret(document)
    }
}

/// Turns a parsed TOML document into a ``RecsyncConfig``, strictly.
struct ConfigInterpreter {
    let source: String
    let environment: [String: String]
    var config = RecsyncConfig()
    /// Where each setting was first given, and under which spelling.
    var seen: [String: (line: Int, spelling: String)] = [:]

    init(source: String, environment: [String: String]) {
        self.source = source
        self.environment = environment
    }

    mutating func interpret(_ document: TOMLDocument) throws -> RecsyncConfig {
        for table in document.tables {
            try checkTable(table)
        }
        for entry in document.entries {
            try apply(entry)
        }
        return config
    }

    func location(_ position: TOMLPosition) -> String {
        "\(source) line \(position.line)"
    }

    func fail(_ kind: ConfigError.Kind, _ message: String, at position: TOMLPosition) -> ConfigError {
        ConfigError(kind: kind, message: message, line: position.line, column: position.column)
    }

    func credentialError(_ name: String, at position: TOMLPosition) -> ConfigError {
        fail(.credentialsInConfig, "\"\(name)\" in \(location(position)) looks like a credential, and credentials are never read from the recsync config file; remove it and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, or use AWS_PROFILE with ~/.aws/credentials", at: position)
    }

    func checkTable(_ table: TOMLTableHeader) throws {
        if table.path.count == 1, Settings.tables.contains(table.path[0]) { return }
        let name = table.path.joined(separator: ".")
        if table.path.contains(where: Settings.looksLikeCredential) {
            throw credentialError("[\(name)]", at: table.position)
        }
        if table.path.count == 1, Settings.named(name) != nil {
            throw fail(.unknownKey, "[\(name)] in \(location(table.position)) is a setting, not a table; write it as \(name) = value at the top of the file", at: table.position)
        }
        let suggestion = Spelling.closest(to: name, among: Settings.tables).map { "did you mean [\($0)]? " } ?? ""
        throw fail(.unknownKey, "unknown table [\(name)] in \(location(table.position)); \(suggestion)The tables are [sync] for sync settings, [hooks] for event hooks and [network] for connection rules; other settings go at the top of the file", at: table.position)
    }

    mutating func apply(_ entry: TOMLEntry) throws {
        let position = entry.keyPosition
        let table: String?
        let name: String
        switch entry.path.count {
        case 1 where Settings.tables.contains(entry.path[0]):
            let tableName = entry.path[0]
            throw fail(.wrongType, "\(tableName) in \(location(position)) must be a table; write [\(tableName)] on a line of its own followed by its settings", at: position)
        case 1:
            table = nil
            name = entry.path[0]
        case 2 where Settings.tables.contains(entry.path[0]):
            table = entry.path[0]
            name = entry.path[1]
        default:
            let dotted = entry.path.joined(separator: ".")
            if entry.path.contains(where: Settings.looksLikeCredential) { throw credentialError(dotted, at: position) }
            throw fail(.unknownKey, "unknown key \"\(dotted)\" in \(location(position)); settings are at the top level, in [sync], [hooks] or [network]. \(knownKeys(in: nil))", at: position)
        }
        if Settings.looksLikeCredential(name) { throw credentialError(name, at: position) }
        let displayName = table.map { "\($0).\(name)" } ?? name

        guard let setting = Settings.named(name) else {
            throw fail(.unknownKey, "unknown key \"\(displayName)\" in \(location(position)); \(Settings.didYouMean(name, table: table))\(knownKeys(in: table))", at: position)
        }
        guard setting.table == table else {
            let whereItGoes = setting.table.map { "belongs in the [\($0)] table; move it below a [\($0)] line" }
                ?? "belongs at the top level; move it above the first [table] line"
            throw fail(.unknownKey, "\"\(name)\" in \(location(position)) \(whereItGoes)", at: position)
        }
        if let first = seen[setting.name] {
            throw fail(.duplicateKey, "\(setting.name) is set twice in \(source): as \"\(first.spelling)\" on line \(first.line) and as \"\(name)\" on line \(position.line); keep one", at: position)
        }
        seen[setting.name] = (position.line, name)
        try assign(setting, spelling: name, value: entry.value, at: entry.valuePosition)
    }

    func knownKeys(in table: String?) -> String {
        func names(_ table: String?) -> String { Settings.inTable(table).map(\.name).joined(separator: ", ") }
        guard let table else {
            let tables = Settings.tables.map { "in [\($0)]: \(names($0))" }
            return "Known keys: \(names(nil)); \(tables.joined(separator: "; "))"
        }
        return "Known keys in [\(table)]: \(names(table))"
    }

    // MARK: - Typed values

    mutating func assign(_ setting: Setting, spelling: String, value: TOMLValue, at position: TOMLPosition) throws {
        let typed: SettingValue
        switch setting.type {
        case .text, .schedule: typed = .text(try string(value, spelling, position))
        case .path: typed = .text(try expandHome(try string(value, spelling, position), spelling, position))
        case .boolean: typed = .boolean(try bool(value, spelling, position))
        case .booleanOrAuto:
            if case let .string(text) = value, text.lowercased() == "auto" {
                typed = .automatic
            } else {
                typed = .boolean(try bool(value, spelling, position, orAuto: true))
            }
        case .integer: typed = .number(try integer(value, spelling, position))
        case .bytes: typed = .number(try size(value, spelling, position))
        case .seconds: typed = .number(try duration(value, spelling, position))
        case .patterns: typed = .list(try filePatterns(value, spelling, position))
        case .interfaces: typed = .list(try interfaceNames(value, spelling, position))
        case .command: typed = .list(try command(value, spelling, position))
        }
        do {
            try setting.apply(typed, to: &config, origin: "\(spelling) in \(location(position))")
        } catch var error as ConfigError {
            error.line = position.line
            error.column = position.column
            throw error
        }
    }

    func wrongType(_ spelling: String, _ expected: String, _ value: TOMLValue, _ position: TOMLPosition, hint: String = "") -> ConfigError {
        fail(.wrongType, "\(spelling) in \(location(position)) must be \(expected), not \(value.typeName)\(hint)", at: position)
    }

    func string(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition) throws -> String {
        guard case let .string(text) = value else {
            throw wrongType(spelling, "a string", value, position, hint: "; put the value in double quotes")
        }
        return text
    }

    func bool(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition, orAuto: Bool = false) throws -> Bool {
        guard case let .boolean(flag) = value else {
            let expected = orAuto ? "a boolean (true or false) or \"auto\"" : "a boolean (true or false)"
            var hint = ""
            if case let .string(text) = value, ["true", "false"].contains(text.lowercased()) {
                hint = "; write \(text.lowercased()) without quotes"
            }
            throw wrongType(spelling, expected, value, position, hint: hint)
        }
        return flag
    }

    func integer(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition) throws -> Int {
        guard case let .integer(number) = value else {
            var hint = ""
            if case let .string(text) = value, Int(text) != nil { hint = "; write \(text) without quotes" }
            throw wrongType(spelling, "an integer", value, position, hint: hint)
        }
        return Int(number)
    }

    func size(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition) throws -> Int {
        switch value {
        case let .integer(number):
            return Int(number)
        case let .string(text):
            guard let bytes = ByteSize.parse(text) else {
                throw fail(.invalidValue, "\(spelling) in \(location(position)): \(text.debugDescription) is not a size; write a number of bytes or a number with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as \"8MiB\"", at: position)
            }
            return bytes
        default:
            throw wrongType(spelling, "an integer number of bytes or a string such as \"8MiB\"", value, position)
        }
    }

    func duration(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition) throws -> Int {
        switch value {
        case let .integer(number):
            return Int(number)
        case let .string(text):
            guard let seconds = DurationText.parse(text) else {
                throw fail(.invalidValue, "\(spelling) in \(location(position)): \(text.debugDescription) is not a duration; write whole seconds (300) or numbers with units s, m, h, d, such as \"5m\" or \"1h30m\"", at: position)
            }
            return seconds
        default:
            throw wrongType(spelling, "an integer number of seconds or a string such as \"5m\"", value, position)
        }
    }

    /// An argument vector: an array of strings, or one string naming a program
    /// without arguments (never split on spaces). An empty string or array is no command.
    func command(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition) throws -> [String] {
        switch value {
        case let .string(text):
            return text.isEmpty ? [] : [text]
        case let .array(items):
            return try items.map { item in
                guard case let .string(text) = item else {
                    throw fail(.wrongType, "\(spelling) in \(location(position)) must be an array of strings, but it contains \(item.typeName); quote every argument, e.g. [\"/usr/local/bin/notify\", \"--quiet\"]", at: position)
                }
                return text
            }
        default:
            throw wrongType(spelling, "an array of strings (the program and its arguments) or a string (the program)", value, position,
                            hint: "; write e.g. [\"/usr/local/bin/notify\", \"--quiet\"]")
        }
    }

    /// File name patterns (`*.part`, `.~lock.*#`), as an array of strings.
    func filePatterns(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition) throws -> [String] {
        try stringList(value, spelling, position, of: "file name patterns", example: "[\"*.part\", \".*.swp\"]",
                       rule: "file name patterns without \"/\" (they match the last part of a path)") { !$0.contains("/") }
    }

    /// Interface names or shell patterns (`usb*`), as an array of strings.
    func interfaceNames(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition) throws -> [String] {
        try stringList(value, spelling, position, of: "interface names", example: "[\"usb0\", \"wwan*\"]",
                       rule: "interface names (such as \"wlan0\") or patterns (such as \"usb*\")") {
            $0.count <= 64 && !$0.contains("/") && !$0.contains(" ")
        }
    }

    /// An array of non-empty strings that each pass `valid`.
    func stringList(_ value: TOMLValue, _ spelling: String, _ position: TOMLPosition, of what: String, example: String,
                    rule: String, valid: (String) -> Bool) throws -> [String] {
        guard case let .array(items) = value else {
            throw wrongType(spelling, "an array of \(what)", value, position, hint: "; write e.g. \(example)")
        }
        return try items.map { item in
            guard case let .string(text) = item, !text.isEmpty, valid(text) else {
                throw fail(.invalidValue, "\(spelling) in \(location(position)) must list \(rule); write e.g. \(example)", at: position)
            }
            return text
        }
    }

    func expandHome(_ path: String, _ spelling: String, _ position: TOMLPosition) throws -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        guard let home = environment["HOME"], home.hasPrefix("/") else {
            throw fail(.invalidValue, "\(spelling) in \(location(position)) starts with \"~\" but HOME is not set; write the full path", at: position)
        }
        return path == "~" ? home : RecsyncConfig.joinPath(home, String(path.dropFirst(2)))
    }
}
