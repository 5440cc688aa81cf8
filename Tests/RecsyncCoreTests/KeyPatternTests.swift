import Foundation
import XCTest
import RecsyncFS
@testable import RecsyncCore

final class KeyPatternTests: XCTestCase {
    /// 2026-11-25T14:03:07Z
    let timestamp = Date(timeIntervalSince1970: 1_795_615_387)

    func context(_ relativePath: String, userId: String = "alice", hostname: String = "studio") -> KeyContext {
        KeyContext(userId: userId, relativePath: relativePath, timestamp: timestamp, hostname: hostname)
    }

    func render(_ pattern: String, _ relativePath: String) throws -> String {
        try KeyPattern(pattern).render(context(relativePath))
    }

    func testDefaultPattern() throws {
        XCTAssertEqual(ObjectMetadata.formatTimestamp(timestamp), "2026-11-25T14:03:07Z")
        XCTAssertEqual(try render(KeyPattern.defaultPattern, "take1.wav"), "alice/2026/11/take1.wav")
        XCTAssertEqual(try KeyPattern(KeyPattern.defaultPattern).render(
            KeyContext(relativePath: "a.wav", timestamp: timestamp, hostname: "h")), "anonymous/2026/11/a.wav")
    }

    func testEveryVariable() throws {
        let key = try render("{hostname}/{user_id}/{timestamp}/{year}-{month}-{day}/{path}/{filename}",
                             "interviews/2026/take1.wav")
        XCTAssertEqual(key, "studio/alice/2026-11-25/2026-11-25/interviews/2026/take1.wav")
    }

    func testNamesThatAreNotUTF8GetDistinctReversibleKeys() throws {
        let latin1 = NameCoding.text([0x63, 0x61, 0x66, 0xE9, 0x2E, 0x77, 0x61, 0x76])  // café.wav in Latin-1
        XCTAssertEqual(try render("{path}/{filename}", "old/" + latin1), "old/caf%E9.wav")
        // A real name that looks like an escape gets its % escaped, so the two never share a key.
        XCTAssertEqual(try render("{filename}", "caf%E9.wav"), "caf%25E9.wav")
        XCTAssertEqual(try render("{filename}", "100% take.wav"), "100% take.wav", "a lone % stays as it is")
        XCTAssertEqual(try render("{filename}", "new\nline\t\u{7F}.wav"), "new%0Aline%09%7F.wav", "control characters are %HH")
        XCTAssertEqual(try render("{filename}", "c1\u{85}.wav"), "c1%C2%85.wav", "a C1 control: each of its UTF-8 bytes")
        XCTAssertEqual(KeyPattern.name(fromKeyText: "c1%C2%85.wav"), "c1\u{85}.wav")
        XCTAssertNotEqual(Array(try render("{filename}", "café.wav").utf8), Array(try render("{filename}", "cafe\u{301}.wav").utf8))
        XCTAssertEqual(Array(try render("{filename}", "cafe\u{301}.wav").utf8), Array("cafe\u{301}.wav".utf8), "no normalization")
        XCTAssertEqual(try render("{path}/{filename}", "a/\u{301}b.wav"), "a/\u{301}b.wav")
        for _ in 0..<3_000 {
            let bytes = (0..<Int.random(in: 1...8)).map { _ in [UInt8(ascii: "%"), UInt8(ascii: "E"), 0xE9, 0x41, 0xC3, 0xA9, 0x39][Int.random(in: 0..<7)] }
            let name = NameCoding.text(bytes)
            let keyText = KeyPattern.keyText(name)
            XCTAssertNotNil(String(validating: Array(keyText.utf8), as: UTF8.self))
            XCTAssertFalse(NameCoding.hasEscapedBytes(keyText), "a key is valid UTF-8")
            XCTAssertEqual(NameCoding.bytes(of: KeyPattern.name(fromKeyText: keyText)), bytes, "the mapping can be undone")
        }
    }

    func testReplacesEveryOccurrence() throws {
        XCTAssertEqual(try render("{year}/{year}{month}/{filename}.{filename}", "a.wav"), "2026/202611/a.wav.a.wav")
    }

    func testDatesAreUTC() throws {
        // 2026-12-31T23:30:00Z is already 2027 east of UTC; the key must not be.
        let lateEvening = Date(timeIntervalSince1970: 1_798_759_800)
        let ctx = KeyContext(userId: "u", relativePath: "x.wav", timestamp: lateEvening, hostname: "h")
        XCTAssertEqual(try KeyPattern("{timestamp}/{year}/{month}/{day}/{filename}").render(ctx),
                       "2026-12-31/2026/12/31/x.wav")
        let early = Date(timeIntervalSince1970: 0)
        XCTAssertEqual(try KeyPattern("{timestamp}_{filename}").render(
            KeyContext(relativePath: "x", timestamp: early, hostname: "h")), "1970-01-01_x")
        // The last millisecond of a day, and a leap day.
        for (seconds, day) in [(1_798_761_599.999, "2026-12-31"), (1_835_395_200.0, "2028-02-29")] {
            XCTAssertEqual(try KeyPattern("{timestamp}_{filename}").render(
                KeyContext(relativePath: "x", timestamp: Date(timeIntervalSince1970: seconds), hostname: "h")), day + "_x")
        }
    }

    func testEmptyPathCollapsesSlashes() throws {
        XCTAssertEqual(try render("{user_id}/{path}/{filename}", "take1.wav"), "alice/take1.wav")
        XCTAssertEqual(try render("{path}/{filename}", "take1.wav"), "take1.wav")
        XCTAssertEqual(try render("{filename}/{path}", "take1.wav"), "take1.wav")
        XCTAssertEqual(try render("{path}/{filename}", "sub/take1.wav"), "sub/take1.wav")
        XCTAssertEqual(try render("{path}/{filename}", "/sub/deeper/take1.wav"), "sub/deeper/take1.wav")
        let noHost = KeyContext(userId: "u", relativePath: "a.wav", timestamp: timestamp, hostname: "")
        XCTAssertEqual(try KeyPattern("{hostname}/{user_id}/{filename}").render(noHost), "u/a.wav")
    }

    func testNamesAreKeptAsTheyAre() throws {
        // Decomposed "é" (e + U+0301) must stay decomposed; spaces, '+', '%' stay.
        let name = "Caf\u{0065}\u{0301} 100% +live.wav"
        let key = try render("{path}/{filename}", "Ünïcode dir/\(name)")
        XCTAssertEqual(Array(key.unicodeScalars), Array("Ünïcode dir/\(name)".unicodeScalars))
        XCTAssertEqual(try render("{filename}", "a\nb.wav"), "a%0Ab.wav", "control characters are the one change (SEMANTICS.md, Names)")
    }

    func testRejectsUnknownVariableWithSuggestion() {
        XCTAssertThrowsError(try KeyPattern("{user_id}/{filenme}")) { error in
            XCTAssertEqual(error as? KeyPatternError, .unknownVariable(name: "filenme", pattern: "{user_id}/{filenme}"))
            XCTAssertTrue("\(error)".contains("did you mean {filename}?"), "\(error)")
            XCTAssertTrue("\(error)".contains("{hostname}"), "\(error)")
        }
        XCTAssertThrowsError(try KeyPattern("{}/{filename}")) { error in
            XCTAssertEqual(error as? KeyPatternError, .unknownVariable(name: "", pattern: "{}/{filename}"))
        }
        XCTAssertThrowsError(try KeyPattern("{Filename}")) { error in
            XCTAssertTrue("\(error)".contains("did you mean {filename}?"), "\(error)")
        }
    }

    func testRejectsUnbalancedBraces() {
        for (pattern, offset) in [("{filename", 0), ("{user_id/{filename}", 0), ("{filename}}", 10),
                                  ("a}/{filename}", 1), ("{filename}/{", 11), ("{{filename}}", 0)] {
            XCTAssertThrowsError(try KeyPattern(pattern), pattern) { error in
                XCTAssertEqual(error as? KeyPatternError, .unbalancedBrace(offset: offset, pattern: pattern), pattern)
            }
        }
    }

    func testRequiresFilename() {
        XCTAssertThrowsError(try KeyPattern("{user_id}/{year}/{path}")) { error in
            XCTAssertEqual(error as? KeyPatternError, .missingFilename(pattern: "{user_id}/{year}/{path}"))
            XCTAssertTrue("\(error)".contains("same S3 key"))
        }
        XCTAssertThrowsError(try KeyPattern("")) { XCTAssertEqual($0 as? KeyPatternError, .emptyPattern) }
    }

    func testRejectsLeadingSlash() {
        XCTAssertThrowsError(try KeyPattern("/{filename}")) {
            XCTAssertEqual($0 as? KeyPatternError, .leadingSlash(pattern: "/{filename}"))
        }
    }

    func testRejectsLiteralEmptyDotAndDotDotSegments() {
        let cases = ["a//{filename}": "", "./{filename}": ".", "{user_id}/../{filename}": "..",
                     "{filename}/": "", "{user_id}/./x/{filename}": "."]
        for (pattern, segment) in cases {
            XCTAssertThrowsError(try KeyPattern(pattern), pattern) { error in
                XCTAssertEqual(error as? KeyPatternError, .invalidSegment(segment: segment, pattern: pattern), pattern)
            }
        }
        // Dots next to a variable are fine.
        XCTAssertNoThrow(try KeyPattern("{user_id}/.{year}/..{filename}"))
    }

    func testRejectsControlCharacters() {
        XCTAssertThrowsError(try KeyPattern("a\tb/{filename}")) {
            XCTAssertEqual($0 as? KeyPatternError, .controlCharacter(offset: 1, pattern: "a\tb/{filename}"))
        }
        XCTAssertThrowsError(try KeyPattern("{filename}\u{7F}"))
        XCTAssertThrowsError(try KeyPattern("{filename}\u{85}"))
    }

    func testRejectsTooMuchLiteralText() {
        let long = String(repeating: "a", count: 1020) + "/" + String(repeating: "é", count: 2) + "/{filename}"
        XCTAssertThrowsError(try KeyPattern(long)) { error in
            XCTAssertEqual(error as? KeyPatternError, .literalTooLong(bytes: 1026, pattern: long))
        }
        XCTAssertNoThrow(try KeyPattern(String(repeating: "a", count: 1023) + "/{filename}"))
    }

    func testRenderedKeyTooLong() throws {
        let pattern = try KeyPattern("{path}/{filename}")
        let name = String(repeating: "n", count: 200) + ".wav"
        let okPath = Array(repeating: String(repeating: "d", count: 200), count: 4).joined(separator: "/")
        XCTAssertEqual(try pattern.render(context(okPath + "/" + name)).utf8.count, 4 * 201 + 204)
        let longPath = okPath + "/" + String(repeating: "d", count: 100)
        XCTAssertThrowsError(try pattern.render(context(longPath + "/" + name))) { error in
            XCTAssertEqual(error as? KeyPatternError, .keyTooLong(file: longPath + "/" + name, bytes: 1109))
            XCTAssertTrue("\(error)".contains("would be 1109 bytes"), "\(error)")
            XCTAssertTrue("\(error)".contains(name), "\(error)")
        }
        // Multi-byte characters count as their UTF-8 length.
        let wide = String(repeating: "字", count: 342) // 1026 bytes
        XCTAssertThrowsError(try pattern.render(context(wide)))
    }

    func testRenderRejectsDotSegmentsFromValues() throws {
        let pattern = try KeyPattern("{path}/{filename}")
        XCTAssertThrowsError(try pattern.render(context("a/../b.wav"))) { error in
            guard case let .invalidKey(file, _, reason)? = error as? KeyPatternError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "a/../b.wav")
            XCTAssertTrue(reason.contains("\"..\""))
        }
        XCTAssertThrowsError(try pattern.render(context("./b.wav")))
        XCTAssertThrowsError(try pattern.render(context("")))
        XCTAssertThrowsError(try KeyPattern("{path}.{filename}").render(context(".")))
        // A "/" in the host name would make extra segments.
        XCTAssertThrowsError(try KeyPattern("{hostname}/{filename}").render(context("a", hostname: "a/b")))
    }

    func testRenderValidatesUserId() throws {
        XCTAssertThrowsError(try KeyPattern("{filename}").render(context("a.wav", userId: "a/b"))) { error in
            XCTAssertEqual(error as? KeyPatternError, .invalidUserId(userId: "a/b", reason: "contains \"/\""))
        }
    }

    func testValidateUserId() {
        XCTAssertNoThrow(try KeyPattern.validateUserId("alice"))
        XCTAssertNoThrow(try KeyPattern.validateUserId("Jörg Müller.2"))
        for bad in ["", ".", "..", "a/b", "/", "tab\there", "nul\0", "\u{1B}[31m"] {
            XCTAssertThrowsError(try KeyPattern.validateUserId(bad), bad.debugDescription) { error in
                guard case .invalidUserId? = error as? KeyPatternError else { return XCTFail("\(error)") }
                XCTAssertTrue("\(error)".contains("choose a non-empty name"))
            }
        }
    }

    func testContextSplitsPath() {
        XCTAssertEqual(context("a/b/c.wav").folderPath, "a/b")
        XCTAssertEqual(context("a/b/c.wav").fileName, "c.wav")
        XCTAssertEqual(context("c.wav").folderPath, "")
        XCTAssertEqual(context("c.wav").fileName, "c.wav")
    }
}
