import Foundation
import XCTest

/// Permanent errors end `failed` after one attempt and come back with `recsync retry` once the
/// cause is fixed; transient errors use up the attempt limit and then end `failed`.
final class RetryTests: ProxiedMountTestCase {
    /// Waits a little longer than the first backoff delay, so that a retry that should not
    /// happen would have shown up in the proxy's log.
    private func assertNoFurtherAttempt(_ name: String, attempts: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        usleep(UInt32((UploadPolicy.delay(beforeRetry: 1) * (1 + UploadPolicy.jitter) + 1.5) * 1_000_000))
        let puts = try proxy.puts(bucket: fixture.bucket, key: try key(of: name))
        XCTAssertEqual(puts.count, attempts, "\(name): PUT attempts seen by the server: \(puts)", file: file, line: line)
        XCTAssertEqual(try fixture.status(name), "failed", file: file, line: line)
    }

    func testWrongSecretFailsAfterOneAttemptAndRetryAllFailedRecoversIt() throws {
        let server = try TestServer.moto()
        try mountThroughProxy(server: server, mount: false)
        fixture.mountSecretKey = String(server.secretKey.reversed())
        try fixture.mount()
        let recording = Recording.wav("wrong-key.wav", seconds: 1)
        try write([recording])

        try fixture.waitForStatus(recording.name, "failed", timeout: 15)
        let error = try XCTUnwrap(try fixture.attribute("user.sync.error", of: recording.name))
        XCTAssertTrue(error.contains("SignatureDoesNotMatch"), "user.sync.error: \(error)")
        XCTAssertFalse(error.contains(server.secretKey), "the error must not show the secret key")
        XCTAssertEqual(try fixture.attribute("user.sync.attempts", of: recording.name), "1")
        try assertNoFurtherAttempt(recording.name, attempts: 1)
        let status = try fixture.recsync(["status", fixture.path(recording.name)])
        XCTAssertTrue(status.succeeded, status.stderr)
        XCTAssertTrue(status.stdout.contains("failed") && status.stdout.contains("SignatureDoesNotMatch"), status.stdout)

        // Fix the secret: remount with the right one, then retry every failed file.
        try fixture.unmount()
        fixture.mountSecretKey = nil
        try fixture.mount()
        let retry = try fixture.recsync(["retry", "--all-failed", fixture.mountpoint.path])
        XCTAssertTrue(retry.succeeded, "recsync retry --all-failed: \(retry.stdout) \(retry.stderr)")
        try assertSyncedByteForByte([recording.name], timeout: 20)
        XCTAssertNotNil(try fixture.attribute("user.sync.attempts", of: recording.name), "user.sync.attempts is readable")
        let puts = try proxy.puts(bucket: fixture.bucket, key: try key(of: recording.name))
        XCTAssertEqual(puts.count, 2, "one refused attempt, one after the retry: \(puts)")
        XCTAssertEqual(puts.filter { $0.upstreamStatus == 200 }.count, 1)
    }

    func testMissingBucketFailsAfterOneAttemptAndRetryRecoversItOnceTheBucketExists() throws {
        let server = try TestServer.moto()
        let bucket = "rt-nobucket-\(UUID().uuidString.lowercased().prefix(12))"
        try mountThroughProxy(server: server, bucket: bucket)
        let recordings: [Recording] = [.random("session.raw", bytes: 300_000), .wav("room-tone.wav", seconds: 1)]
        try write(recordings)
        for recording in recordings {
            try fixture.waitForStatus(recording.name, "failed", timeout: 15)
            let error = try XCTUnwrap(try fixture.attribute("user.sync.error", of: recording.name))
            XCTAssertTrue(error.contains("NoSuchBucket"), "user.sync.error: \(error)")
            XCTAssertEqual(try fixture.attribute("user.sync.attempts", of: recording.name), "1")
        }
        try assertNoFurtherAttempt("session.raw", attempts: 1)
        try assertNoFurtherAttempt("room-tone.wav", attempts: 1)

        // Fix the cause while mounted, then retry one file by path and the other by attribute.
        try server.client().createBucket(bucket: bucket)
        let retry = try fixture.recsync(["retry", fixture.path("session.raw")])
        XCTAssertTrue(retry.succeeded, "recsync retry FILE: \(retry.stdout) \(retry.stderr)")
        let request = try Shell.run(["setfattr", "-n", "user.sync.request", "-v", "retry", fixture.path("room-tone.wav")])
        XCTAssertTrue(request.succeeded, request.stderr)
        try assertSyncedByteForByte(recordings.map(\.name), timeout: 20)
        for recording in recordings {
            let puts = try proxy.puts(bucket: bucket, key: try key(of: recording.name))
            // One refused attempt, then exactly one stored upload after the retry. A further
            // conditional PUT may follow and is refused by the server (412) without storing anything.
            XCTAssertEqual(puts.first?.upstreamStatus, 404, "\(recording.name): \(puts)")
            XCTAssertEqual(puts.filter { $0.upstreamStatus == 200 }.count, 1, "\(recording.name): stored once: \(puts)")
            XCTAssertTrue(puts.allSatisfy { [200, 404, 412].contains($0.upstreamStatus ?? 0) }, "\(puts)")
        }
    }

    func testTransientErrorsUseUpRetryAttemptsThenFailAndRetryStartsAgain() throws {
        let limit = 3
        try mountThroughProxy(server: try TestServer.moto(),
                              rules: [FaultRule(mode: .serviceUnavailable, countPerPath: limit)],
                              config: "[sync]\nretry_attempts = \(limit)\n")
        let recording = Recording.random("busy.raw", bytes: 500_000)
        try write([recording])

        // 1 s + 2 s of backoff (±25 %) between the three attempts.
        try fixture.waitForStatus(recording.name, "failed", timeout: 20)
        XCTAssertEqual(try fixture.attribute("user.sync.attempts", of: recording.name), "\(limit)")
        XCTAssertTrue((try fixture.attribute("user.sync.error", of: recording.name) ?? "").contains("SlowDown"))
        usleep(3_000_000)
        let key = try key(of: recording.name)
        let puts = try proxy.puts(bucket: fixture.bucket, key: key)
        XCTAssertEqual(puts.count, limit, "retry_attempts = \(limit) allows \(limit) attempts: \(puts)")
        for index in puts.indices.dropFirst() {
            let gap = puts[index].time - puts[index - 1].end
            let delay = UploadPolicy.delay(beforeRetry: index)
            XCTAssertTrue(gap >= delay * 0.75 - 0.1 && gap <= delay * 1.25 + 1.5, "retry \(index) after \(gap) s")
        }

        // The proxy lets the next attempt through; a retry starts the count again.
        let retry = try fixture.recsync(["retry", fixture.path(recording.name)])
        XCTAssertTrue(retry.succeeded, "recsync retry FILE: \(retry.stdout) \(retry.stderr)")
        try assertSyncedByteForByte([recording.name], timeout: 20)
        XCTAssertEqual(try proxy.puts(bucket: fixture.bucket, key: key).count, limit + 1)
    }
}
