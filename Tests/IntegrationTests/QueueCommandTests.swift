import Foundation
import XCTest

/// `recsync queue` lists what is left to upload in the order the uploader takes it.
final class QueueCommandTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    func testTheQueueIsListedInUploadOrder() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.useConfig("[sync]\nauto_sync = false\nsettle_delay = 0\n")
        // Found by the start-up scan: NORMAL priority, queued first.
        try FileManager.default.createDirectory(at: fixture.mountpoint, withIntermediateDirectories: true)
        try Data("older".utf8).write(to: URL(fileURLWithPath: fixture.path("old.wav")))
        try fixture.mount()
        try fixture.waitForStatus("old.wav", "pending")
        // Closed in the mount: HIGH priority, so it goes first.
        try Data("newer".utf8).write(to: URL(fileURLWithPath: fixture.path("new.wav")))
        try fixture.waitForStatus("new.wav", "pending")

        let json = try Shell.run([MountFixture.binary, "queue", fixture.mountpoint.path, "--json"])
        XCTAssertTrue(json.succeeded, json.stderr)
        struct Listing: Decodable {
            struct File: Decodable { let path: String; let status: String; let priority: Int? }
            struct Summary: Decodable { let paused: String? }
            let files: [File]
            let summary: Summary?
        }
        let listing = try JSONDecoder().decode(Listing.self, from: Data(json.stdout.utf8))
        XCTAssertEqual(listing.files.map(\.path), ["new.wav", "old.wav"])
        XCTAssertEqual(listing.files.map(\.priority), [8, 5])
        XCTAssertEqual(listing.summary?.paused, "auto sync is off")

        let table = try Shell.run([MountFixture.binary, "queue", fixture.mountpoint.path])
        XCTAssertTrue(table.succeeded, table.stderr)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("#") == true, table.stdout)
        XCTAssertEqual(lines.count, 4, table.stdout)
        XCTAssertTrue(lines.count == 4 && lines[1].hasPrefix("1 ") && lines[1].contains(" new.wav")
                      && lines[2].hasPrefix("2 ") && lines[2].contains(" old.wav"), table.stdout)
        XCTAssertTrue(lines.last?.contains("2 in the queue") == true && lines.last?.contains("uploads paused (auto sync is off)") == true,
                      table.stdout)

        let outside = try Shell.run([MountFixture.binary, "queue", fixture.root.path])
        XCTAssertEqual(outside.status, 64)
        XCTAssertTrue(outside.stderr.contains("is not inside a recsync mount"), outside.stderr)
    }
}
