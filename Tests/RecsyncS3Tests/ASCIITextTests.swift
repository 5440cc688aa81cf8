import XCTest
@testable import RecsyncS3

final class ASCIITextTests: XCTestCase {
    func testTrimsOnlyASCIIWhitespaceAtTheEnds() {
        XCTAssertEqual(" \t value with  spaces \r\n".trimmingASCIIWhitespace(), "value with  spaces")
        XCTAssertEqual("\r\n".trimmingASCIIWhitespace(), "")
        XCTAssertEqual("".trimmingASCIIWhitespace(), "")
        // Not protocol whitespace: left as it is, byte for byte.
        XCTAssertEqual("\u{A0}café\u{2003}".trimmingASCIIWhitespace(), "\u{A0}café\u{2003}")
        // A combining mark after a space stays whole.
        XCTAssertEqual(" \u{301}x ".trimmingASCIIWhitespace().unicodeScalars.map(\.value), [0x301, 0x78])
        XCTAssertEqual("x y"[...].trimmingASCIIWhitespace(), "x y")
    }

    func testLowercasesASCIILettersOnly() {
        XCTAssertEqual(ASCIIText.lowercased("X-Amz-Request-ID"), "x-amz-request-id")
        XCTAssertEqual(ASCIIText.lowercased("ÉTAG-İ"), "Étag-İ")
    }

    func testUnquotesETags() {
        XCTAssertEqual("\"d41d8cd98f00b204e9800998ecf8427e\"".unquotedETag(), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual("\"\"abc-2\"".unquotedETag(), "abc-2")
        XCTAssertEqual("abc".unquotedETag(), "abc")
        XCTAssertEqual("\"\"".unquotedETag(), "")
        XCTAssertEqual("a\"b".unquotedETag(), "a\"b")
    }

    func testDigestsAreLowercaseHex() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ascii-text-\(getpid())").path
        FileManager.default.createFile(atPath: path, contents: Data("abc".utf8))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(FileDigest.md5Hex(fd: fd, length: 3), "900150983cd24fb0d6963f7d28e17f72")
        XCTAssertEqual(FileDigest.md5Hex(fd: fd, length: 0), "d41d8cd98f00b204e9800998ecf8427e")
        XCTAssertEqual(FileDigest.sha256Hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
