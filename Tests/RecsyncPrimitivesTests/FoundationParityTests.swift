import Foundation
import RecsyncPrimitives
import XCTest

/// The daemon links FoundationEssentials only; these helpers replace the parts of Foundation it
/// used. Each is checked here against Foundation itself, which the tests do link.
final class FoundationParityTests: XCTestCase {
    let samples = ["", " ", "a", " a ", "\t\r\n a b \n", "\u{A0}nbsp\u{A0}", "\u{2028}x\u{2029}", "x\u{85}",
                   "\r\n", " \u{3000}wide\u{3000} ", "é", "e\u{301} ", "🎙️ take 1 ", "\u{B}vt\u{C}", "tag \u{301}", " \u{301}x"]

    func testTrimmingWhitespaceIsFoundationsWhitespacesAndNewlines() {
        for text in samples {
            XCTAssertEqual(text.trimmingWhitespace(), text.trimmingCharacters(in: .whitespacesAndNewlines), text.debugDescription)
        }
        XCTAssertEqual("[::1]".trimming(while: { $0 == "[" || $0 == "]" }), "::1")
        let controls = CharacterSet.whitespacesAndNewlines.union(.controlCharacters)
        for text in samples + ["\u{FEFF}now\u{0}", "\u{200B}now\u{7F}", "\u{1}\u{AD}now"] {
            XCTAssertEqual(text.trimming(while: { $0.properties.isWhitespace || [.control, .format].contains($0.properties.generalCategory) }),
                           text.trimmingCharacters(in: controls), text.debugDescription)
        }
    }

    func testReplacingBytesIsReplacingOccurrences() {
        let cases: [(String, String, String)] = [
            ("a\r\nb\nc", "\n", "\\n"), ("x_y__z", "_", ""), ("", "a", "b"),
            ("aaa", "aa", "b"), ("<&>", "&", "&amp;"), ("{user_id}/{user_id}", "{user_id}", "ana"), ("abc", "abcd", "x"),
            ("café", "é", "e"), ("0x1f", "0x", ""),
        ]
        for (text, target, replacement) in cases {
            XCTAssertEqual(text.replacingBytes(of: target, with: replacement),
                           text.replacingOccurrences(of: target, with: replacement), "\(text.debugDescription) \(target)")
        }
        // Where they differ: Foundation skips a `-` that a combining mark joins to a character;
        // escaping a mountpoint's name (as systemd-escape does, byte by byte) must not.
        XCTAssertEqual("-a-\u{301}b-".replacingBytes(of: "-", with: "\\x2d"), "\\x2da\\x2d\u{301}b\\x2d")
    }

    func testByteCountIsByteCountFormatters() {
        var counts: [Int64] = [0, 1, 2, 999, 1000, 1023, 1024, 1499, 1500, 1501, 9_999, 999_499, 999_500, 999_999,
                               1_000_000, 1_049_000, 1_050_000, 12_345_678, 999_949_999, 999_950_000, 1_234_567_890,
                               5_000_000_000, 1_000_000_000_000, 4_503_599_627_370_496]
        var x: Int64 = 7
        for _ in 0..<300 { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; counts.append(Int64((x >> 20) & 0x3FF_FFFF_FFFF) >> Int64(x & 31)) }
        for count in counts {
            XCTAssertEqual(NumberText.byteCount(count), ByteCountFormatter.string(fromByteCount: count, countStyle: .file), "\(count)")
            XCTAssertEqual(NumberText.byteCount(count, binary: true), ByteCountFormatter.string(fromByteCount: count, countStyle: .binary), "\(count) binary")
        }
    }

    func testNumberFormatsAreStringFormats() {
        for value in [0, 5, 42, 99, 100, 1234] {
            XCTAssertEqual(NumberText.padded(value, width: 2), String(format: "%02d", value))
            XCTAssertEqual(NumberText.padded(value, width: 3, pad: " "), String(format: "%3d", value))
        }
        for byte in [0, 9, 10, 0x7F, 0x80, 0xFF] {
            XCTAssertEqual(NumberText.hexByte(byte), String(format: "%02X", byte))
        }
    }

    func testPathTextIsNSStringsPathMethods() {
        for path in ["/", "/a", "/a/", "/a/b", "/a/b/", "a/b", "a//b///", "/tmp/scratch.tiff", "./x", "../y/z"] {
            XCTAssertEqual(PathText.parent(path), (path as NSString).deletingLastPathComponent, "parent of \(path.debugDescription)")
            XCTAssertEqual(PathText.lastComponent(path), (path as NSString).lastPathComponent, "last of \(path.debugDescription)")
        }
        // NSString traps on these two.
        XCTAssertEqual(PathText.parent(""), "")
        XCTAssertEqual(PathText.parent("a"), "")
        XCTAssertEqual(PathText.lastComponent("a"), "a")
        XCTAssertEqual(PathText.lastComponent(""), "")
        XCTAssertEqual(PathText.parent("//"), "/", "only slashes: the root (where NSString says \"\")")
        XCTAssertEqual(PathText.appending("/a/", "b"), "/a/b")
        XCTAssertEqual(PathText.appending("", "b"), "b")
    }

    func testCivilTimeInUTCIsISO8601() {
        for seconds in [0.0, 951_782_400, 1_796_601_599.999, 4_102_444_800, 1_764_979_200.5] {
            let date = Date(timeIntervalSince1970: seconds)
            XCTAssertEqual(CivilTime.utc(date).iso8601UTC, ISO8601DateFormatter().string(from: date), "\(seconds)")
        }
        XCTAssertEqual(CivilTime.utc(Date(timeIntervalSince1970: 0)).weekdayName, "Thu")
    }

    func testErrorTextNamesTheReason() {
        XCTAssertThrowsError(try Data(contentsOf: URL(fileURLWithPath: "/nonexistent/recsync-test"))) { error in
            XCTAssertEqual(errorText(error), "No such file or directory")
        }
        XCTAssertEqual(errorText(POSIXError(.EACCES)), "Permission denied")
    }
}
