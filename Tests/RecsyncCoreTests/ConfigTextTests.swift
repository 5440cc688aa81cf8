import XCTest
@testable import RecsyncCore

final class ConfigTextTests: XCTestCase {
    func testByteSizes() {
        let cases: [(String, Int?)] = [
            ("8388608", 8_388_608), ("8MiB", 8_388_608), ("8 MiB", 8_388_608), ("8mib", 8_388_608),
            ("16 MB", 16_000_000), ("1KB", 1000), ("1 KiB", 1024), ("2GiB", 2_147_483_648), ("1GB", 1_000_000_000),
            ("1.5KiB", 1536), ("100B", 100), ("1_000", 1000), (" 5 MiB ", 5_242_880),
            ("", nil), ("MiB", nil), ("8 megs", nil), ("-1", nil), ("1.5B", nil), ("8M", nil), ("1.2.3", nil),
            ("8 b", nil), (".5MiB", nil), ("99999999999999999999", nil), ("9999999999 GiB", nil),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(ByteSize.parse(text), expected, text.debugDescription)
        }
        XCTAssertEqual(ByteSize.format(8 * 1024 * 1024), "8 MiB")
        XCTAssertEqual(ByteSize.format(5 * 1024 * 1024 * 1024), "5 GiB")
        XCTAssertEqual(ByteSize.format(1000), "1000 bytes")
    }

    func testDurations() {
        let cases: [(String, Int?)] = [
            ("300", 300), ("30s", 30), ("5m", 300), ("5 min", 300), ("1h", 3600), ("1h30m", 5400),
            ("1h 30m 15s", 5415), ("2 minutes", 120), ("1d", 86400), ("1 day", 86400), ("0", 0), ("5M", 300),
            ("", nil), ("m", nil), ("5 parsecs", nil), ("1m 30", nil), ("-5m", nil), ("1.5h", nil), ("5m5", nil),
            ("99999999999999999999d", nil),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(DurationText.parse(text), expected, text.debugDescription)
        }
        XCTAssertEqual(DurationText.format(5400), "1h30m")
        XCTAssertEqual(DurationText.format(45), "45s")
        XCTAssertEqual(DurationText.format(300), "5m")
    }

    func testSpellingSuggestions() {
        XCTAssertEqual(Spelling.closest(to: "bukcet", among: ["bucket", "region"]), "bucket")
        XCTAssertEqual(Spelling.closest(to: "PathStyle", among: ["path_style", "path_pattern"]), "path_style")
        XCTAssertNil(Spelling.closest(to: "colour", among: ["bucket", "region"]))
        XCTAssertEqual(Spelling.editDistance(Array("abc"), Array("acb")), 1)
        XCTAssertEqual(Spelling.editDistance(Array("kitten"), Array("sitting")), 3)
    }
}
