import Foundation
import XCTest

/// Under a `Type=notify` unit, `recsync mount --foreground` speaks sd_notify on NOTIFY_SOCKET:
/// READY=1 only once the mount is live, STATUS= with the queue's summary as it changes, and
/// STOPPING=1 when it is told to stop.
final class SystemdNotifyTests: XCTestCase {
    var fixture: MountFixture!
    var socketFd: Int32 = -1

    override func tearDown() {
        if socketFd >= 0 { close(socketFd) }
        fixture?.tearDown()
    }

    /// A datagram socket at `path`, as systemd's notify socket is.
    func bindNotifySocket(_ path: String) throws {
        socketFd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        XCTAssertGreaterThanOrEqual(socketFd, 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0, "bind \(path)")
    }

    /// The next message, or nil after `timeout`.
    func receive(timeout: TimeInterval) -> String? {
        var poller = pollfd(fd: socketFd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(socketFd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }

    /// Messages until one satisfies `done`, or nil after `timeout`.
    func receive(until done: (String) -> Bool, timeout: TimeInterval) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let message = receive(timeout: deadline.timeIntervalSinceNow), done(message) { return message }
        }
        return nil
    }

    func testReadyOnlyOnceLiveThenStatusThenStopping() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        let socketPath = fixture.root.appendingPathComponent("notify.sock").path
        try bindNotifySocket(socketPath)
        var environment = fixture.environment
        environment["NOTIFY_SOCKET"] = socketPath
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: MountFixture.binary)
        daemon.arguments = Array(fixture.mountArguments.dropFirst()) + ["--foreground"]
        daemon.environment = environment
        // Standard error as the journal's stream: systemd names it in JOURNAL_STREAM.
        let journalPath = fixture.root.appendingPathComponent("journal.txt").path
        FileManager.default.createFile(atPath: journalPath, contents: nil)
        let journal = try FileHandle(forWritingTo: URL(fileURLWithPath: journalPath))
        var st = stat()
        XCTAssertEqual(fstat(journal.fileDescriptor, &st), 0)
        daemon.environment?["JOURNAL_STREAM"] = "\(st.st_dev):\(st.st_ino)"
        daemon.standardError = journal
        try daemon.run()
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL); daemon.waitUntilExit() } }

        let ready = try XCTUnwrap(receive(timeout: 30), "READY=1 within 30 s")
        XCTAssertTrue(fixture.isMounted, "READY=1 comes only once the mount is live")
        let lines = ready.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("READY=1"), ready)
        XCTAssertTrue(lines.contains("MAINPID=\(daemon.processIdentifier)"), ready)
        XCTAssertTrue(lines.contains { $0.hasPrefix("STATUS=") }, ready)

        try Data("take".utf8).write(to: URL(fileURLWithPath: fixture.path("take.txt")))
        let synced = receive(until: { $0.hasPrefix("STATUS=") && $0.contains("1 synced") }, timeout: 30)
        XCTAssertNotNil(synced, "STATUS= follows the queue")
        XCTAssertNil(synced.flatMap { $0.contains(fixture.server.secretKey) ? $0 : nil }, "no secret in a status")

        kill(daemon.processIdentifier, SIGTERM)
        let stopping = receive(until: { $0.split(separator: "\n").contains("STOPPING=1") }, timeout: 30)
        XCTAssertNotNil(stopping, "STOPPING=1 when the stop begins")
        daemon.waitUntilExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
        XCTAssertFalse(fixture.isMounted)

        // Journal lines: a priority prefix, no timestamp of their own, one upload attempt line.
        let logged = try String(contentsOfFile: journalPath, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertFalse(logged.isEmpty)
        for line in logged {
            XCTAssertNotNil(line.range(of: #"^<[2-7]>\S"#, options: .regularExpression), "a journal line: \(line)")
            XCTAssertNil(line.range(of: #"20[0-9]{2}-[0-9]{2}-[0-9]{2}T"#, options: .regularExpression), "no timestamp: \(line)")
            XCTAssertFalse(line.contains(fixture.server.secretKey))
        }
        let attempts = logged.filter { $0.hasPrefix("<6>upload attempt ") }
        XCTAssertEqual(attempts.count, 1, logged.joined(separator: "\n"))
        for field in ["attempt=1", "bytes=4", "outcome=synced", "path=take.txt", "key=", "duration_ms="] {
            XCTAssertTrue(attempts.first?.contains(field) == true, "\(field) in \(attempts)")
        }
    }
}
