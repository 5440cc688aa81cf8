import Foundation
import XCTest

/// Restarts after a crash, with the file or the queue changed while recsync was not running,
/// against a real server: `synced` only ever means the bytes the file has now.
final class RestartTests: ProxiedMountTestCase {
    /// The names of the objects that requests storing data (PutObject, UploadPart) were sent for.
    func storedNames(after time: Double) throws -> Set<String> {
        // (The checksum probe of `upload_checksum = "auto"` stores nothing: its upload is aborted.)
        Set(try proxy.requests().filter { $0.method == "PUT" && $0.time >= time }
            .map { ($0.decodedPath as NSString).lastPathComponent }).subtracting([".recsync-checksum-probe"])
    }

    /// The issue's case: an 80 MiB file uploading in parts when recsync is killed; while it is
    /// stopped the first 10 MiB are rewritten in place (same size). After the next mount the
    /// object holds the new bytes.
    func testAFileRewrittenInPlaceWhileStoppedMidMultipartEndsWithItsNewBytes() throws {
        let server = try TestServer.moto()
        // Slow enough that the upload is in flight when the daemon dies.
        try mountThroughProxy(server: server, rules: [FaultRule(mode: .slow, rate: 16 << 20)],
                              config: "[sync]\nsettle_delay = 0\n")
        try write([.random("long.raw", bytes: 80 << 20)])
        let key = try key(of: "long.raw")
        try eventually("some parts are stored", timeout: 30) {
            try self.proxy.requests().contains { $0.method == "PUT" && $0.query.contains("partNumber") && $0.status == 200 }
        }
        try fixture.killDaemon()
        let rewrite = try Shell.run(["dd", "if=/dev/urandom", "of=\(fixture.path("long.raw"))", "bs=1M", "count=10",
                                     "conv=notrunc", "status=none"])
        XCTAssertTrue(rewrite.succeeded, rewrite.stderr)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: fixture.path("long.raw"))[.size] as? Int, 80 << 20)
        try proxy.setRules([])
        try fixture.mount()
        try assertSyncedByteForByte(["long.raw"], timeout: 120)
        XCTAssertEqual(try fixture.object(key), try fixture.backingContents("long.raw"))
    }

    /// The queue database damaged while recsync was stopped: the mount starts anyway, says what it
    /// did, moves the damaged file aside, and recognises the files already in the bucket by HEAD
    /// plus checksum instead of uploading them again.
    func testADamagedQueueIsReplacedAndFilesInTheBucketAreNotUploadedAgain() throws {
        let server = try TestServer.moto()
        try mountThroughProxy(server: server, config: "[sync]\nsettle_delay = 0\n")
        try write([.random("small.raw", bytes: 300_000), .random("large.raw", bytes: 12 << 20), .wav("take.wav", seconds: 1)])
        try assertSyncedByteForByte(["small.raw", "large.raw", "take.wav"])
        try fixture.unmount()
        let database = fixture.stateDir.appendingPathComponent("queue.sqlite3").path
        let garbage = Data((0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) })
        try garbage.write(to: URL(fileURLWithPath: database))
        try? FileManager.default.removeItem(atPath: database + "-wal")
        // A file added while stopped is still uploaded.
        try Recording.random("new.raw", bytes: 50_000).write(to: fixture.path("new.raw"))
        let restarted = Date().timeIntervalSince1970

        try fixture.mount()
        try assertSyncedByteForByte(["small.raw", "large.raw", "take.wav", "new.raw"])
        XCTAssertEqual(try storedNames(after: restarted), ["new.raw"], "only the new file was sent: \(proxy.logText.suffix(3000))")
        XCTAssertTrue(fixture.log.contains("the queue database was damaged"), fixture.log.suffix(3000).description)
        let aside = try FileManager.default.contentsOfDirectory(atPath: fixture.stateDir.path).filter { $0.contains(".damaged-") }
        XCTAssertTrue(aside.contains { !$0.hasSuffix("-shm") && !$0.hasSuffix("-wal") }, "moved aside, not deleted: \(aside)")
        let status = try fixture.recsync(["status", fixture.mountpoint.path])
        XCTAssertTrue(status.stdout.contains("the queue database was damaged"), status.stdout)
        XCTAssertEqual(try fixture.keys().count, 4, "no -2 copies")
        ChaosScale.report("corrupt queue database", passed: try storedNames(after: restarted) == ["new.raw"], [
            "files_in_bucket_before": 3, "uploaded_again": try storedNames(after: restarted).subtracting(["new.raw"]).count,
            "new_files_uploaded": 1, "moved_aside": aside.count, "objects_after": try fixture.keys().count,
        ])
    }

    /// The queue deleted while recsync was stopped: the same, without anything to move aside.
    func testADeletedQueueIsRebuiltWithoutUploadingAgain() throws {
        let server = try TestServer.moto()
        try mountThroughProxy(server: server, config: "[sync]\nsettle_delay = 0\n")
        try write([.random("a.raw", bytes: 200_000), .random("b.raw", bytes: 7 << 20)])
        try assertSyncedByteForByte(["a.raw", "b.raw"])
        try fixture.unmount()
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: fixture.stateDir.appendingPathComponent("queue.sqlite3" + suffix).path)
        }
        let restarted = Date().timeIntervalSince1970
        try fixture.mount()
        try assertSyncedByteForByte(["a.raw", "b.raw"])
        XCTAssertEqual(try storedNames(after: restarted), [], "nothing was sent again: \(proxy.logText.suffix(3000))")
        XCTAssertEqual(try fixture.keys().count, 2)
        ChaosScale.report("lost queue database", passed: try storedNames(after: restarted).isEmpty, [
            "files_in_bucket_before": 2, "uploaded_again": try storedNames(after: restarted).count,
            "objects_after": try fixture.keys().count,
        ])
    }

    /// A hook program that does not exist is found before the mount goes live: the mount fails
    /// with the reason and leaves nothing mounted.
    func testAMissingHookProgramFailsTheMountBeforeItIsLive() throws {
        let server = try TestServer.moto()
        try mountThroughProxy(server: server, config: "[hooks]\non_event = [\"/nonexistent/notify-me\"]\n", mount: false)
        let result = try Shell.run(fixture.mountArguments, environment: fixture.environment)
        XCTAssertFalse(result.succeeded)
        XCTAssertTrue(result.stderr.contains("on_event"), result.stderr)
        XCTAssertFalse(fixture.isMounted, "nothing is left mounted")
        XCTAssertFalse(FileManager.default.fileExists(atPath: fixture.runtimeFile), "no pid file is left")
    }
}
