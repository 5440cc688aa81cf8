import Foundation
import XCTest

/// FIFOs, sockets and device nodes live in the mount as on the disk below it, are never uploaded,
/// and `recsync status` lists them as local with the reason (docs/SEMANTICS.md, "Special files").
final class SpecialFileTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    func testSpecialFilesStayLocalAndStatusSaysWhy() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        let made = try Shell.run(["python3", "-c", """
            import os, socket, stat, sys
            d = sys.argv[1]
            os.umask(0)
            os.mkfifo(d + "/pipe", 0o620)
            s = socket.socket(socket.AF_UNIX); s.bind(d + "/sock"); s.close()
            os.mknod(d + "/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
            os.symlink("take.wav", d + "/link")
            with open(d + "/take.wav", "wb") as f: f.write(b"RIFF take")
            fd = os.open(d + "/null", os.O_WRONLY); os.write(fd, b"x"); os.close(fd)
            print(oct(stat.S_IMODE(os.lstat(d + "/pipe").st_mode)))
            """, fixture.mountpoint.path])
        XCTAssertTrue(made.succeeded, made.stderr)
        XCTAssertEqual(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0o620", "the mode asked for, not the daemon's umask")
        try fixture.waitForStatus("take.wav", "synced")

        let status = try fixture.recsync(["status", "--json", fixture.mountpoint.path])
        XCTAssertTrue(status.succeeded, status.stderr)
        let response = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let files = try XCTUnwrap(response["files"] as? [[String: Any]])
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0["path"] as? String ?? "", $0) })
        XCTAssertEqual(Set(byPath.keys), ["pipe", "sock", "null", "link", "take.wav"])
        for (name, kind) in [("pipe", "FIFO"), ("sock", "socket"), ("null", "character device"), ("link", "symbolic link")] {
            XCTAssertEqual(byPath[name]?["status"] as? String, "local", name)
            let note = try XCTUnwrap(byPath[name]?["note"] as? String, name)
            XCTAssertTrue(note.hasPrefix("\(kind): never uploaded"), note)
        }
        XCTAssertEqual(byPath["take.wav"]?["status"] as? String, "synced")
        let table = try fixture.recsync(["status", fixture.mountpoint.path])
        XCTAssertTrue(table.stdout.contains("pipe  (FIFO: never uploaded; a special file has no content to upload"), table.stdout)

        // A restart scans the folder: the special files are still not queued.
        try fixture.unmount()
        try fixture.mount()
        try fixture.waitForStatus("take.wav", "synced")
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(try fixture.keys(), ["anonymous/\(MountFixture.yearMonth)/take.wav"], "only the regular file is in the bucket")
    }
}
