import XCTest
@testable import RecsyncCore

/// `[hooks] on_event`, `[sync] shutdown_grace` and `[sync] stall_timeout`.
final class HooksConfigTests: XCTestCase {
    let source = "/etc/recsync/config.toml"

    func parse(_ text: String) throws -> RecsyncConfig {
        try RecsyncConfig.parse(bytes: Array(text.utf8), source: source, environment: ["HOME": "/home/rec"])
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
        let config = try parse("")
        XCTAssertEqual(config.onEvent, [])
        XCTAssertEqual(config.shutdownGrace, 10)
        XCTAssertEqual(config.stallTimeout, 30)
        XCTAssertEqual(config, RecsyncConfig.defaults)
    }

    // MARK: - on_event

    func testOnEventArrayIsTheArgumentVector() throws {
        let config = try parse("""
        [hooks]
        on_event = ["/usr/local/bin/notify", "--title", "recsync: $RECSYNC_PATH", "it's \\"quoted\\""]
        """)
        XCTAssertEqual(config.onEvent, ["/usr/local/bin/notify", "--title", "recsync: $RECSYNC_PATH", "it's \"quoted\""])
        XCTAssertNoThrow(try RecsyncConfig(bucket: "b", onEvent: config.onEvent).validate())
    }

    func testOnEventMultiLineArray() throws {
        let config = try parse("""
        [hooks]
        on_event = [
          "logger",
          "-t", "recsync",
        ]
        """)
        XCTAssertEqual(config.onEvent, ["logger", "-t", "recsync"])
    }

    func testOnEventStringIsOneProgramWithoutArguments() throws {
        XCTAssertEqual(try parse("[hooks]\non_event = \"/opt/My Hooks/on event.sh\"").onEvent, ["/opt/My Hooks/on event.sh"])
        XCTAssertEqual(try parse("[hooks]\non_event = \"notify\"").onEvent, ["notify"])
        XCTAssertEqual(try parse("[hooks]\non_event = \"\"").onEvent, [], "empty: no hook")
        XCTAssertEqual(try parse("[hooks]\non_event = []").onEvent, [], "empty: no hook")
    }

    func testOnEventSpellings() throws {
        XCTAssertEqual(try parse("[hooks]\nonEvent = [\"notify\"]").onEvent, ["notify"])
        XCTAssertEqual(try parse("hooks.on_event = [\"notify\"]").onEvent, ["notify"])
        assertConfigError("[hooks]\non_event = \"a\"\nonEvent = \"b\"", kind: .duplicateKey, line: 3,
                          contains: ["on_event is set twice", "\"on_event\" on line 2", "\"onEvent\" on line 3"])
    }

    func testOnEventProblems() {
        assertConfigError("[hooks]\non_event = 5", kind: .wrongType, line: 2,
                          contains: ["on_event in /etc/recsync/config.toml line 2 must be an array of strings", "not an integer"])
        assertConfigError("[hooks]\non_event = [\"/bin/x\", 5]", kind: .wrongType, line: 2,
                          contains: ["must be an array of strings", "contains an integer", "quote every argument"])
        assertConfigError("[hooks]\non_event = [\"bin/notify\"]", kind: .invalidValue, line: 2,
                          contains: ["\"bin/notify\" is a relative path", "absolute path"])
        assertConfigError("[hooks]\non_event = \"notify-send recsync\"", kind: .invalidValue, line: 2,
                          contains: ["not run through a shell", "as an array"])
        assertConfigError("[hooks]\non_event = [\"\", \"x\"]", kind: .invalidValue, line: 2, contains: ["program name is empty"])
    }

    func testHooksTableMistakes() {
        assertConfigError("on_event = \"notify\"", kind: .unknownKey, line: 1, contains: ["belongs in the [hooks] table"])
        assertConfigError("[sync]\non_event = \"notify\"", kind: .unknownKey, line: 2, contains: ["belongs in the [hooks] table"])
        assertConfigError("[hooks]\nauto_sync = true", kind: .unknownKey, line: 2, contains: ["belongs in the [sync] table"])
        assertConfigError("[hooks]\nbucket = \"b\"", kind: .unknownKey, line: 2, contains: ["belongs at the top level"])
        assertConfigError("[hooks]\non_evnet = \"x\"", kind: .unknownKey, line: 2,
                          contains: ["unknown key \"hooks.on_evnet\"", "did you mean \"on_event\"?", "Known keys in [hooks]: on_event"])
        assertConfigError("[hook]\non_event = \"x\"", kind: .unknownKey, line: 1, contains: ["unknown table [hook]", "did you mean [hooks]?"])
        assertConfigError("hooks = \"x\"", kind: .wrongType, line: 1, contains: ["hooks in", "must be a table", "[hooks]"])
        assertConfigError("[hooks]\nwebhook_token = \"x\"", kind: .credentialsInConfig, line: 2, contains: ["credential"])
        assertConfigError("colour = 1", kind: .unknownKey, line: 1, contains: ["in [hooks]: on_event", "in [sync]: auto_sync"])
    }

    // MARK: - shutdown_grace and stall_timeout

    func testShutdownGrace() throws {
        XCTAssertEqual(try parse("[sync]\nshutdown_grace = \"10s\"").shutdownGrace, 10)
        XCTAssertEqual(try parse("[sync]\nshutdown_grace = \"2m\"").shutdownGrace, 120)
        XCTAssertEqual(try parse("[sync]\nshutdown_grace = 0").shutdownGrace, 0)
        XCTAssertEqual(try parse("[sync]\nshutdown_grace = \"1h\"").shutdownGrace, 3600)
        XCTAssertEqual(try parse("[sync]\nshutdownGrace = 15").shutdownGrace, 15)
        assertConfigError("[sync]\nshutdown_grace = 3601", kind: .outOfRange, line: 2, contains: ["3601 seconds is out of range", "0 to 3600"])
        assertConfigError("[sync]\nshutdown_grace = -1", kind: .outOfRange, line: 2, contains: ["out of range"])
        assertConfigError("[sync]\nshutdown_grace = \"soon\"", kind: .invalidValue, line: 2, contains: ["is not a duration"])
        assertConfigError("[sync]\nshutdown_grace = true", kind: .wrongType, line: 2, contains: ["integer number of seconds"])
        assertConfigError("shutdown_grace = 5", kind: .unknownKey, line: 1, contains: ["belongs in the [sync] table"])
        assertConfigError("[sync]\nshutdown_grce = 5", kind: .unknownKey, line: 2, contains: ["did you mean \"shutdown_grace\"?"])
    }

    func testStallTimeout() throws {
        XCTAssertEqual(try parse("[sync]\nstall_timeout = \"45s\"").stallTimeout, 45)
        XCTAssertEqual(try parse("[sync]\nstall_timeout = 1").stallTimeout, 1)
        XCTAssertEqual(try parse("[sync]\nstallTimeout = \"1h\"").stallTimeout, 3600)
        assertConfigError("[sync]\nstall_timeout = 0", kind: .outOfRange, line: 2, contains: ["0 seconds is out of range", "from 1 second"])
        assertConfigError("[sync]\nstall_timeout = \"2h\"", kind: .outOfRange, line: 2, contains: ["out of range"])
        assertConfigError("[sync]\nstall_timeout = 2.5", kind: .wrongType, line: 2, contains: ["not a float"])
        assertConfigError("[sync]\nstall_timeout = 5\nstallTimeout = 6", kind: .duplicateKey, line: 3, contains: ["set twice"])
    }

    func testEveryNewKeyTogether() throws {
        let config = try parse("""
        bucket = "b"
        [sync]
        shutdown_grace = "30s"
        stall_timeout = "1m"
        [hooks]
        on_event = ["/usr/bin/logger", "-t", "recsync"]
        """)
        XCTAssertEqual(config, RecsyncConfig(bucket: "b", shutdownGrace: 30, stallTimeout: 60,
                                             onEvent: ["/usr/bin/logger", "-t", "recsync"]))
        XCTAssertNoThrow(try config.validate())
    }

    // MARK: - Overrides and validation

    func testOverrides() throws {
        let file = try parse("[sync]\nshutdown_grace = 20\n[hooks]\non_event = \"notify\"")
        XCTAssertEqual(file.merged(with: ConfigOverrides()), file)
        let merged = file.merged(with: ConfigOverrides(["shutdown_grace": .number(0), "stall_timeout": .number(90), "on_event": .list([])]))
        XCTAssertEqual(merged.shutdownGrace, 0)
        XCTAssertEqual(merged.stallTimeout, 90)
        XCTAssertEqual(merged.onEvent, [], "an empty override turns the hook off")

        XCTAssertNoThrow(try ConfigOverrides(["shutdown_grace": .number(3600), "stall_timeout": .number(1), "on_event": .list(["notify", "x y"])]).validate())
        XCTAssertThrowsError(try ConfigOverrides(["shutdown_grace": .number(4000)]).validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("--shutdown-grace 4000: "), "\(error)")
        }
        XCTAssertThrowsError(try ConfigOverrides(["stall_timeout": .number(0)]).validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("--stall-timeout 0: "), "\(error)")
        }
        XCTAssertThrowsError(try ConfigOverrides(["on_event": .list(["./hook.sh"])]).validate()) { error in
            XCTAssertTrue("\(error)".contains("relative path"), "\(error)")
        }
    }

    func testValidateChecksNewValues() {
        XCTAssertNoThrow(try RecsyncConfig(bucket: "b", shutdownGrace: 0, stallTimeout: 3600).validate())
        XCTAssertThrowsError(try RecsyncConfig(bucket: "b", shutdownGrace: -1).validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("shutdown_grace: "), "\(error)")
        }
        XCTAssertThrowsError(try RecsyncConfig(bucket: "b", stallTimeout: 0).validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("stall_timeout: "), "\(error)")
        }
        XCTAssertThrowsError(try RecsyncConfig(bucket: "b", onEvent: ["relative/hook"]).validate()) { error in
            XCTAssertTrue("\(error)".hasPrefix("on_event: "), "\(error)")
        }
    }
}
