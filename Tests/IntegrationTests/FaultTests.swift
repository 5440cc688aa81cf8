import Foundation
import XCTest

/// Uploads through a proxy that fails the first attempts in one way each: every file still ends
/// `synced` with its exact bytes, after no more attempts than the retry policy allows, each retry
/// after its backoff delay.
final class FaultTests: ProxiedMountTestCase {
    /// What a recording session leaves: two sox WAVs and two dd files, small to a few MiB.
    private let session: [Recording] = [
        .wav("take-1.wav", seconds: 1),
        .wav("take-2.wav", seconds: 6),
        .random("notes.raw", bytes: 200_000),
        .random("multitrack.raw", bytes: 3 << 20),
    ]

    private var names: [String] { session.map(\.name) }

    func testSlowDown503IsRetriedWithBackoffUpToTheFifthAttempt() throws {
        let faults = UploadPolicy.maxAttempts - 1
        try mountThroughProxy(server: try TestServer.moto(),
                              rules: [FaultRule(mode: .serviceUnavailable, countPerPath: faults)])
        try write(session)

        // Between attempts the file waits as pending, with the server's error and a retry time.
        try eventually("take-1.wav waiting for a retry after 503 SlowDown", timeout: 10) {
            (try fixture.attribute("user.sync.attempts", of: "take-1.wav")).flatMap(Int.init) ?? 0 >= 1
        }
        XCTAssertEqual(try fixture.status("take-1.wav"), "pending")
        XCTAssertTrue((try fixture.attribute("user.sync.error", of: "take-1.wav") ?? "").contains("SlowDown"))
        XCTAssertNotEqual(try fixture.attribute("user.sync.retry_at", of: "take-1.wav") ?? "", "")

        try assertSyncedByteForByte(names, timeout: 60)
        for name in names { try assertRetriedWithinPolicy(name, faults: faults, mode: .serviceUnavailable) }
    }

    func testInternalError500IsRetried() throws {
        try mountThroughProxy(server: try TestServer.moto(), rules: [FaultRule(mode: .internalError, countPerPath: 2)])
        try write(session)
        try assertSyncedByteForByte(names, timeout: 40)
        for name in names { try assertRetriedWithinPolicy(name, faults: 2, mode: .internalError) }
    }

    func testConnectionResetHalfwayThroughTheBodyIsRetried() throws {
        try mountThroughProxy(server: try TestServer.moto(), rules: [FaultRule(mode: .reset, countPerPath: 2)])
        try write(session)
        try assertSyncedByteForByte(names, timeout: 40)
        for name in names { try assertRetriedWithinPolicy(name, faults: 2, mode: .reset) }
        // The reset came after half of the body, not before it.
        let key = try key(of: "multitrack.raw")
        let reset = try XCTUnwrap(try proxy.puts(bucket: fixture.bucket, key: key).first)
        XCTAssertGreaterThan(reset.requestBytes, 1 << 20, "half of a 3 MiB body reaches the server before the reset")
    }

    func testServerThatNeverAnswersIsCutOffByTheStallTimeoutAndRetried() throws {
        let stall = 3.0
        try mountThroughProxy(server: try TestServer.moto(), rules: [FaultRule(mode: .hang, countPerPath: 1)],
                              config: "[sync]\nstall_timeout = \(Int(stall))\n")
        try write(session)
        try assertSyncedByteForByte(names, timeout: 60)
        for name in names {
            // Two workers may both sit in a hanging request while a retry is due.
            try assertRetriedWithinPolicy(name, faults: 1, mode: .hang, slack: stall + 2)
            let hung = try XCTUnwrap(try proxy.puts(bucket: fixture.bucket, key: try key(of: name)).first)
            let held = hung.end - hung.time
            XCTAssertTrue(held >= stall - 0.5 && held <= stall + 4,
                          "\(name): the client gave up on the silent server after " + String(format: "%.2f s; stall_timeout is %.0f s", held, stall))
        }
    }

    func testSlowServerIsWaitedForAndEachFileUploadedOnce() throws {
        try mountThroughProxy(server: try TestServer.moto(), rules: [FaultRule(mode: .slow, rate: 512 << 10, delay: 0.5)])
        try write(session)
        try eventually("multitrack.raw syncing through the slow server", timeout: 10) {
            try fixture.status("multitrack.raw") == "syncing"
        }
        try assertSyncedByteForByte(names, timeout: 60)
        for name in names {
            let puts = try proxy.puts(bucket: fixture.bucket, key: try key(of: name))
            XCTAssertEqual(puts.count, 1, "\(name): a slow server is no reason to upload again: \(puts)")
            XCTAssertEqual(puts.first?.upstreamStatus, 200)
            XCTAssertEqual(puts.first?.fault, "slow")
        }
        let bulk = try XCTUnwrap(try proxy.puts(bucket: fixture.bucket, key: try key(of: "multitrack.raw")).first)
        XCTAssertGreaterThan(bulk.end - bulk.time, 4, "3 MiB at 512 KiB/s takes about 6 s; the proxy did not slow the upload down")
    }

    /// radosgw checks every chunk signature: a flipped byte on the way is refused, and the retry
    /// with the right bytes succeeds.
    func testCorruptedBodyIsRejectedByRadosgwAndTheRetrySucceeds() throws {
        try mountThroughProxy(server: try TestServer.radosgw(), rules: [FaultRule(mode: .corrupt, countPerPath: 1)])
        let recordings: [Recording] = [.wav("interview.wav", seconds: 2), .random("field.raw", bytes: 2 << 20)]
        try write(recordings)
        try assertSyncedByteForByte(recordings.map(\.name), timeout: 60)
        for recording in recordings {
            try assertRetriedWithinPolicy(recording.name, faults: 1, mode: .corrupt)
            let first = try XCTUnwrap(try proxy.puts(bucket: fixture.bucket, key: try key(of: recording.name)).first)
            XCTAssertNotNil(first.upstreamStatus, "\(recording.name): radosgw answered the corrupted upload")
            XCTAssertTrue((400..<500).contains(first.upstreamStatus ?? 0),
                          "\(recording.name): radosgw must reject the corrupted body, answered \(first.upstreamStatus ?? 0)")
        }
    }
}
