import Foundation
import XCTest

/// `kernel_passthrough = true`: the kernel sends the reads and writes of open files straight to
/// the files on disk. recsync no longer sees the writes, so it treats a file open for writing as
/// being written (`local`), learns at each close from the file itself whether it changed, and
/// uploads exactly what is on disk (docs/PERFORMANCE.md, "Kernel passthrough").
final class PassthroughTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
        super.tearDown()
    }

    func testWritesGoStraightToDiskAndTheStatusFollowsTheFile() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.useConfig("kernel_passthrough = true\n[sync]\nsettle_delay = 0\n")
        try fixture.mount()
        let path = fixture.path("take.raw")
        let key = "anonymous/\(MountFixture.yearMonth)/take.raw"
        let first = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })

        // A new file: local while it is open, synced with its bytes once closed.
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let writer = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        try writer.write(contentsOf: first)
        XCTAssertEqual(try fixture.status("take.raw"), "local", "a file open for writing is local")
        try writer.close()
        try fixture.waitForStatus("take.raw", "synced")
        XCTAssertTrue(fixture.log.contains("kernel passthrough is on"), "the kernel took the passthrough files:\n\(fixture.log)")
        XCTAssertEqual(try fixture.object(key), first)
        XCTAssertEqual(try fixture.backingContents("take.raw"), first)

        // Opened for writing and closed unchanged: local while open, synced again after, no upload.
        let idle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        XCTAssertEqual(try fixture.status("take.raw"), "local")
        try idle.close()
        try fixture.waitForStatus("take.raw", "synced", timeout: 10)
        usleep(1_500_000)
        XCTAssertEqual(uploads(of: "take.raw"), 1, "an unchanged file is not sent again:\n\(fixture.log)")

        // An append right after a close is seen (the change time moves) and uploaded.
        let appender = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try appender.seekToEnd()
        try appender.write(contentsOf: Data("tail".utf8))
        try appender.close()
        try fixture.waitForStatus("take.raw", "synced", timeout: 20)
        try waitUntil { (try? self.fixture.object(key).count) == first.count + 4 }
        XCTAssertEqual(try fixture.object(key), first + Data("tail".utf8))
        XCTAssertEqual(uploads(of: "take.raw"), 2)

        // Reads, and a rewrite in place that keeps the size: the content is what was written.
        var patch = first
        patch.replaceSubrange(0..<4, with: Data("RIFF".utf8))
        let rewriter = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        try rewriter.write(contentsOf: Data("RIFF".utf8))
        try rewriter.close()
        try waitUntil { (try? self.fixture.object(key).prefix(4)) == Data("RIFF".utf8) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), patch + Data("tail".utf8))
        try fixture.waitForStatus("take.raw", "synced", timeout: 20)
        XCTAssertEqual(try fixture.object(key), patch + Data("tail".utf8))
    }

    /// Successful upload attempts of `name` in the daemon's log.
    private func uploads(of name: String) -> Int {
        fixture.log.components(separatedBy: "\n").filter { $0.contains("outcome=synced") && $0.contains("path=\(name) ") }.count
    }

    private func waitUntil(timeout: TimeInterval = 20, _ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date() + timeout
        while !condition() {
            if Date() > deadline { XCTFail("timed out", file: file, line: line); return }
            usleep(50_000)
        }
    }
}
