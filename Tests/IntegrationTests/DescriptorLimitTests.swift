import Foundation
import XCTest

/// Every name the kernel looked up holds a descriptor in the daemon until the kernel forgets it.
/// A `find` over more files than the daemon may open must still work, and must not leave the
/// uploader without descriptors: the daemon asks the kernel to forget the least used names.
final class DescriptorLimitTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    func testFindOverMoreFilesThanTheDescriptorLimitWorksAndUploadsGoOn() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.useConfig("[sync]\nsettle_delay = 0\nauto_sync = false\n")
        // 6,000 files in 20 folders, made before the mount (the scan queues them; auto_sync off
        // keeps them from uploading, so the test is about lookups).
        for folder in 0..<20 {
            let path = fixture.path(String(format: "session-%02d", folder))
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for index in 0..<300 {
                FileManager.default.createFile(atPath: path + String(format: "/take-%03d.raw", index), contents: Data([UInt8(index & 0xFF)]))
            }
        }
        // The daemon may open 2,048 descriptors at most.
        fixture.launcher = ["prlimit", "--nofile=2048:2048", "--"]
        try fixture.mount()
        let pid = try XCTUnwrap(fixture.daemonPID)

        let find = try Shell.run(["find", fixture.mountpoint.path, "-type", "f", "-name", "*.raw", "-printf", "%s\\n"])
        XCTAssertTrue(find.succeeded, "find saw an error: \(find.stderr.prefix(2000))")
        XCTAssertEqual(find.stdout.split(separator: "\n").count, 6_000)
        let again = try Shell.run(["find", fixture.mountpoint.path, "-type", "f", "-newer", "/", "-name", "*.raw"])
        XCTAssertTrue(again.succeeded, again.stderr.prefix(2000).description)

        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        XCTAssertLessThan(open, 2_048, "the daemon stays below its descriptor limit")
        // The uploader still gets descriptors: a file asked for now is uploaded.
        try Shell.sh("printf 'after the walk' > \(Shell.quote(fixture.path("after.txt")))")
        let now = try fixture.recsync(["sync-now", "--wait", fixture.path("after.txt")])
        XCTAssertTrue(now.succeeded, now.stderr)
        XCTAssertEqual(try fixture.status("after.txt"), "synced")
        print("DescriptorLimitTests: 6000 files walked twice, \(open) descriptors open (limit 2048)")
    }
}
