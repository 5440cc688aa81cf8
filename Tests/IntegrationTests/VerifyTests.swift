import Foundation
import RecsyncS3
import XCTest

/// `recsync verify` compares files with their objects; `recsync doctor --stale-uploads` finds
/// and aborts multipart uploads nobody owns.
final class VerifyTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    private func recsync(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([MountFixture.binary] + arguments, environment: fixture.environment)
    }

    func testVerifyFindsMatchingAndReplacedObjects() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        try Shell.run(["dd", "if=/dev/urandom", "of=\(fixture.path("small.raw"))", "bs=64k", "count=3", "status=none"])
        try Shell.run(["dd", "if=/dev/urandom", "of=\(fixture.path("long.raw"))", "bs=1M", "count=12", "status=none"])
        try fixture.waitForStatus("small.raw", "synced")
        try fixture.waitForStatus("long.raw", "synced", timeout: 60)
        let longKey = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "long.raw"))
        XCTAssertTrue(try XCTUnwrap(try fixture.head(longKey)).etag.contains("-"), "a 12 MiB file goes up as multipart")

        let quick = try recsync(["verify", fixture.mountpoint.path])
        XCTAssertEqual(quick.status, 0, quick.stdout + quick.stderr)
        XCTAssertTrue(quick.stdout.contains("2 file(s) in \(fixture.mountpoint.path): 2 ok"), quick.stdout)
        let deep = try recsync(["verify", "--deep", fixture.mountpoint.path])
        XCTAssertEqual(deep.status, 0, deep.stdout + deep.stderr)
        XCTAssertTrue(deep.stdout.contains("bytes identical"), deep.stdout)
        // --deep reads the object a piece at a time (ranged GETs), never whole.
        let backing = try fixture.backingContents("long.raw")
        XCTAssertEqual(try fixture.client().getObjectRange(bucket: fixture.bucket, key: longKey, offset: 9_000_000, length: 5_000_000),
                       backing.subdata(in: 9_000_000..<backing.count), "a range past the end gives what is there")

        // Someone replaces the object on the server: verify says so and fails.
        let smallKey = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "small.raw"))
        let other = fixture.root.appendingPathComponent("other.bin")
        try Data(repeating: 7, count: 196_608).write(to: other)
        let fd = open(other.path, O_RDONLY)
        defer { close(fd) }
        _ = try fixture.client().putObject(bucket: fixture.bucket, key: smallKey, body: FileBody(fd: fd, length: 196_608),
                                           contentType: "application/octet-stream", metadata: [:], progress: nil, shouldCancel: nil)
        let replaced = try recsync(["verify", fixture.path("small.raw")])
        XCTAssertEqual(replaced.status, 1)
        XCTAssertTrue(replaced.stdout.contains("differs"), replaced.stdout)
        XCTAssertTrue(replaced.stdout.contains("replaced on the server"), replaced.stdout)
    }

    func testDoctorAbortsMultipartUploadsNobodyOwns() throws {
        // radosgw: moto mis-verifies signed queries whose prefix contains '/'.
        fixture = try MountFixture(server: try TestServer.radosgw())
        try fixture.mount()
        let client = try fixture.client()
        let stray = try client.createMultipartUpload(bucket: fixture.bucket, key: "anonymous/2019/01/stray.wav",
                                                     contentType: "audio/wav", metadata: [:])
        let elsewhere = try client.createMultipartUpload(bucket: fixture.bucket, key: "someone-else/x.wav",
                                                         contentType: "audio/wav", metadata: [:])
        let listed = try recsync(["doctor", "--stale-uploads", "--dry-run", fixture.mountpoint.path])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("stale    anonymous/2019/01/stray.wav"), listed.stdout)
        XCTAssertFalse(listed.stdout.contains("someone-else"), "uploads outside this mount's prefix are not ours: \(listed.stdout)")
        XCTAssertTrue(try client.listMultipartUploads(bucket: fixture.bucket, prefix: "").contains { $0.uploadId == stray })

        let aborted = try recsync(["doctor", "--stale-uploads", fixture.mountpoint.path])
        XCTAssertEqual(aborted.status, 0, aborted.stderr)
        XCTAssertTrue(aborted.stdout.contains("aborted  anonymous/2019/01/stray.wav"), aborted.stdout)
        let left = try client.listMultipartUploads(bucket: fixture.bucket, prefix: "").map(\.uploadId)
        XCTAssertFalse(left.contains(stray))
        XCTAssertTrue(left.contains(elsewhere))
        try client.abortMultipartUpload(bucket: fixture.bucket, key: "someone-else/x.wav", uploadId: elsewhere)
    }
}
