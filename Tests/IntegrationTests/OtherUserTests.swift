import Foundation
import XCTest

/// Other users on the same machine get nowhere: they cannot plant the folders recsync keeps its
/// queue and control socket in, nor answer the CLI in the daemon's place (docs/THREAT_MODEL.md).
final class OtherUserTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    func testAStateFolderOfAnotherUserIsRefusedAndAnOpenOneOfOursIsClosed() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try FileManager.default.createDirectory(at: fixture.stateDir, withIntermediateDirectories: true)
        XCTAssertEqual(chown(fixture.stateDir.path, 1000, 1000), 0)
        XCTAssertEqual(chmod(fixture.stateDir.path, 0o777), 0)
        let refused = try Shell.run(fixture.mountArguments, environment: fixture.environment)
        XCTAssertFalse(refused.succeeded)
        XCTAssertTrue(refused.stderr.contains("refusing the state folder") && refused.stderr.contains("belongs to uid 1000"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains(fixture.mountpoint.path), false)

        // Ours but open to everyone (an older recsync, or made by hand): it is closed to 0700.
        XCTAssertEqual(chown(fixture.stateDir.path, 0, 0), 0)
        try fixture.mount()
        var st = stat()
        XCTAssertEqual(lstat(fixture.stateDir.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
    }

    func testTheCLIRefusesAnAnswerFromAnotherUsersSocket() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        // uid 1000 runs the CLI with its runtime folder in a place uid 1001 got to first, and
        // uid 1001 listens where the CLI expects the daemon, ready to say all is well.
        let runtime = fixture.root.appendingPathComponent("runtime-1000")
        try FileManager.default.createDirectory(at: runtime.appendingPathComponent("recsync"), withIntermediateDirectories: true)
        XCTAssertEqual(chmod(fixture.root.path, 0o755), 0)
        _ = try Shell.run(["chmod", "-R", "0777", runtime.path])
        let escaped = String(fixture.mountpoint.path.dropFirst()).replacingOccurrences(of: "-", with: "\\x2d")
            .replacingOccurrences(of: "/", with: "-")
        let socketPath = runtime.appendingPathComponent("recsync/\(escaped).sock").path
        let impostor = Process()
        impostor.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        impostor.arguments = ["--reuid=1001", "--regid=1001", "--clear-groups", "/usr/bin/python3", "-c", """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(4)
            open(sys.argv[1] + ".ready", "w").close()
            while True:
                c, _ = s.accept(); c.recv(65536)
                c.sendall(b'{"ok":true,"files":[{"path":"take.wav","status":"synced","attempts":0}]}\\n'); c.close()
            """, socketPath]
        try impostor.run()
        defer { impostor.terminate(); impostor.waitUntilExit() }
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: socketPath + ".ready") && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }

        var environment = fixture.environment
        environment["XDG_RUNTIME_DIR"] = runtime.path
        let status = try Shell.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", MountFixture.binary,
                                    "status", fixture.mountpoint.path], environment: environment)
        XCTAssertFalse(status.succeeded, status.stdout)
        XCTAssertTrue(status.stderr.contains("comes from uid 1001, neither root nor this user"), status.stderr)
        XCTAssertFalse(status.stdout.contains("synced"), "the impostor's answer is never shown")
    }
}

extension OtherUserTests {
    func testTheMountIsPrivateToItsOwnerUnlessAllowOtherIsAsked() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        XCTAssertEqual(chmod(fixture.root.path, 0o755), 0)
        try fixture.mount()
        XCTAssertEqual(chmod(fixture.mountpoint.path, 0o777), 0)
        try Data("open to all".utf8).write(to: URL(fileURLWithPath: fixture.path("shared.txt")))
        XCTAssertEqual(chmod(fixture.path("shared.txt"), 0o666), 0)
        let asOther = ["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "cat", fixture.path("shared.txt")]
        let refused = try Shell.run(asOther)
        XCTAssertFalse(refused.succeeded, "another user cannot reach a private mount, whatever the modes say")
        XCTAssertTrue(refused.stderr.contains("Permission denied"), refused.stderr)
        try fixture.unmount()

        fixture.extraArguments.append("--allow-other")
        try fixture.mount()
        let allowed = try Shell.run(asOther)
        XCTAssertTrue(allowed.succeeded, allowed.stderr)
        XCTAssertEqual(allowed.stdout, "open to all")
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        XCTAssertTrue(mounts.split(separator: "\n").contains { $0.contains(fixture.mountpoint.path) && $0.contains("default_permissions") },
                      "the kernel still checks the mode bits")
    }
}

/// The daemon's own files: its log rotates by size, and is created 0600 without following links.
final class StateFileTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    func testTheLogRotatesBySizeAndStaysPrivate() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        var environment = fixture.environment
        environment["RECSYNC_LOG_LIMIT"] = "8192"
        let mounted = try Shell.run(fixture.mountArguments, environment: environment)
        XCTAssertTrue(mounted.succeeded, mounted.stderr)
        fixture.mounted = true
        // Debug logging of a few uploads writes well over 8 KiB.
        for index in 0..<20 { try Data("take \(index)".utf8).write(to: URL(fileURLWithPath: fixture.path("take-\(index).wav"))) }
        for index in 0..<20 { try fixture.waitForStatus("take-\(index).wav", "synced") }
        let log = fixture.stateDir.appendingPathComponent("recsync.log").path
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: log + ".1") && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: log + ".1"), "the log was rotated")
        try Data("after rotation".utf8).write(to: URL(fileURLWithPath: fixture.path("late.wav")))
        try fixture.waitForStatus("late.wav", "synced")
        XCTAssertTrue(fixture.log.contains("late.wav"), "the daemon writes on into the new log")
        let queue = fixture.stateDir.appendingPathComponent("queue.sqlite3").path
        for file in [log, log + ".1", queue, queue + "-wal", queue + "-shm", queue + ".lock"] where FileManager.default.fileExists(atPath: file) || file == queue {
            var st = stat()
            XCTAssertEqual(lstat(file, &st), 0)
            XCTAssertEqual(st.st_mode & 0o777, 0o600, file)
        }
    }
}

extension OtherUserTests {
    func testAnotherUserCannotSendTheDaemonRequests() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        let socket = "/run/recsync/" + String(fixture.mountpoint.path.dropFirst()).replacingOccurrences(of: "-", with: "\\x2d")
            .replacingOccurrences(of: "/", with: "-") + ".sock"
        XCTAssertTrue(FileManager.default.fileExists(atPath: socket), "the root daemon's control socket is \(socket)")
        let attempt = try Shell.run(["setpriv", "--reuid=1000", "--regid=1000", "--clear-groups", "/usr/bin/python3", "-c", """
            import socket, sys
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sys.argv[1]); s.sendall(b'{"op":"retry","allFailed":true}\\n'); print("answered:", s.recv(100))
            except OSError as e:
                print("refused:", e.strerror)
            """, socket])
        XCTAssertTrue(attempt.stdout.hasPrefix("refused: Permission denied"), attempt.stdout + attempt.stderr)
    }
}
