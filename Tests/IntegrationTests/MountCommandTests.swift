import Foundation
import XCTest

/// The command line: bad input gets one clear line and a non-zero exit, and nothing is mounted.
final class MountCommandTests: XCTestCase {
    var fixture: MountFixture!

    override func setUpWithError() throws {
        fixture = try MountFixture(server: try TestServer.moto())
    }

    override func tearDown() {
        fixture?.tearDown()
    }

    private func expectFailure(_ arguments: [String], environment: [String: String]? = nil, mentions: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try Shell.run(arguments, environment: environment ?? fixture.environment)
        XCTAssertNotEqual(result.status, 0, "expected failure: \(arguments)", file: file, line: line)
        // One line says what is wrong; a usage error (exit 64, from validate()) may add
        // ArgumentParser's usage line and where to find help.
        let lines = result.stderr.split(separator: "\n")
        let extra = lines.dropFirst().filter { !$0.hasPrefix("Usage: ") && !$0.hasPrefix("  See ") }
        XCTAssertTrue(!lines.isEmpty && extra.isEmpty, "expected one line of error, got:\n\(result.stderr)", file: file, line: line)
        XCTAssertTrue(result.stderr.contains(mentions), "error should mention \(mentions): \(result.stderr)", file: file, line: line)
        XCTAssertFalse(fixture.isMounted, "nothing may be mounted after a failed mount", file: file, line: line)
    }

    func testMissingBucket() throws {
        var arguments = fixture.mountArguments
        let index = arguments.firstIndex(of: "--bucket")!
        arguments.removeSubrange(index...(index + 1))
        try expectFailure(arguments, mentions: "--bucket")
    }

    func testMissingCredentials() throws {
        var env = fixture.environment
        env["AWS_ACCESS_KEY_ID"] = nil
        env["AWS_SECRET_ACCESS_KEY"] = nil
        env["HOME"] = fixture.root.path
        try expectFailure(fixture.mountArguments, environment: env, mentions: "AWS_ACCESS_KEY_ID")
    }

    func testMountpointThatDoesNotExist() throws {
        var arguments = fixture.mountArguments
        arguments[2] = fixture.root.appendingPathComponent("missing").path
        try expectFailure(arguments, mentions: "does not exist")
    }

    func testBadPathPattern() throws {
        try expectFailure(fixture.mountArguments + ["--path-pattern", "{user_id}/{year}/recording.wav"], mentions: "{filename}")
        try expectFailure(fixture.mountArguments + ["--path-pattern", "{user_id}/{nope}/{filename}"], mentions: "nope")
    }

    func testPlainHTTPToAnotherMachineNeedsToBeAskedForAndIsLogged() throws {
        // 192.0.2.1 is TEST-NET-1: never routed, so nothing is ever sent there.
        let offMachine = fixture.mountArguments + ["--endpoint", "http://192.0.2.1:9000"]
        try expectFailure(offMachine, mentions: "allow_plain_http")
        let allowed = try Shell.run(offMachine + ["--allow-plain-http"], environment: fixture.environment)
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        fixture.mounted = true
        XCTAssertTrue(fixture.log.contains("plain HTTP to another machine"), fixture.log)
    }

    func testACABundleThatCannotBeReadIsRefused() throws {
        var environment = fixture.environment
        environment["AWS_CA_BUNDLE"] = fixture.root.appendingPathComponent("no-such-ca.pem").path
        try expectFailure(fixture.mountArguments, environment: environment, mentions: "AWS_CA_BUNDLE")
    }

    func testBadConfigKey() throws {
        let config = fixture.root.appendingPathComponent("config.toml")
        try "bukcet = \"x\"\n".write(to: config, atomically: true, encoding: .utf8)
        try expectFailure(fixture.mountArguments + ["--config", config.path], mentions: "bukcet")
    }

    func testAlreadyMounted() throws {
        try fixture.mount()
        let result = try Shell.run(fixture.mountArguments, environment: fixture.environment)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("already mounted by recsync"), result.stderr)
        XCTAssertTrue(fixture.isMounted, "the first mount must be left alone")
    }

    func testAFolderThatIsAnotherFilesystemsMountpointIsMountedOver() throws {
        // A card or a second disk mounted at the folder first, as an fstab line before recsync's.
        let card = try Shell.run(["mount", "-t", "tmpfs", "-o", "size=16m", "card", fixture.mountpoint.path])
        XCTAssertTrue(card.succeeded, card.stderr)
        defer {
            try? fixture.unmount()  // recsync first: umount takes the top mount at a path
            _ = try? Shell.run(["umount", fixture.mountpoint.path])
        }
        try Data("on the card".utf8).write(to: URL(fileURLWithPath: fixture.path("before.txt")))
        try fixture.mount()
        XCTAssertEqual(MountTableProbe.types(at: fixture.mountpoint.path), ["tmpfs", "fuse.recsync"])
        XCTAssertEqual(try String(contentsOfFile: fixture.path("before.txt"), encoding: .utf8), "on the card")
        try Data("recorded".utf8).write(to: URL(fileURLWithPath: fixture.path("take.txt")))
        try fixture.waitForStatus("take.txt", "synced")
        try fixture.waitForStatus("before.txt", "synced")
        try fixture.unmount()
        XCTAssertEqual(MountTableProbe.types(at: fixture.mountpoint.path), ["tmpfs"], "the card stays mounted")
        XCTAssertEqual(try String(contentsOfFile: fixture.path("take.txt"), encoding: .utf8), "recorded",
                       "the recording is on the card itself")
    }

    func testCredentialsNeverAppearInArgvOrLog() throws {
        try fixture.mount()
        try Shell.sh("printf 'x' > \(Shell.quote(fixture.path("a.txt")))")
        try fixture.waitForStatus("a.txt", "synced")
        let pid = try XCTUnwrap(fixture.daemonPID, "the daemon writes its pid to \(fixture.runtimeFile)")
        let cmdline = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")), as: UTF8.self)
        XCTAssertFalse(cmdline.contains(fixture.server.secretKey))
        XCTAssertFalse(cmdline.contains(fixture.server.accessKey))
        XCTAssertFalse(fixture.log.contains(fixture.server.secretKey))
        let dump = try Shell.run(["getfattr", "-d", "-m", "-", "--absolute-names", fixture.path("a.txt")]).stdout
        XCTAssertFalse(dump.contains(fixture.server.secretKey))
    }

    func testCheckOnlyRefusesAFolderRecsyncServesAndChangesNothing() throws {
        try fixture.mount()
        let check = try Shell.run(fixture.mountArguments + ["--check-only"], environment: fixture.environment)
        XCTAssertEqual(check.status, 64, "as the mount itself would: \(check.stdout)\(check.stderr)")
        XCTAssertTrue(check.stderr.contains("is already mounted by recsync"), check.stderr)
        XCTAssertTrue(fixture.isMounted, "the live mount is left alone")
        try fixture.unmount()
        let fine = try Shell.run(fixture.mountArguments + ["--check-only"], environment: fixture.environment)
        XCTAssertTrue(fine.succeeded && fine.stdout.contains("can be mounted"), fine.stdout + fine.stderr)
        XCTAssertFalse(fixture.isMounted)
    }

    func testUnmountOfAFolderThatIsNotMounted() throws {
        let result = try Shell.run([MountFixture.binary, "unmount", fixture.mountpoint.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("not mounted"), result.stderr)
    }

    func testHelpNamesTheDocumentedOptions() throws {
        let help = try Shell.run([MountFixture.binary, "mount", "--help"]).stdout
        for option in ["--bucket", "--region", "--endpoint", "--path-style", "--path-pattern", "--user-id",
                       "--state-dir", "--config", "--foreground"] {
            XCTAssertTrue(help.contains(option), "mount --help lacks \(option)")
        }
    }
}

/// The filesystem types mounted at a path, bottom first, from /proc/self/mountinfo.
enum MountTableProbe {
    static func types(at path: String) -> [String] {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 4, fields[4] == path, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count else { return nil }
            return fields[dash + 1]
        }
    }
}
