import Foundation
import XCTest

/// A recording written into the mount by real tools reaches S3 with the right bytes, type,
/// metadata and key, and the file says so through its extended attributes.
final class RecordingUploadTests: XCTestCase {
    var fixture: MountFixture!

    override func setUpWithError() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
    }

    override func tearDown() {
        fixture?.tearDown()
    }

    func testSoxRecordingIsUploadedWithMetadataAndStatus() throws {
        try Shell.run(["sox", "-n", "-r", "48000", "-c", "2", "-b", "16", fixture.path("take1.wav"), "synth", "2.5", "sine", "440"])
        try fixture.waitForStatus("take1.wav", "synced")
        let key = "anonymous/\(MountFixture.yearMonth)/take1.wav"
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "take1.wav"), key)
        XCTAssertEqual(try fixture.attribute("user.sync.error", of: "take1.wav"), "")
        let etag = try XCTUnwrap(try fixture.attribute("user.sync.etag", of: "take1.wav"))
        XCTAssertFalse(etag.isEmpty)
        XCTAssertNotNil(try fixture.attribute("user.sync.synced_at", of: "take1.wav"))

        let local = try fixture.backingContents("take1.wav")
        XCTAssertEqual(try fixture.object(key), local)
        let info = try XCTUnwrap(try fixture.head(key))
        XCTAssertEqual(info.contentType, "audio/wav")
        XCTAssertEqual(info.metadata["original-name"], "take1.wav")
        XCTAssertEqual(info.metadata["size"], String(local.count))
        XCTAssertEqual(info.metadata["duration"], "2.5")
        XCTAssertEqual(info.metadata["tags"], "", "tags are sent, empty for now")
        let timestamp = try XCTUnwrap(info.metadata["timestamp"])
        XCTAssertNotNil(ISO8601DateFormatter().date(from: timestamp), "timestamp \(timestamp) is not ISO 8601")

        // getfattr -d lists every user.sync attribute of a synced file.
        let dump = try Shell.run(["getfattr", "-d", "-m", "-", "--absolute-names", fixture.path("take1.wav")])
        for name in ["status", "s3key", "error", "etag", "synced_at"] {
            XCTAssertTrue(dump.stdout.contains("user.sync.\(name)="), "getfattr -d misses user.sync.\(name):\n\(dump.stdout)")
        }
    }

    func testFfmpegFlacGetsItsTypeAndDuration() throws {
        try Shell.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=1.5",
                       "-ar", "44100", fixture.path("tone.flac")])
        try fixture.waitForStatus("tone.flac", "synced")
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "tone.flac"))
        let info = try XCTUnwrap(try fixture.head(key))
        XCTAssertEqual(info.contentType, "audio/flac")
        XCTAssertEqual(info.metadata["duration"], "1.5")
        XCTAssertEqual(try fixture.object(key), try fixture.backingContents("tone.flac"))
    }

    func testCpDdAndShellRedirectionsEndWithTheFinalBytes() throws {
        let source = fixture.root.appendingPathComponent("source.bin")
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: source)
        try Shell.run(["cp", source.path, fixture.path("copied.bin")])
        try Shell.run(["dd", "if=/dev/urandom", "of=\(fixture.path("dd.raw"))", "bs=64k", "count=20", "status=none"])
        try Shell.sh("echo first > \(Shell.quote(fixture.path("notes.txt")))")
        try Shell.sh("echo second >> \(Shell.quote(fixture.path("notes.txt")))")
        for name in ["copied.bin", "dd.raw", "notes.txt"] {
            try fixture.waitForStatus(name, "synced")
            let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: name))
            XCTAssertEqual(try fixture.object(key), try fixture.backingContents(name), name)
        }
        XCTAssertEqual(String(decoding: try fixture.backingContents("notes.txt"), as: UTF8.self), "first\nsecond\n")
        XCTAssertEqual(try fixture.head("anonymous/\(MountFixture.yearMonth)/copied.bin")?.contentType, "application/octet-stream")
    }

    func testAFileWrittenAgainAfterSyncGoesBackToPendingAndUploadsTheNewBytes() throws {
        try Shell.sh("printf 'version one' > \(Shell.quote(fixture.path("memo.txt")))")
        try fixture.waitForStatus("memo.txt", "synced")
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "memo.txt"))
        // Hold the file open for writing: while it has unqueued changes it is not synced.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: fixture.path("memo.txt")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(" and two".utf8))
        try handle.synchronize()
        XCTAssertEqual(try fixture.status("memo.txt"), "local", "a file with unqueued writes must not say synced")
        try handle.close()
        try fixture.waitForStatus("memo.txt", "synced")
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "memo.txt"), key, "a rewritten file keeps its key")
        XCTAssertEqual(String(decoding: try fixture.object(key), as: UTF8.self), "version one and two")
    }

    func testTruncateOfASyncedFileUploadsTheShorterFile() throws {
        try Shell.run(["dd", "if=/dev/urandom", "of=\(fixture.path("cut.raw"))", "bs=1k", "count=100", "status=none"])
        try fixture.waitForStatus("cut.raw", "synced")
        try Shell.run(["truncate", "-s", "1000", fixture.path("cut.raw")])
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "cut.raw"))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try? fixture.head(key))??.size != 1000 { usleep(50_000) }
        try fixture.waitForStatus("cut.raw", "synced")
        XCTAssertEqual(try fixture.object(key), try fixture.backingContents("cut.raw"))
        XCTAssertEqual(try fixture.backingContents("cut.raw").count, 1000)
    }

    func testEmptyFileFromTouchIsUploaded() throws {
        try Shell.run(["touch", fixture.path("empty.wav")])
        try fixture.waitForStatus("empty.wav", "synced")
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "empty.wav"))
        XCTAssertEqual(try fixture.head(key)?.size, 0)
    }

    func testDuplicatedDescriptorUploadsOnlyTheFinalBytes() throws {
        // Open, dup, close the original (a flush while the handle is still open), write more
        // through the copy: until the last close the file must not be synced, and the bucket
        // only ever receives the final content.
        let path = fixture.path("dup.raw")
        let script = """
        import os, subprocess, sys
        fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        copy = os.dup(fd)
        os.close(fd)
        os.write(copy, b"a" * 100000)
        import time; time.sleep(0.5)
        status = subprocess.run(["getfattr", "--only-values", "-n", "user.sync.status", sys.argv[1]], capture_output=True, text=True).stdout
        os.write(copy, b"b" * 100000)
        os.close(copy)
        print(status)
        """
        let result = try Shell.run(["python3", "-c", script, path])
        XCTAssertTrue(result.succeeded, result.stderr)
        XCTAssertNotEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "synced",
                          "a file still open through a duplicated descriptor must not be synced")
        try fixture.waitForStatus("dup.raw", "synced")
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "dup.raw"))
        XCTAssertEqual(try fixture.object(key), Data(repeating: UInt8(ascii: "a"), count: 100000) + Data(repeating: UInt8(ascii: "b"), count: 100000))
    }

    func testCopyTreeMoveAndRsyncIntoTheMount() throws {
        let outside = fixture.root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside.appendingPathComponent("tree/day1/mics"), withIntermediateDirectories: true)
        try Data("one".utf8).write(to: outside.appendingPathComponent("tree/day1/one.txt"))
        try Data("two".utf8).write(to: outside.appendingPathComponent("tree/day1/mics/two.txt"))
        try Data("moved".utf8).write(to: outside.appendingPathComponent("moved.txt"))
        try Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: outside.appendingPathComponent("synced.bin"))

        XCTAssertTrue(try Shell.run(["cp", "-r", outside.appendingPathComponent("tree").path, fixture.path("tree")]).succeeded)
        XCTAssertTrue(try Shell.run(["mv", outside.appendingPathComponent("moved.txt").path, fixture.path("moved.txt")]).succeeded)
        let rsync = try Shell.run(["rsync", outside.appendingPathComponent("synced.bin").path, fixture.path("synced.bin")])
        XCTAssertTrue(rsync.succeeded, rsync.stderr)
        let expected = ["tree/day1/one.txt": "one", "tree/day1/mics/two.txt": "two", "moved.txt": "moved"]
        for (name, content) in expected {
            try fixture.waitForStatus(name, "synced")
            let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: name))
            XCTAssertEqual(String(decoding: try fixture.object(key), as: UTF8.self), content, name)
        }
        try fixture.waitForStatus("synced.bin", "synced")
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "synced.bin"))
        XCTAssertEqual(key, "anonymous/\(MountFixture.yearMonth)/synced.bin", "rsync's temporary name must not become the key")
        XCTAssertEqual(try fixture.object(key), try Data(contentsOf: outside.appendingPathComponent("synced.bin")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: outside.appendingPathComponent("moved.txt").path))
    }
}
