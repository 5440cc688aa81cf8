import XCTest
@testable import RecsyncCore

final class ContentTypeTests: XCTestCase {
    func testAudioTypes() {
        let expected = [
            "a.wav": "audio/wav", "a.flac": "audio/flac", "a.mp3": "audio/mpeg", "a.ogg": "audio/ogg",
            "a.oga": "audio/ogg", "a.opus": "audio/opus", "a.m4a": "audio/mp4", "a.aac": "audio/aac",
            "a.webm": "audio/webm", "a.aif": "audio/aiff", "a.aiff": "audio/aiff", "a.aifc": "audio/aiff",
            "a.caf": "audio/x-caf", "a.mka": "audio/x-matroska", "a.wma": "audio/x-ms-wma",
            "a.mid": "audio/midi", "a.midi": "audio/midi",
        ]
        for (name, type) in expected {
            XCTAssertEqual(ContentType.forFileName(name), type, name)
        }
    }

    func testOtherTypes() {
        XCTAssertEqual(ContentType.forFileName("clip.mp4"), "video/mp4")
        XCTAssertEqual(ContentType.forFileName("notes.txt"), "text/plain")
        XCTAssertEqual(ContentType.forFileName("meta.json"), "application/json")
        XCTAssertEqual(ContentType.forFileName("score.pdf"), "application/pdf")
        XCTAssertEqual(ContentType.forFileName("cover.jpg"), "image/jpeg")
        XCTAssertEqual(ContentType.forFileName("cover.jpeg"), "image/jpeg")
        XCTAssertEqual(ContentType.forFileName("cover.png"), "image/png")
    }

    func testCaseInsensitiveAndLastExtension() {
        XCTAssertEqual(ContentType.forFileName("Take 1.WAV"), "audio/wav")
        XCTAssertEqual(ContentType.forFileName("mix.FlAc"), "audio/flac")
        XCTAssertEqual(ContentType.forFileName("archive.wav.gz"), "application/octet-stream")
        XCTAssertEqual(ContentType.forFileName("backup.txt.wav"), "audio/wav")
        XCTAssertEqual(ContentType.forFileName("dir.flac/take.mp3"), "audio/mpeg")
    }

    func testFallback() {
        for name in ["noext", ".flac", "trailingdot.", "weird.xyz", ""] {
            XCTAssertEqual(ContentType.forFileName(name), "application/octet-stream", name)
        }
    }
}
