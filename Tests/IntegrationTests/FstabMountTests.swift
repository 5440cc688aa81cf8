import Foundation
import XCTest

/// `mount -t fuse.recsync` and `/etc/fstab` lines, through the real `mount(8)`: the
/// `mount.fuse.recsync` helper (a link to the binary in /sbin, where mount looks for helpers), and
/// the command line `mount.fuse3` builds (`recsync SOURCE MOUNTPOINT -o OPTIONS`).
final class FstabMountTests: XCTestCase {
    static let helper = "/sbin/mount.fuse.recsync"
    var fixture: MountFixture!
    var placedHelper = false

    override func tearDown() {
        fixture?.tearDown()
        if placedHelper { unlink(Self.helper) }
    }

    /// Puts the helper where mount(8) finds it, for this test only. Another program's helper there
    /// is not replaced: the test says so and fails.
    func placeHelper() throws {
        var info = stat()
        if lstat(Self.helper, &info) == 0 {
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: Self.helper)) ?? "(not a link)"
            XCTAssertEqual(target, MountFixture.binary, "\(Self.helper) already exists; remove it (it is not this build's) to run this test")
            if target != MountFixture.binary { throw TestFailure("helper in the way") }
            return
        }
        XCTAssertEqual(symlink(MountFixture.binary, Self.helper), 0, "link \(Self.helper): \(String(cString: strerror(errno)))")
        placedHelper = true
    }

    /// An AWS shared credentials file, the way a boot-time mount is given its keys.
    func credentialsFile() throws -> String {
        let path = fixture.root.appendingPathComponent("credentials").path
        try "[recorders]\naws_access_key_id = \(fixture.server.accessKey)\naws_secret_access_key = \(fixture.server.secretKey)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o600), 0)
        return path
    }

    /// The environment mount(8) has at boot: none of the test's AWS variables.
    var bareEnvironment: [String: String] {
        ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": fixture.root.path]
    }

    func mountOptions(_ extra: [String]) throws -> String {
        (["_netdev", "nofail", "x-systemd.automount", "x-systemd.mount-timeout=30", "rw", "noexec",
          "endpoint=\(fixture.server.endpoint)", "region=\(fixture.server.region)", "state_dir=\(fixture.stateDir.path)",
          "aws_shared_credentials_file=\(try credentialsFile())", "aws_profile=recorders", "settle_delay=0"] + extra)
            .joined(separator: ",")
    }

    func mountEntry() -> String? {
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        return mounts.split(separator: "\n").map(String.init).first { $0.split(separator: " ").dropFirst().first.map(String.init) == fixture.mountpoint.path }
    }

    /// Writes a recording, waits for `synced` and returns the key.
    func recordAndSync(_ name: String) throws -> String {
        let data = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try data.write(to: URL(fileURLWithPath: fixture.path(name)))
        try fixture.waitForStatus(name, "synced")
        let key = try XCTUnwrap(fixture.attribute("user.sync.s3key", of: name))
        XCTAssertEqual(try fixture.object(key), data, "the object holds the recording")
        return key
    }

    func testMountTypeFuseRecsyncTakesEverySettingAsAnOptionAndIgnoresFstabOnes() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try placeHelper()
        let options = try mountOptions(["user_id=studio-b", "path_pattern={user_id}/takes/{filename}", "chunk_size=5MiB",
                                        "sync_interval=10m", "ignore_patterns=*.tmp:*.bak", "log_level=DEBUG"])
        let result = try Shell.run(["mount", "-t", "fuse.recsync", fixture.bucket, fixture.mountpoint.path, "-o", options],
                                   environment: bareEnvironment)
        XCTAssertTrue(result.succeeded, "mount -t fuse.recsync: \(result.stderr)\n\(fixture.log)")
        guard result.succeeded else { return }
        fixture.mounted = true
        let entry = try XCTUnwrap(mountEntry(), "the mount is in /proc/self/mounts")
        XCTAssertTrue(entry.contains(" fuse.recsync "), entry)
        XCTAssertTrue(entry.split(separator: " ")[3].split(separator: ",").contains("noexec"), "noexec reaches the kernel: \(entry)")

        XCTAssertEqual(try recordAndSync("take1.wav"), "studio-b/takes/take1.wav")
        try Data("scratch".utf8).write(to: URL(fileURLWithPath: fixture.path("edit.bak")))
        sleep(2)
        XCTAssertEqual(try fixture.status("edit.bak"), "local", "ignore_patterns from -o replaced the default list")

        // umount(8), as at shutdown: the daemon finishes and goes.
        let pid = try XCTUnwrap(fixture.daemonPID)
        let unmounted = try Shell.run(["umount", fixture.mountpoint.path])
        XCTAssertTrue(unmounted.succeeded, unmounted.stderr)
        let deadline = Date().addingTimeInterval(30)
        while MountFixture.isAlive(pid) && Date() < deadline { usleep(100_000) }
        XCTAssertFalse(MountFixture.isAlive(pid), "the daemon ends after umount")
        fixture.mounted = false
        XCTAssertNil(mountEntry())
    }

    func testAnFstabLineWithAConfigFileAsItsSource() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try placeHelper()
        let config = fixture.root.appendingPathComponent("studio.toml").path
        try "bucket = \"\(fixture.bucket)\"\nuser_id = \"from-config\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let fstab = fixture.root.appendingPathComponent("fstab").path
        let options = try mountOptions(["user_id=from-fstab"])
        try "# recordings\n\(config)  \(fixture.mountpoint.path)  fuse.recsync  \(options)  0  0\n"
            .write(toFile: fstab, atomically: true, encoding: .utf8)
        // `mount MOUNTPOINT` looks the line up, as `mount -a` and systemd's fstab generator do.
        let result = try Shell.run(["mount", "--fstab", fstab, fixture.mountpoint.path], environment: bareEnvironment)
        XCTAssertTrue(result.succeeded, "mount from fstab: \(result.stderr)\n\(fixture.log)")
        guard result.succeeded else { return }
        fixture.mounted = true
        let key = try recordAndSync("rehearsal.flac")
        XCTAssertTrue(key.hasPrefix("from-fstab/"), "an option wins over the config file: \(key)")
    }

    func testAQuotedValueKeepsItsCommasThroughMount8() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try placeHelper()
        // As in fstab (there with \040 for the spaces): the value in double quotes, commas and all.
        let options = try mountOptions(["upload_schedule=\"daily 00:00-24:00 off, unlimited\""])
        let result = try Shell.run(["mount", "-t", "fuse.recsync", fixture.bucket, fixture.mountpoint.path, "-o", options],
                                   environment: bareEnvironment)
        XCTAssertTrue(result.succeeded, "mount: \(result.stderr)\n\(fixture.log)")
        guard result.succeeded else { return }
        fixture.mounted = true
        try Data("x".utf8).write(to: URL(fileURLWithPath: fixture.path("held.wav")))
        sleep(2)
        XCTAssertEqual(try fixture.status("held.wav"), "pending")
        XCTAssertEqual(try fixture.attribute("user.sync.error", of: "held.wav"), "paused: outside upload window")
    }

    func testTheCommandLineMountFuse3Builds() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        // mount.fuse3 runs the type's name with the source, the folder and the options, after
        // turning `user` into `noexec,nosuid,nodev` and dropping `_netdev` and `nofail`.
        let options = "rw,noexec,nosuid,nodev," + (try mountOptions([]))
        let result = try Shell.run([MountFixture.binary, "s3://\(fixture.bucket)", fixture.mountpoint.path, "-o", options],
                                   environment: bareEnvironment)
        XCTAssertTrue(result.succeeded, "recsync SOURCE MOUNTPOINT -o: \(result.stderr)\n\(fixture.log)")
        guard result.succeeded else { return }
        fixture.mounted = true
        XCTAssertTrue(try XCTUnwrap(mountEntry()).split(separator: " ")[3].split(separator: ",").contains("nosuid"))
        _ = try recordAndSync("interview.wav")
    }

    func testBadOptionsFailBeforeAnythingIsMountedAndFakeMountsOnlyCheck() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try placeHelper()
        let cases: [(String, String)] = [
            ("chunk_size=1MiB", "below S3's minimum part size"),
            ("chunck_size=8MiB", "did you mean \"chunk_size\""),
            ("ro", "cannot be read-only"),
            ("secret_access_key=abc", "credentials are never taken as mount options"),
            ("max_concurrent_uploads=lots", "is not a whole number"),
        ]
        for (option, expected) in cases {
            let result = try Shell.run(["mount", "-t", "fuse.recsync", fixture.bucket, fixture.mountpoint.path,
                                        "-o", try mountOptions([option])], environment: bareEnvironment)
            XCTAssertEqual(result.status, 32, "mount(8)'s code for a failed mount: \(option): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(expected), "\(option): \(result.stderr)")
            XCTAssertNil(mountEntry(), "nothing is mounted after \(option)")
        }
        let fake = try Shell.run(["mount", "-f", "-t", "fuse.recsync", fixture.bucket, fixture.mountpoint.path,
                                  "-o", try mountOptions([])], environment: bareEnvironment)
        XCTAssertTrue(fake.succeeded, fake.stderr)
        XCTAssertTrue(fake.stdout.contains("can be mounted"), "the helper ran under -f and checked: \(fake.stdout)")
        XCTAssertNil(mountEntry(), "mount -f mounts nothing")
        let fakeBad = try Shell.run(["mount", "-f", "-t", "fuse.recsync", fixture.bucket, fixture.mountpoint.path,
                                     "-o", try mountOptions(["chunk_size=1MiB"])], environment: bareEnvironment)
        XCTAssertEqual(fakeBad.status, 32, "mount -f still checks the options: \(fakeBad.stderr)")
        // mount -s: an option recsync does not know is ignored instead of refused.
        let sloppy = try Shell.run(["mount", "-f", "-s", "-t", "fuse.recsync", fixture.bucket, fixture.mountpoint.path,
                                    "-o", try mountOptions(["no_such_option=1"])], environment: bareEnvironment)
        XCTAssertTrue(sloppy.succeeded, sloppy.stderr)
    }
}
