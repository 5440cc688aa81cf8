import CSysShims
import Foundation
import XCTest
@testable import RecsyncCore

/// A symbolic link planted in the recordings folder never leads recsync outside it.
final class BeneathTests: EngineTestCase {
    func testALinkOnTheWayIsNeverFollowed() throws {
        try makeEngine()
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-outside-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data("root's secret".utf8).write(to: outside.appendingPathComponent("secret.wav"))
        try FileManager.default.createSymbolicLink(atPath: url("sub").path, withDestinationPath: outside.path)
        try writeFile("real/take.wav", Data("take".utf8))

        let rootFd = open(root.path, recsync_O_PATH | recsync_O_DIRECTORY | O_CLOEXEC)
        defer { close(rootFd) }
        XCTAssertEqual(Beneath.open(rootFd, "sub/secret.wav", O_RDONLY), -1, "the link on the way is not followed")
        XCTAssertTrue([ELOOP, EXDEV].contains(errno), "errno \(errno)")
        var st = stat()
        XCTAssertEqual(Beneath.stat(rootFd, "sub/secret.wav", &st), -1)
        XCTAssertNil(Beneath.stat(rootFd, "sub/secret.wav", birth: true), "nor with the birth time")
        let link = try XCTUnwrap(Beneath.stat(rootFd, "sub", birth: true), "the link itself is there")
        XCTAssertEqual(link.stat.st_mode & S_IFMT, S_IFLNK, "and is not followed")
        XCTAssertEqual(Beneath.open(rootFd, "../\(outside.lastPathComponent)/secret.wav", O_RDONLY), -1, "nor a way up")
        let fd = Beneath.open(rootFd, "real/take.wav", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0, "a real path opens")
        close(fd)

        // Asked to upload it (sync-now by path, or a record), the engine queues nothing.
        try engine.syncNow(path: "sub/secret.wav")
        XCTAssertNil(try storedRecord("sub/secret.wav"))
        startUploader()
        try engine.syncNow(path: "real/take.wav")
        try waitForStatus("real/take.wav", .synced)
        XCTAssertEqual(try s3.listObjects(bucket: Self.bucket, prefix: "").map(\.key).filter { $0.contains("secret") }, [])
    }

    func testStatWithBirthTimeAsksBothThroughOneOpen() throws {
        let rootFd = open(root.path, recsync_O_PATH | recsync_O_DIRECTORY | O_CLOEXEC)
        defer { close(rootFd) }
        let before = Date()
        try writeFile("take.wav", Data("take".utf8))
        let found = try XCTUnwrap(Beneath.stat(rootFd, "take.wav", birth: true))
        XCTAssertEqual(found.stat.st_size, 4)
        XCTAssertEqual(found.stat.st_mode & S_IFMT, S_IFREG)
        var plain = stat()
        XCTAssertEqual(Beneath.stat(rootFd, "take.wav", &plain), 0)
        XCTAssertEqual(found.stat.st_ino, plain.st_ino, "the same file as the path stat names")
        if let born = found.born {
            // ext4, XFS, btrfs and tmpfs record it; the answer is the file's own.
            XCTAssertLessThan(abs(born.timeIntervalSince(before)), 5, "\(born) is when the file was made")
        }
        XCTAssertNil(try XCTUnwrap(Beneath.stat(rootFd, "take.wav", birth: false)).born, "not asked, not read")
        XCTAssertNil(Beneath.stat(rootFd, "missing.wav", birth: true))
    }
}
