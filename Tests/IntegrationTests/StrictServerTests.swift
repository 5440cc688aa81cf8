import Foundation
import XCTest

/// The strict servers: radosgw checks signatures and payload hashes; moto checks signatures once
/// an IAM key exists. Wrong credentials leave the file pending with a readable error.
final class StrictServerTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    func testRecordingReachesRadosgwByteForByte() throws {
        fixture = try MountFixture(server: try TestServer.radosgw())
        try fixture.mount()
        try Shell.run(["sox", "-n", "-r", "44100", "-c", "1", fixture.path("rgw.wav"), "synth", "3", "sine", "330"])
        try Shell.run(["dd", "if=/dev/urandom", "of=\(fixture.path("big.raw"))", "bs=1M", "count=6", "status=none"])
        // Names that need percent-encoding in the signed request (moto mis-verifies '&', radosgw does not).
        try Shell.sh("printf 'odd name' > \(Shell.quote(fixture.path("q&a #1 (50%) + ü.txt")))")
        for name in ["rgw.wav", "big.raw", "q&a #1 (50%) + ü.txt"] {
            try fixture.waitForStatus(name, "synced", timeout: 60)
            let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: name))
            XCTAssertEqual(try fixture.object(key), try fixture.backingContents(name), name)
        }
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "q&a #1 (50%) + ü.txt"),
                       "anonymous/\(MountFixture.yearMonth)/q&a #1 (50%) + ü.txt")
        let info = try XCTUnwrap(try fixture.head(try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "rgw.wav"))))
        XCTAssertEqual(info.contentType, "audio/wav")
        XCTAssertEqual(info.metadata["duration"], "3")
    }

    func testWrongSecretFailsAfterOneAttemptWithTheServerError() throws {
        let server = try TestServer.moto()
        let bucket = try server.makeBucket()
        let wrong = TestServer(name: server.name, endpoint: server.endpoint, accessKey: server.accessKey,
                               secretKey: String(server.secretKey.reversed()), region: server.region)
        fixture = try MountFixture(server: wrong, bucket: bucket)
        try fixture.mount()
        try Shell.sh("printf 'secret recording' > \(Shell.quote(fixture.path("w.txt")))")
        try fixture.waitForStatus("w.txt", "failed")
        let error = try XCTUnwrap(try fixture.attribute("user.sync.error", of: "w.txt"))
        XCTAssertTrue(error.contains("SignatureDoesNotMatch"), "error: \(error)")
        XCTAssertEqual(try fixture.attribute("user.sync.attempts", of: "w.txt"), "1", "a refused signature is not retried")
        XCTAssertTrue(try server.client().listObjects(bucket: bucket, prefix: "").isEmpty)
        XCTAssertFalse(fixture.log.contains(server.secretKey), "the secret never reaches the log")
    }
}
