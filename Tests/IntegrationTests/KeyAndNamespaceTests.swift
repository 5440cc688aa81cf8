import Foundation
import XCTest

/// Keys from path patterns, collisions, subfolders, renames, deletes and extended attributes.
final class KeyAndNamespaceTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    func testPathPatternWithFoldersUserAndEveryOccurrence() throws {
        fixture = try MountFixture(server: try TestServer.moto(),
                                   arguments: ["--path-pattern", "{user_id}/{path}/{year}-{month}/{user_id}-{filename}", "--user-id", "ana"])
        try fixture.mount()
        try FileManager.default.createDirectory(atPath: fixture.path("interviews/day1"), withIntermediateDirectories: true)
        try Shell.run(["sox", "-n", fixture.path("interviews/day1/take 1.wav"), "synth", "0.2", "sine", "300"])
        try Shell.run(["sox", "-n", fixture.path("root.wav"), "synth", "0.2", "sine", "300"])
        try fixture.waitForStatus("interviews/day1/take 1.wav", "synced")
        try fixture.waitForStatus("root.wav", "synced")
        let month = MountFixture.yearMonth.replacingOccurrences(of: "/", with: "-")
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "interviews/day1/take 1.wav"),
                       "ana/interviews/day1/\(month)/ana-take 1.wav")
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "root.wav"), "ana/\(month)/ana-root.wav",
                       "an empty {path} must not leave an empty key segment")
        XCTAssertEqual(try fixture.keys(), ["ana/\(month)/ana-root.wav", "ana/interviews/day1/\(month)/ana-take 1.wav"])
    }

    func testSameNameInTwoFoldersNeverSharesAKey() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        for folder in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: fixture.path(folder), withIntermediateDirectories: true)
            try Shell.sh("printf 'take from \(folder)' > \(Shell.quote(fixture.path("\(folder)/take.wav")))")
            try fixture.waitForStatus("\(folder)/take.wav", "synced")
        }
        let base = "anonymous/\(MountFixture.yearMonth)/"
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "a/take.wav"), base + "take.wav")
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "b/take.wav"), base + "take-2.wav")
        XCTAssertEqual(String(decoding: try fixture.object(base + "take.wav"), as: UTF8.self), "take from a")
        XCTAssertEqual(String(decoding: try fixture.object(base + "take-2.wav"), as: UTF8.self), "take from b")
    }

    func testRenameUploadsUnderTheNewNameAndDeleteKeepsTheBackup() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        try Shell.sh("printf 'hello' > \(Shell.quote(fixture.path("draft.txt")))")
        try fixture.waitForStatus("draft.txt", "synced")
        try Shell.run(["mv", fixture.path("draft.txt"), fixture.path("final.txt")])
        try fixture.waitForStatus("final.txt", "synced")
        let base = "anonymous/\(MountFixture.yearMonth)/"
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "final.txt"), base + "final.txt")
        XCTAssertEqual(try fixture.object(base + "final.txt"), Data("hello".utf8))

        try FileManager.default.removeItem(atPath: fixture.path("final.txt"))
        XCTAssertNotNil(try fixture.head(base + "final.txt"), "deleting a local file keeps its object (the bucket is a backup)")
        // A new file with the deleted one's name must not overwrite that backup.
        try Shell.sh("printf 'new' > \(Shell.quote(fixture.path("final.txt")))")
        try fixture.waitForStatus("final.txt", "synced")
        XCTAssertEqual(try fixture.attribute("user.sync.s3key", of: "final.txt"), base + "final-2.txt")
        XCTAssertEqual(try fixture.object(base + "final.txt"), Data("hello".utf8))
    }

    func testExtendedAttributeRules() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        try Shell.sh("printf 'x' > \(Shell.quote(fixture.path("x.txt")))")
        try fixture.waitForStatus("x.txt", "synced")
        let denied = try Shell.run(["setfattr", "-n", "user.sync.status", "-v", "synced", fixture.path("x.txt")])
        XCTAssertFalse(denied.succeeded)
        XCTAssertTrue(denied.stderr.contains("Operation not permitted"), denied.stderr)
        let unknown = try Shell.run(["getfattr", "-n", "user.sync.nonsense", fixture.path("x.txt")])
        XCTAssertFalse(unknown.succeeded)
        XCTAssertTrue(unknown.stderr.contains("No such attribute"), unknown.stderr)
        // Other user.* attributes live on the backing file.
        XCTAssertTrue(try Shell.run(["setfattr", "-n", "user.comment", "-v", "kitchen mic", fixture.path("x.txt")]).succeeded)
        XCTAssertEqual(try fixture.attribute("user.comment", of: "x.txt"), "kitchen mic")
        try fixture.unmount()
        XCTAssertEqual(try Shell.run(["getfattr", "--only-values", "-n", "user.comment", fixture.path("x.txt")]).stdout, "kitchen mic")
    }
}
