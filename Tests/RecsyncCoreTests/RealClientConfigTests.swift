import XCTest
@testable import RecsyncCore

/// `[sync] settle_delay`, `mirror_deletes` and `ignore_patterns`.
final class RealClientConfigTests: XCTestCase {
    func parse(_ text: String) throws -> RecsyncConfig {
        try RecsyncConfig.parse(bytes: Array(text.utf8), source: "config.toml", environment: [:])
    }

    func testDefaults() throws {
        let config = try parse("")
        XCTAssertEqual(config.settleDelay, 1)
        XCTAssertFalse(config.mirrorDeletes)
        XCTAssertEqual(config.ignorePatterns, RecsyncConfig.defaultIgnorePatterns)
        for pattern in [".*.swp", "*.part", "*.tmp", ".goutputstream-*", "~$*", ".#*"] {
            XCTAssertTrue(config.ignorePatterns.contains(pattern), pattern)
        }
    }

    func testValues() throws {
        let config = try parse("""
            [sync]
            settle_delay = "3s"
            mirrorDeletes = true
            ignore_patterns = ["*.bak", ".~*"]
            """)
        XCTAssertEqual(config.settleDelay, 3)
        XCTAssertTrue(config.mirrorDeletes)
        XCTAssertEqual(config.ignorePatterns, ["*.bak", ".~*"])
        XCTAssertEqual(try parse("[sync]\nignore_patterns = []\nsettle_delay = 0\n").ignorePatterns, [])
        let rules = IgnoreRules(patterns: config.ignorePatterns)
        XCTAssertTrue(rules.ignores("sub/take.wav.bak"))
        XCTAssertTrue(rules.ignores(".~lock"))
        XCTAssertFalse(rules.ignores("bak/take.wav"), "patterns match the name, not the folders")
    }

    func testBadValues() {
        for (text, fragment) in [("[sync]\nsettle_delay = 7200\n", "0 to 3600"),
                                 ("[sync]\nignore_patterns = \"*.tmp\"\n", "an array of file name patterns"),
                                 ("[sync]\nignore_patterns = [\"tmp/*.wav\"]\n", "without \"/\""),
                                 ("[sync]\nmirror_deletes = \"yes\"\n", "a boolean")] {
            XCTAssertThrowsError(try parse(text)) { error in
                let message = (error as? ConfigError)?.message ?? "\(error)"
                XCTAssertTrue(message.contains(fragment), "\(fragment) not in: \(message)")
            }
        }
    }
}
