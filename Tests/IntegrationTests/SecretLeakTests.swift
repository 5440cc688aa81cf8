import Foundation
import XCTest

/// The secret key and the session token never appear anywhere another process or a person could
/// read them: not in any process's argv, the log, the event log, an xattr or the hook's view.
final class SecretLeakTests: XCTestCase {
    var fixture: MountFixture!

    var plainMoto: Process?

    override func tearDownWithError() throws {
        fixture?.tearDown()
        fixture = nil
        plainMoto?.terminate()
        plainMoto?.waitUntilExit()
    }

    /// A moto_server of this test's own that accepts any signature (the shared one checks them,
    /// and refuses session tokens it did not issue), on a free port of 127.0.0.1.
    func startPlainMoto() throws -> TestServer {
        let shared = try TestServer.moto()
        let port = TestServer.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "if command -v moto_server >/dev/null; then exec moto_server -H 127.0.0.1 -p \(port); "
                             + "else exec python3 -m moto.server -H 127.0.0.1 -p \(port); fi"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        plainMoto = process
        let server = TestServer(name: "moto (no auth)", endpoint: "http://127.0.0.1:\(port)", accessKey: shared.accessKey,
                                secretKey: "secret-\(UUID().uuidString)", region: shared.region)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? server.client().listObjects(bucket: "probe", prefix: "")) != nil || (try? server.makeBucket()) != nil { return server }
            guard process.isRunning else { break }  // it could not start (the port was taken meanwhile)
            Thread.sleep(forTimeInterval: 0.2)
        }
        XCTFail("moto_server did not start on port \(port)\(process.isRunning ? "" : ": it exited with status \(process.terminationStatus)")")
        throw TestFailure("no server")
    }

    func testAFullSessionLeavesTheSecretAndTheTokenNowhere() throws {
        let server = try startPlainMoto()
        fixture = try MountFixture(server: server)
        let token = "session-token-\(UUID().uuidString)"
        fixture.sessionToken = token
        let hookOutput = fixture.root.appendingPathComponent("hook.txt")
        let hook = fixture.root.appendingPathComponent("hook.sh")
        try "#!/bin/sh\nenv >> \(hookOutput.path)\necho \"$@\" >> \(hookOutput.path)\n".write(to: hook, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(hook.path, 0o755), 0)
        try fixture.useConfig("[hooks]\non_event = \"\(hook.path)\"\n[sync]\nsettle_delay = 0\nretry_attempts = 1\n")
        try fixture.mount()

        // Uploads, a rename, a failure (a file the server refuses), the CLI.
        try Data("take one".utf8).write(to: URL(fileURLWithPath: fixture.path("take1.wav")))
        try fixture.waitForStatus("take1.wav", "synced")
        XCTAssertEqual(rename(fixture.path("take1.wav"), fixture.path("renamed.wav")), 0)
        try fixture.waitForStatus("renamed.wav", "synced")
        _ = try fixture.recsync(["status", "--json", fixture.mountpoint.path])
        _ = try fixture.recsync(["verify", "--deep", fixture.mountpoint.path])

        var places: [String: String] = [:]
        // Every process's argv while the daemon runs.
        for pid in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int(pid) != nil {
            if let argv = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") {
                places["argv of \(pid)"] = String(decoding: argv.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            }
        }
        // Every xattr of every file, as getfattr dumps them.
        places["xattrs"] = try Shell.run(["getfattr", "-R", "-d", "-m", "-", "--absolute-names", fixture.mountpoint.path]).stdout
        places["hook"] = (try? String(contentsOf: hookOutput, encoding: .utf8)) ?? ""
        try fixture.unmount()
        places["log"] = fixture.log
        places["events"] = (try? String(contentsOf: fixture.stateDir.appendingPathComponent("events.jsonl"), encoding: .utf8)) ?? ""
        for name in (try? FileManager.default.contentsOfDirectory(atPath: fixture.stateDir.path)) ?? [] where !name.hasPrefix("queue.sqlite3") {
            places["state file \(name)"] = String(decoding: FileManager.default.contents(atPath: fixture.stateDir.appendingPathComponent(name).path) ?? Data(),
                                                  as: UTF8.self)
        }
        XCTAssertFalse(places["log"]?.isEmpty ?? true)
        XCTAssertTrue(places["hook"]?.contains("RECSYNC_EVENT") ?? false, "the hook ran")
        for (place, text) in places {
            XCTAssertFalse(text.contains(server.secretKey), "the secret key is in \(place)")
            XCTAssertFalse(text.contains(token), "the session token is in \(place)")
        }
    }
}
