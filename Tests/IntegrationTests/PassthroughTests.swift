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

    /// A recorder that keeps writing after the daemon died (its passthrough handle needs no
    /// daemon): the next mount cannot hear its writes or its close, so the file must not read
    /// `synced` while the writer has it; it is `local` until the writer closes, then synced with
    /// every byte it wrote.
    func testAWriterThatOutlivesTheDaemonKeepsTheFileLocalUntilItCloses() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.useConfig("kernel_passthrough = true\n[sync]\nsettle_delay = 0\n")
        try fixture.mount()
        let acked = fixture.root.appendingPathComponent("outlive.acked").path
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", StopTests.ackWriter, "write", fixture.path("outlive.raw"), "--acked", acked,
                            "--bytes", "\(1 << 20)", "--hold", "7", "--then-bytes", "\(2 << 20)", "--rate", "\(1 << 20)"]
        try writer.run()
        defer { if writer.isRunning { writer.terminate() } }
        try waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: acked + ".ready") }
        try fixture.killDaemon(detach: false)

        let remount = try Shell.run(fixture.mountArguments, environment: fixture.environment)
        XCTAssertTrue(remount.succeeded, remount.stderr)
        fixture.mounted = true
        try fixture.waitForStatus("outlive.raw", "local", timeout: 10)
        // Until the writer closes the file (it records that, or the close's error, first).
        while !FileManager.default.fileExists(atPath: acked + ".closed") && !FileManager.default.fileExists(atPath: acked + ".error") {
            XCTAssertTrue(writer.isRunning, "the writer ended without recording its close")
            if !writer.isRunning { break }
            let status = try fixture.status("outlive.raw")
            XCTAssertEqual(status, "local", "a file another program still writes is never reported otherwise\n\(fixture.log.suffix(3000))")
            if status != "local" { break }
            usleep(200_000)
        }
        writer.waitUntilExit()
        // Every write went to the disk; only its close, which asks the dead connection to
        // flush, may report ENOTCONN.
        let written = Int((try? String(contentsOfFile: acked, encoding: .utf8)) ?? "") ?? -1
        XCTAssertEqual(written, 3 << 20, "the writer's writes all went through after the crash")
        try fixture.waitForStatus("outlive.raw", "synced", timeout: 30)
        let contents = try fixture.backingContents("outlive.raw")
        XCTAssertEqual(contents.count, 3 << 20, "every byte the writer wrote after the crash is on disk")
        XCTAssertEqual(try fixture.object("anonymous/\(MountFixture.yearMonth)/outlive.raw"), contents)
        XCTAssertTrue(fixture.log.contains("a program recsync cannot see has this file open for writing"), fixture.log)
    }

    /// A shared writable mapping kept after close(): with passthrough it writes into the file on
    /// disk after recsync saw the file released. The file stays `local` until it is unmapped, and
    /// the object holds what was written through the mapping.
    func testAMappingKeptAfterCloseKeepsTheFileLocalUntilItIsUnmapped() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.useConfig("kernel_passthrough = true\n[sync]\nsettle_delay = 0\n")
        try fixture.mount()
        let size = 1 << 20
        let fd = open(fixture.path("mapped.raw"), O_CREAT | O_EXCL | O_RDWR, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(ftruncate(fd, off_t(size)), 0)
        let map = try XCTUnwrap(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))
        XCTAssertNotEqual(map, MAP_FAILED)
        close(fd)
        XCTAssertTrue(fixture.log.contains("kernel passthrough is on"), "the file is a passthrough one:\n\(fixture.log)")
        // Released: without the check the file would upload (all zeroes) and read synced.
        usleep(1_500_000)
        XCTAssertEqual(try fixture.status("mapped.raw"), "local", "a file still mapped for writing is local\n\(fixture.log.suffix(3000))")
        let late = Data("written through the mapping after close".utf8)
        late.withUnsafeBytes { _ = memcpy(map, $0.baseAddress!, late.count) }
        XCTAssertEqual(msync(map, size, MS_SYNC), 0)
        usleep(1_500_000)
        XCTAssertEqual(try fixture.status("mapped.raw"), "local")
        XCTAssertEqual(munmap(map, size), 0)
        try fixture.waitForStatus("mapped.raw", "synced", timeout: 20)
        var expected = Data(count: size)
        expected.replaceSubrange(0..<late.count, with: late)
        XCTAssertEqual(try fixture.backingContents("mapped.raw"), expected)
        XCTAssertEqual(try fixture.object("anonymous/\(MountFixture.yearMonth)/mapped.raw"), expected)

        // A synced file opened, mapped and closed unchanged: the mapping writes after the close,
        // with no upload to ask. The release is asked about once more, a moment later.
        let again = open(fixture.path("mapped.raw"), O_RDWR)
        XCTAssertGreaterThanOrEqual(again, 0)
        let second = try XCTUnwrap(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, again, 0))
        XCTAssertNotEqual(second, MAP_FAILED)
        close(again)
        try fixture.waitForStatus("mapped.raw", "local", timeout: 10)
        let later = Data("and again, after a close that changed nothing".utf8)
        later.withUnsafeBytes { _ = memcpy(second + 4096, $0.baseAddress!, later.count) }
        XCTAssertEqual(msync(second, size, MS_SYNC), 0)
        XCTAssertEqual(munmap(second, size), 0)
        try fixture.waitForStatus("mapped.raw", "synced", timeout: 20)
        expected.replaceSubrange(4096..<(4096 + later.count), with: later)
        XCTAssertEqual(try fixture.object("anonymous/\(MountFixture.yearMonth)/mapped.raw"), expected)
    }

    /// A player that opened the file while it was recorded and still reads it does not hold the
    /// upload back: only writers do.
    func testAReaderStillHoldingTheFileDoesNotHoldItsUpload() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.useConfig("kernel_passthrough = true\n[sync]\nsettle_delay = 0\n")
        try fixture.mount()
        let path = fixture.path("played.raw")
        let body = Data(repeating: 0x5a, count: 256 << 10)
        let writer = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(writer, 0)
        let reader = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        XCTAssertEqual(body.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }, body.count)
        XCTAssertEqual(close(writer), 0)
        XCTAssertTrue(fixture.log.contains("kernel passthrough is on"), "the file is a passthrough one:\n\(fixture.log)")
        try fixture.waitForStatus("played.raw", "synced", timeout: 20)
        XCTAssertEqual(try fixture.object("anonymous/\(MountFixture.yearMonth)/played.raw"), body)
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(pread(reader, &buffer, 16, 0), 16, "the reader still reads")
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
