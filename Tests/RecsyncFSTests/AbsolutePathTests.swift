import Foundation
import RecsyncFS
import XCTest

/// How a mountpoint typed on the command line becomes the path every command agrees on.
final class AbsolutePathTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "recsync-abspath-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root + "/home/ana/Recordings", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/data/x", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/data/Rec", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/home/ana/link", withDestinationPath: root + "/data/x")
        try FileManager.default.createSymbolicLink(atPath: root + "/home/ana/rel", withDestinationPath: "Recordings")
        try FileManager.default.createSymbolicLink(atPath: root + "/home/ana/up", withDestinationPath: "../ana/Recordings/")
        try FileManager.default.createSymbolicLink(atPath: root + "/loop", withDestinationPath: root + "/loop")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func resolve(_ path: String, cwd: String? = nil) -> String {
        AbsolutePath.resolve(path, workingDirectory: cwd ?? root + "/home/ana", home: root + "/home/ana")
    }

    func testTildeRelativeDotsAndSlashes() {
        XCTAssertEqual(resolve("~"), root + "/home/ana")
        XCTAssertEqual(resolve("~/Recordings/"), root + "/home/ana/Recordings")
        XCTAssertEqual(resolve("Recordings"), root + "/home/ana/Recordings")
        XCTAssertEqual(resolve("./Recordings/./"), root + "/home/ana/Recordings")
        XCTAssertEqual(resolve(root + "//home///ana/../ana/Recordings"), root + "/home/ana/Recordings")
        XCTAssertEqual(resolve("/../../"), "/", "never above the root")
        XCTAssertEqual(resolve("~root/x"), "/root/x", "another user's home, from the password database")
        XCTAssertEqual(resolve("~no-such-user-recsync/x"), root + "/home/ana/~no-such-user-recsync/x", "an unknown user: a plain name")
    }

    func testSymlinksAreFollowedWhereTheKernelFollowsThem() {
        XCTAssertEqual(resolve("link"), root + "/data/x")
        XCTAssertEqual(resolve("link/../Rec"), root + "/data/Rec", "`..` after a symlink leaves its target, as the kernel does")
        XCTAssertEqual(resolve("rel"), root + "/home/ana/Recordings", "a relative target starts in the link's folder")
        XCTAssertEqual(resolve("up"), root + "/home/ana/Recordings")
        XCTAssertEqual(resolve("link/not/there/yet"), root + "/data/x/not/there/yet", "missing components are kept as written")
        let looped = resolve(root + "/loop/a")
        XCTAssertTrue(looped.hasSuffix("/loop/a"), "a loop ends after 40 links: \(looped)")
    }

    func testANameThatIsNotUTF8KeepsItsBytes() throws {
        let name = NameCoding.text([0x66, 0xFF, 0x2D, 0x61])  // "f", a byte that is not UTF-8, "-a"
        let folder = root + "/home/ana/" + name
        XCTAssertEqual(NameCoding.withCString(folder) { mkdir($0, 0o755) }, 0)
        XCTAssertEqual(NameCoding.withCString(root + "/home/ana/odd") { link in NameCoding.withCString(name) { symlink($0, link) } }, 0)
        XCTAssertEqual(resolve("odd"), folder)
        var st = stat()
        XCTAssertEqual(NameCoding.withCString(resolve("odd")) { stat($0, &st) }, 0, "the resolved path names the folder")
    }
}
