import Foundation
import XCTest

/// `recsync doctor` checks what a mount needs against the real server and says what to fix.
final class DoctorTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    /// `recsync doctor` with the same settings as the fixture's mount.
    func doctor(environment: [String: String]? = nil, bucket: String? = nil) throws -> CommandResult {
        var arguments = [MountFixture.binary, "doctor"] + Array(fixture.mountArguments.dropFirst(2))
        if let bucket, let index = arguments.firstIndex(of: "--bucket") { arguments[index + 1] = bucket }
        return try Shell.run(arguments.filter { $0 != "--log-level" && $0 != "debug" }, environment: environment ?? fixture.environment)
    }

    func testAHealthyMountPassesEveryCheckAndTheProbeIsGone() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        let before = try doctor()
        XCTAssertEqual(before.status, 0, before.stdout + before.stderr)
        for check in ["fuse", "config", "credentials", "state", "bucket", "clock"] {
            XCTAssertTrue(before.stdout.split(separator: "\n").contains { $0.hasPrefix("ok") && $0.contains(" \(check) ") },
                          "\(check) is ok:\n\(before.stdout)")
        }
        XCTAssertFalse(before.stdout.contains(fixture.server.secretKey), "no secret in the report")
        let left = try fixture.keys()
        XCTAssertTrue(left.isEmpty, "the probe object was deleted: \(left)")

        try fixture.mount()
        let live = try doctor()
        XCTAssertEqual(live.status, 0, live.stdout + live.stderr)
        XCTAssertTrue(live.stdout.contains("no multipart upload left over"), live.stdout)
        XCTAssertTrue(live.stdout.contains(" network "), live.stdout)
    }

    func testWrongCredentialsAndAMissingBucketAreProblemsWithTheirFix() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        var environment = fixture.environment
        environment["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        let wrongKey = try doctor(environment: environment)
        XCTAssertEqual(wrongKey.status, 1, wrongKey.stdout)
        XCTAssertTrue(wrongKey.stdout.contains("PROBLEM  bucket"), wrongKey.stdout)
        XCTAssertTrue(wrongKey.stdout.contains("fix: check AWS_ACCESS_KEY_ID"), wrongKey.stdout)
        XCTAssertFalse(wrongKey.stdout.contains("not-the-secret"))

        environment = fixture.environment
        environment["AWS_ACCESS_KEY_ID"] = nil
        environment["AWS_SECRET_ACCESS_KEY"] = nil
        environment["HOME"] = fixture.root.path
        let none = try doctor(environment: environment)
        XCTAssertEqual(none.status, 1, none.stdout)
        XCTAssertTrue(none.stdout.contains("PROBLEM  credentials"), none.stdout)

        let missing = try doctor(bucket: "no-such-bucket-\(UUID().uuidString.lowercased().prefix(8))")
        XCTAssertEqual(missing.status, 1, missing.stdout)
        XCTAssertTrue(missing.stdout.contains("fix: create the bucket"), missing.stdout)
    }
}
