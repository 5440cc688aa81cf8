import Foundation
import XCTest
@testable import RecsyncCore

final class RecsyncConfigTests: XCTestCase {
    let source = "/etc/recsync/config.toml"

    func parse(_ text: String, environment: [String: String] = ["HOME": "/home/rec"]) throws -> RecsyncConfig {
        try RecsyncConfig.parse(bytes: Array(text.utf8), source: source, environment: environment)
    }

    func assertConfigError(_ text: String, kind: ConfigError.Kind, line: Int?, contains fragments: [String],
                           file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: sourceLine) { error in
            guard let error = error as? ConfigError else { return XCTFail("\(error)", file: file, line: sourceLine) }
            XCTAssertEqual(error.kind, kind, error.message, file: file, line: sourceLine)
            XCTAssertEqual(error.line, line, error.message, file: file, line: sourceLine)
            for fragment in fragments {
                XCTAssertTrue(error.message.contains(fragment), "missing \(fragment.debugDescription) in: \(error.message)",
                              file: file, line: sourceLine)
            }
        }
    }

    func testDefaults() throws {
        let config = try parse("# nothing set\n")
        XCTAssertEqual(config, RecsyncConfig.defaults)
        XCTAssertNil(config.bucket)
        XCTAssertEqual(config.region, "us-east-1")
        XCTAssertNil(config.endpoint)
        XCTAssertNil(config.pathStyle)
        XCTAssertEqual(config.pathPattern, "{user_id}/{year}/{month}/{filename}")
        XCTAssertEqual(config.userId, "anonymous")
        XCTAssertNil(config.stateDir)
        XCTAssertEqual(config.logLevel, "info")
        XCTAssertTrue(config.autoSync)
        XCTAssertFalse(config.syncOnMobileData)
        XCTAssertFalse(config.syncOnMeteredConnection)
        XCTAssertEqual(config.maxConcurrentUploads, 4)
        XCTAssertEqual(config.chunkSize, 8 * 1024 * 1024)
        XCTAssertEqual(config.retryAttempts, 5)
        XCTAssertEqual(config.syncInterval, 300)
    }

    func testEveryKey() throws {
        let config = try parse("""
        bucket = "field-recordings"
        region = "eu-central-1"
        endpoint = "https://s3.example.net:9000"
        path_style = true
        path_pattern = "{user_id}/{path}/{filename}"
        user_id = "alice"
        state_dir = "/var/lib/recsync"
        log_level = "DEBUG"

        [sync]
        auto_sync = false
        sync_on_mobile_data = true
        sync_on_metered_connection = true
        max_concurrent_uploads = 8
        chunk_size = "16 MiB"
        retry_attempts = 0
        sync_interval = "1h30m"
        """)
        XCTAssertEqual(config, RecsyncConfig(
            bucket: "field-recordings", region: "eu-central-1", endpoint: "https://s3.example.net:9000",
            pathStyle: true, pathPattern: "{user_id}/{path}/{filename}", userId: "alice",
            stateDir: "/var/lib/recsync", logLevel: "debug", autoSync: false, syncOnMobileData: true,
            syncOnMeteredConnection: true, maxConcurrentUploads: 8, chunkSize: 16 * 1024 * 1024,
            retryAttempts: 0, syncInterval: 5400))
        XCTAssertNoThrow(try config.validate())
    }

    func testCamelCaseAliases() throws {
        let config = try parse("""
        pathStyle = false
        pathPattern = "{hostname}/{filename}"
        userId = "bob"
        stateDir = "~/recsync-state"
        logLevel = "warning"
        [sync]
        autoSync = false
        syncOnMobileData = true
        syncOnMeteredConnection = true
        maxConcurrentUploads = 64
        chunkSize = 5242880
        retryAttempts = 100
        syncInterval = 30
        """)
        XCTAssertEqual(config.pathStyle, false)
        XCTAssertEqual(config.pathPattern, "{hostname}/{filename}")
        XCTAssertEqual(config.userId, "bob")
        XCTAssertEqual(config.stateDir, "/home/rec/recsync-state")
        XCTAssertEqual(config.logLevel, "warning")
        XCTAssertFalse(config.autoSync)
        XCTAssertTrue(config.syncOnMobileData)
        XCTAssertTrue(config.syncOnMeteredConnection)
        XCTAssertEqual(config.maxConcurrentUploads, 64)
        XCTAssertEqual(config.chunkSize, 5 * 1024 * 1024)
        XCTAssertEqual(config.retryAttempts, 100)
        XCTAssertEqual(config.syncInterval, 30)
    }

    func testPathStyleAuto() throws {
        XCTAssertNil(try parse("path_style = \"auto\"").pathStyle)
    }

    func testSameSettingTwiceUnderBothSpellings() {
        assertConfigError("path_style = true\npathStyle = false", kind: .duplicateKey, line: 2,
                          contains: ["path_style is set twice", "\"path_style\" on line 1", "\"pathStyle\" on line 2"])
    }

    func testUnknownKeySuggestsTheRightOne() {
        assertConfigError("bucket = \"b\"\n\nbukcet = \"x\"", kind: .unknownKey, line: 3,
                          contains: ["unknown key \"bukcet\" in /etc/recsync/config.toml line 3", "did you mean \"bucket\"?",
                                     "Known keys: bucket, region, endpoint"])
        assertConfigError("[sync]\nmax_concurent_uploads = 3", kind: .unknownKey, line: 2,
                          contains: ["\"sync.max_concurent_uploads\"", "did you mean \"max_concurrent_uploads\"?"])
        assertConfigError("[sync]\nautoSnyc = true", kind: .unknownKey, line: 2, contains: ["did you mean \"auto_sync\"?"])
        assertConfigError("colour = \"red\"", kind: .unknownKey, line: 1, contains: ["unknown key \"colour\"", "Known keys"])
        assertConfigError("bucket.name = \"x\"", kind: .unknownKey, line: 1, contains: ["unknown key \"bucket.name\""])
    }

    func testKeysInTheWrongTable() {
        assertConfigError("auto_sync = false", kind: .unknownKey, line: 1, contains: ["belongs in the [sync] table"])
        assertConfigError("[sync]\nbucket = \"b\"", kind: .unknownKey, line: 2, contains: ["belongs at the top level"])
        assertConfigError("sync.bucket = \"b\"", kind: .unknownKey, line: 1, contains: ["belongs at the top level"])
        XCTAssertEqual(try parse("sync.auto_sync = false").autoSync, false)
    }

    func testUnknownTables() {
        assertConfigError("[synk]\nauto_sync = true", kind: .unknownKey, line: 1,
                          contains: ["unknown table [synk]", "did you mean [sync]?"])
        assertConfigError("[s3]", kind: .unknownKey, line: 1, contains: ["unknown table [s3]", "The tables are [sync]", "[network]"])
        assertConfigError("[bucket]", kind: .unknownKey, line: 1, contains: ["is a setting, not a table"])
        assertConfigError("sync = true", kind: .wrongType, line: 1, contains: ["must be a table"])
    }

    func testCredentialsAreRefused() {
        for key in ["aws_secret_access_key", "aws_access_key_id", "secretAccessKey", "aws_session_token", "password"] {
            assertConfigError("\(key) = \"x\"", kind: .credentialsInConfig, line: 1,
                              contains: ["\"\(key)\"", "credential", "AWS_SECRET_ACCESS_KEY", "~/.aws/credentials"])
        }
        assertConfigError("[sync]\nsecret_key = \"x\"", kind: .credentialsInConfig, line: 2, contains: ["credential"])
        assertConfigError("[credentials]\nkey = \"x\"", kind: .credentialsInConfig, line: 1, contains: ["AWS_PROFILE"])
    }

    func testWrongTypes() {
        assertConfigError("bucket = 5", kind: .wrongType, line: 1, contains: ["bucket in", "must be a string, not an integer"])
        assertConfigError("path_style = \"true\"", kind: .wrongType, line: 1,
                          contains: ["must be a boolean (true or false) or \"auto\", not a string", "write true without quotes"])
        assertConfigError("[sync]\nauto_sync = 1", kind: .wrongType, line: 2, contains: ["must be a boolean (true or false), not an integer"])
        assertConfigError("[sync]\nmax_concurrent_uploads = \"4\"", kind: .wrongType, line: 2,
                          contains: ["must be an integer, not a string", "write 4 without quotes"])
        assertConfigError("[sync]\nretry_attempts = 2.5", kind: .wrongType, line: 2, contains: ["must be an integer, not a float"])
        assertConfigError("[sync]\nchunk_size = true", kind: .wrongType, line: 2, contains: ["an integer number of bytes or a string"])
        assertConfigError("[sync]\nsync_interval = [1]", kind: .wrongType, line: 2, contains: ["integer number of seconds", "not an array"])
        assertConfigError("region = [\"a\"]", kind: .wrongType, line: 1, contains: ["must be a string, not an array"])
    }

    func testRanges() {
        assertConfigError("[sync]\nmax_concurrent_uploads = 0", kind: .outOfRange, line: 2, contains: ["from 1 to 64"])
        assertConfigError("[sync]\nmax_concurrent_uploads = 65", kind: .outOfRange, line: 2, contains: ["65 is out of range"])
        assertConfigError("[sync]\nretry_attempts = -1", kind: .outOfRange, line: 2, contains: ["from 0 to 100"])
        assertConfigError("[sync]\nretry_attempts = 101", kind: .outOfRange, line: 2, contains: ["from 0 to 100"])
        assertConfigError("[sync]\nchunk_size = \"5 MB\"", kind: .outOfRange, line: 2,
                          contains: ["5000000 bytes is below S3's minimum part size of 5 MiB"])
        assertConfigError("[sync]\nchunk_size = \"6GiB\"", kind: .outOfRange, line: 2, contains: ["maximum part size"])
        assertConfigError("[sync]\nsync_interval = 0", kind: .outOfRange, line: 2, contains: ["out of range"])
        assertConfigError("[sync]\nsync_interval = \"8d\"", kind: .outOfRange, line: 2, contains: ["7 days"])
        XCTAssertEqual(try parse("[sync]\nchunk_size = \"5MiB\"").chunkSize, 5_242_880)
        XCTAssertEqual(try parse("[sync]\nchunk_size = \"5 GiB\"").chunkSize, 5 * 1024 * 1024 * 1024)
        XCTAssertEqual(try parse("[sync]\nsync_interval = 604800").syncInterval, 604_800)
    }

    func testInvalidValues() {
        assertConfigError("[sync]\nchunk_size = \"8 megs\"", kind: .invalidValue, line: 2, contains: ["is not a size", "\"8MiB\""])
        assertConfigError("[sync]\nsync_interval = \"soon\"", kind: .invalidValue, line: 2, contains: ["is not a duration", "\"5m\""])
        assertConfigError("path_pattern = \"{user_id}/{year}\"", kind: .invalidValue, line: 1, contains: ["does not contain {filename}"])
        assertConfigError("path_pattern = \"{usr_id}/{filename}\"", kind: .invalidValue, line: 1, contains: ["did you mean {user_id}?"])
        assertConfigError("user_id = \"a/b\"", kind: .invalidValue, line: 1, contains: ["user_id in /etc/recsync/config.toml line 1", "contains \"/\""])
        assertConfigError("endpoint = \"s3.example.net\"", kind: .invalidValue, line: 1, contains: ["https://host"])
        assertConfigError("bucket = \"s3://bucket\"", kind: .invalidValue, line: 1, contains: ["not an s3:// URL"])
        assertConfigError("bucket = \"\"", kind: .invalidValue, line: 1, contains: ["empty"])
        assertConfigError("region = \"eu west\"", kind: .invalidValue, line: 1, contains: ["is not a region name"])
        assertConfigError("state_dir = \"relative/dir\"", kind: .invalidValue, line: 1, contains: ["not an absolute path"])
        assertConfigError("log_level = \"verbose\"", kind: .invalidValue, line: 1, contains: ["unknown log level", "trace, debug, info"])
        assertConfigError("log_level = \"warnig\"", kind: .invalidValue, line: 1, contains: ["did you mean \"warning\"?"])
        XCTAssertThrowsError(try parse("state_dir = \"~/x\"", environment: [:])) { error in
            XCTAssertTrue("\(error)".contains("HOME is not set"), "\(error)")
        }
    }

    func testSyntaxErrorsNameFileLineAndColumn() {
        assertConfigError("bucket = \"b\"\nregion = eu-west-1", kind: .syntax, line: 2,
                          contains: ["/etc/recsync/config.toml line 2, column 10:", "strings must be quoted"])
        XCTAssertThrowsError(try parse("a = \"unterminated")) { error in
            XCTAssertEqual((error as? ConfigError)?.column, 5)
        }
    }

    // MARK: - Overrides and environment

    func testOverridesTakePrecedenceOverTheFile() throws {
        let file = try parse("""
        bucket = "from-file"
        region = "eu-west-1"
        path_style = true
        user_id = "file-user"
        [sync]
        retry_attempts = 9
        """)
        let merged = file.merged(with: ConfigOverrides(["bucket": .text("from-flag"), "path_style": .boolean(false), "user_id": .text("flag-user"), "state_dir": .text("/srv/state"), "max_concurrent_uploads": .number(4)]))
        XCTAssertEqual(merged.bucket, "from-flag")
        XCTAssertEqual(merged.region, "eu-west-1", "not overridden: the file's value stays")
        XCTAssertEqual(merged.pathStyle, false)
        XCTAssertEqual(merged.userId, "flag-user")
        XCTAssertEqual(merged.stateDir, "/srv/state")
        XCTAssertEqual(merged.maxConcurrentUploads, 4)
        XCTAssertEqual(merged.retryAttempts, 9)
        XCTAssertEqual(merged.logLevel, "info", "neither file nor flag: the default")
        XCTAssertEqual(file.merged(with: ConfigOverrides()), file)
        let every = ConfigOverrides(["bucket": .text("b"), "region": .text("r"), "endpoint": .text("http://localhost:9000"), "path_style": .boolean(true), "path_pattern": .text("{filename}"), "user_id": .text("u"), "state_dir": .text("/s"), "log_level": .text("ERROR"), "auto_sync": .boolean(false), "sync_on_mobile_data": .boolean(true), "sync_on_metered_connection": .boolean(true), "max_concurrent_uploads": .number(3), "chunk_size": .number(6_000_000), "retry_attempts": .number(1), "sync_interval": .number(60)])
        XCTAssertEqual(RecsyncConfig.defaults.merged(with: every), RecsyncConfig(
            bucket: "b", region: "r", endpoint: "http://localhost:9000", pathStyle: true, pathPattern: "{filename}",
            userId: "u", stateDir: "/s", logLevel: "error", autoSync: false, syncOnMobileData: true,
            syncOnMeteredConnection: true, maxConcurrentUploads: 3, chunkSize: 6_000_000, retryAttempts: 1, syncInterval: 60))
    }

    func testOverrideValidationNamesTheFlag() {
        XCTAssertNoThrow(try ConfigOverrides(["bucket": .text("ok"), "user_id": .text("bob")]).validate())
        XCTAssertThrowsError(try ConfigOverrides(["user_id": .text("a/b")]).validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("--user-id \"a/b\": "), "\(error)")
        }
        XCTAssertThrowsError(try ConfigOverrides(["path_pattern": .text("{year}")]).validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("--path-pattern \"{year}\": "), "\(error)")
        }
        XCTAssertThrowsError(try ConfigOverrides(["endpoint": .text("ftp://x")]).validate()) { error in
            XCTAssertTrue("\(error)".contains("--endpoint"), "\(error)")
        }
        XCTAssertThrowsError(try ConfigOverrides(["max_concurrent_uploads": .number(0)]).validate())
    }

    func testValidateRequiresBucket() throws {
        XCTAssertThrowsError(try RecsyncConfig.defaults.validate()) { error in
            XCTAssertEqual((error as? ConfigError)?.kind, .missingValue)
            XCTAssertTrue("\(error)".contains("--bucket"), "\(error)")
        }
        XCTAssertNoThrow(try RecsyncConfig.defaults.validate(requireBucket: false))
        XCTAssertThrowsError(try RecsyncConfig(bucket: "b", syncInterval: 0).validate())
        XCTAssertThrowsError(try RecsyncConfig(bucket: "b", endpoint: "nope").validate())
    }

    func testEndpointFromEnvironment() {
        let env = ["AWS_ENDPOINT_URL_S3": "http://s3-only:9000", "AWS_ENDPOINT_URL": "http://all:9000"]
        XCTAssertEqual(RecsyncConfig.defaults.applyingEnvironment(env).endpoint, "http://s3-only:9000")
        XCTAssertEqual(RecsyncConfig.defaults.applyingEnvironment(["AWS_ENDPOINT_URL": "http://all:9000"]).endpoint, "http://all:9000")
        XCTAssertEqual(RecsyncConfig(endpoint: "https://file").applyingEnvironment(env).endpoint, "https://file")
        var ignored = env
        ignored["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
        XCTAssertNil(RecsyncConfig.defaults.applyingEnvironment(ignored).endpoint)
        XCTAssertNil(RecsyncConfig.defaults.applyingEnvironment([:]).endpoint)
    }

    // MARK: - Files

    func testLoadReadsFileAndReportsProblems() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let path = directory.appendingPathComponent("config.toml").path
        try "bucket = \"loaded\"\n[sync]\nsync_interval = \"2m\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = try RecsyncConfig.load(path: path)
        XCTAssertEqual(config.bucket, "loaded")
        XCTAssertEqual(config.syncInterval, 120)

        let missing = directory.appendingPathComponent("nope.toml").path
        XCTAssertThrowsError(try RecsyncConfig.load(path: missing)) { error in
            XCTAssertEqual((error as? ConfigError)?.kind, .fileNotFound)
            XCTAssertTrue("\(error)".contains(missing) && "\(error)".contains("--config"), "\(error)")
        }
        XCTAssertThrowsError(try RecsyncConfig.load(path: directory.path)) { error in
            XCTAssertEqual((error as? ConfigError)?.kind, .unreadable)
            XCTAssertTrue("\(error)".contains("is a directory"), "\(error)")
        }
        let bad = directory.appendingPathComponent("bad.toml").path
        try "bucket = \"b\"\nbukcet = \"x\"\n".write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RecsyncConfig.load(path: bad)) { error in
            XCTAssertTrue("\(error)".hasPrefix("unknown key \"bukcet\" in \(bad) line 2; did you mean \"bucket\"?"), "\(error)")
        }
        let latin1 = directory.appendingPathComponent("latin1.toml").path
        XCTAssertTrue(FileManager.default.createFile(atPath: latin1, contents: Data([0x61, 0x3D, 0x22, 0xE9, 0x22, 0x0A])))
        XCTAssertThrowsError(try RecsyncConfig.load(path: latin1)) { error in
            XCTAssertEqual((error as? ConfigError)?.kind, .syntax)
            XCTAssertTrue("\(error)".contains("UTF-8"), "\(error)")
        }
    }

    func testDefaultPathSearchOrder() {
        let xdg = ["XDG_CONFIG_HOME": "/home/rec/.cfg", "HOME": "/home/rec"]
        XCTAssertEqual(RecsyncConfig.candidatePaths(environment: xdg, isRoot: false), ["/home/rec/.cfg/recsync/config.toml"])
        XCTAssertEqual(RecsyncConfig.candidatePaths(environment: ["HOME": "/home/rec"], isRoot: false),
                       ["/home/rec/.config/recsync/config.toml"])
        XCTAssertEqual(RecsyncConfig.candidatePaths(environment: ["XDG_CONFIG_HOME": "relative", "HOME": "/root"], isRoot: true),
                       ["/root/.config/recsync/config.toml", "/etc/recsync/config.toml"])
        XCTAssertEqual(RecsyncConfig.candidatePaths(environment: [:], isRoot: false), [])

        let onlySystem: (String) -> Bool = { $0 == "/etc/recsync/config.toml" }
        XCTAssertEqual(RecsyncConfig.defaultPath(environment: xdg, isRoot: true, fileExists: onlySystem), "/etc/recsync/config.toml")
        XCTAssertNil(RecsyncConfig.defaultPath(environment: xdg, isRoot: false, fileExists: onlySystem))
        XCTAssertEqual(RecsyncConfig.defaultPath(environment: xdg, isRoot: true, fileExists: { _ in true }),
                       "/home/rec/.cfg/recsync/config.toml")
    }

    func testDefaultPathFindsARealFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-xdg-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let environment = ["XDG_CONFIG_HOME": directory.path, "HOME": "/nonexistent"]
        if getuid() != 0 {
            XCTAssertNil(RecsyncConfig.defaultPath(environment: environment))
        }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("recsync"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: directory.appendingPathComponent("recsync/config.toml").path, contents: Data()))
        XCTAssertEqual(RecsyncConfig.defaultPath(environment: environment), directory.appendingPathComponent("recsync/config.toml").path)
    }
}
