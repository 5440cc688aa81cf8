import Foundation
import XCTest

/// `recsync status`: a table with size and progress, icons unless asked not to, the mount's
/// summary, and `--watch`.
final class StatusCommandTests: ProxiedMountTestCase {
    func testTheTableShowsSizeProgressIconsAndTheMountSummary() throws {
        try mountThroughProxy(server: try TestServer.moto(), rules: [FaultRule(mode: .hang, path: "late\\.wav$")])
        try Data(repeating: 7, count: 2000).write(to: URL(fileURLWithPath: fixture.path("done.wav")))
        try fixture.waitForStatus("done.wav", "synced")
        try Data(repeating: 8, count: 3000).write(to: URL(fileURLWithPath: fixture.path("late.wav")))
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, try fixture.status("late.wav") != "syncing" { usleep(50_000) }

        var environment = fixture.environment
        environment["NO_COLOR"] = nil
        let table = try Shell.run([MountFixture.binary, "status", fixture.mountpoint.path], environment: environment)
        XCTAssertTrue(table.succeeded, table.stderr)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.contains("SIZE") == true && lines.first?.contains("PROGRESS") == true, table.stdout)
        let done = try XCTUnwrap(lines.first { $0.hasSuffix(" done.wav") }, table.stdout)
        XCTAssertTrue(done.hasPrefix("☁️ synced") && done.contains("2 KB"), done)
        let late = try XCTUnwrap(lines.first { $0.contains(" late.wav") }, table.stdout)
        XCTAssertTrue(late.hasPrefix("🔄 syncing") && late.contains("3 KB") && late.contains("[") && late.contains("%"), late)
        XCTAssertTrue(lines.contains { $0.hasPrefix("2 files in ") && $0.contains("1 syncing, 1 synced") }, table.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("mount: ") && $0.contains("network: ") }, table.stdout)

        environment["NO_COLOR"] = "1"
        let plain = try Shell.run([MountFixture.binary, "status", fixture.mountpoint.path], environment: environment)
        XCTAssertTrue(plain.stdout.split(separator: "\n").contains { $0.hasPrefix("synced ") && $0.hasSuffix(" done.wav") }, plain.stdout)
        let words = try Shell.run([MountFixture.binary, "status", "--no-icons", fixture.path("done.wav")])
        XCTAssertFalse(words.stdout.contains("☁️"), words.stdout)

        // --json: the documented shape (docs/OPERATIONS.md), one line per mount.
        let json = try Shell.run([MountFixture.binary, "status", "--json", fixture.mountpoint.path])
        XCTAssertEqual(json.stdout.split(separator: "\n").count, 1, json.stdout)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["mountpoint", "files", "summary"])
        XCTAssertEqual(object["mountpoint"] as? String, fixture.mountpoint.path)
        let files = try XCTUnwrap(object["files"] as? [[String: Any]])
        for file in files {
            XCTAssertEqual(Set(file.keys), ["path", "status", "size", "attempts", "priority", "retry_at", "error", "key", "progress", "note"])
        }
        let syncing = try XCTUnwrap(files.first { $0["path"] as? String == "late.wav" })
        XCTAssertEqual(syncing["status"] as? String, "syncing")
        XCTAssertEqual((syncing["progress"] as? [String: Any])?["total"] as? Int, 3000, "\(syncing)")
        let summary = try XCTUnwrap(object["summary"] as? [String: Any])
        XCTAssertEqual((summary["counts"] as? [String: Int])?["synced"], 1)
        XCTAssertNotNil(summary["network"] as? [String: Any])
        XCTAssertTrue(summary.keys.contains("bytes_waiting"))

        let both = try Shell.run([MountFixture.binary, "status", "--json", "--watch", fixture.mountpoint.path])
        XCTAssertEqual(both.status, 64, "a usage error: \(both.stderr)")
    }

    func testWatchPrintsOneLinePerChangeWhenNotOnATerminal() throws {
        try mountThroughProxy(server: try TestServer.moto())
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: MountFixture.binary)
        watcher.arguments = ["status", "--watch", "--no-icons", fixture.mountpoint.path]
        let output = Pipe()
        watcher.standardOutput = output
        try watcher.run()
        defer { if watcher.isRunning { watcher.terminate(); watcher.waitUntilExit() } }
        Thread.sleep(forTimeInterval: 1.5)
        try Data("take".utf8).write(to: URL(fileURLWithPath: fixture.path("take.wav")))
        try fixture.waitForStatus("take.wav", "synced")
        Thread.sleep(forTimeInterval: 2.5)
        watcher.terminate()
        watcher.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n").map(String.init).filter { $0.hasSuffix("  take.wav") }
        XCTAssertEqual(lines.last.map { $0.contains("  synced  ") }, true, text)
        XCTAssertEqual(lines.count, Set(lines.map { $0.split(separator: " ", maxSplits: 1).last! }).count,
                       "a line per change, never the same state twice: \(text)")
        XCTAssertFalse(text.contains("\u{1B}["), "no screen control codes when not on a terminal")
    }
}
