import Foundation
import XCTest

/// `upload_schedule` on a real mount: outside the window files wait with the reason, sync-now
/// still uploads, and at the boundary the rest go by themselves (the daemon's timer, not a
/// poll: sync_interval is an hour here).
final class UploadScheduleMountTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    func testOutsideTheWindowFilesWaitSyncNowUploadsAndTheBoundaryResumes() throws {
        // Closed from this minute until the next minute boundary at least 20 s away.
        let now = Date()
        var opens = Date(timeIntervalSinceReferenceDate: (now.timeIntervalSinceReferenceDate / 60).rounded(.down) * 60 + 60)
        if opens.timeIntervalSince(now) < 20 { opens.addTimeInterval(60) }
        let calendar = Calendar.current
        let from = calendar.dateComponents([.hour, .minute], from: now)
        let to = calendar.dateComponents([.hour, .minute], from: opens)
        let schedule = String(format: "%02d:%02d-%02d:%02d off, unlimited", from.hour!, from.minute!, to.hour!, to.minute!)

        fixture = try MountFixture(server: try TestServer.moto(),
                                   arguments: ["-o", "upload_schedule=\(schedule.replacingOccurrences(of: ",", with: "\\,")),sync_interval=1h,settle_delay=0"])
        try fixture.mount()
        let data = Data(repeating: 0x5A, count: 300_000)
        try data.write(to: URL(fileURLWithPath: fixture.path("waits.wav")))
        try data.write(to: URL(fileURLWithPath: fixture.path("asked.wav")))
        sleep(2)
        XCTAssertEqual(try fixture.status("waits.wav"), "pending", schedule)
        XCTAssertEqual(try fixture.attribute("user.sync.error", of: "waits.wav"), "paused: outside upload window")
        let status = try fixture.recsync(["status", fixture.mountpoint.path])
        XCTAssertTrue(status.stdout.contains("outside upload window until"), status.stdout)

        let asked = try fixture.recsync(["sync-now", fixture.path("asked.wav")])
        XCTAssertTrue(asked.succeeded, asked.stderr)
        try fixture.waitForStatus("asked.wav", "synced")
        XCTAssertEqual(try fixture.status("waits.wav"), "pending", "only what was asked for went")

        XCTAssertLessThan(Date(), opens, "the window was still closed while this was checked")
        try fixture.waitForStatus("waits.wav", "synced", timeout: opens.timeIntervalSinceNow + 20)
        XCTAssertGreaterThanOrEqual(Date(), opens, "not before the window opened")
        XCTAssertTrue(fixture.log.contains("upload window: unlimited"), fixture.log.suffix(2000).description)
    }

    func testABadTimetableIsRefusedAtMountWithItsColumn() throws {
        fixture = try MountFixture(server: try TestServer.moto(), arguments: ["-o", "upload_schedule=Mon-Fry 08:00-18:00 1M"])
        let result = try Shell.run(fixture.mountArguments, environment: fixture.environment)
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("-o upload_schedule=Mon-Fry 08:00-18:00 1M: at column 5 of the timetable: \"fry\" is not a day"),
                      result.stderr)
        XCTAssertFalse(fixture.isMounted)
    }
}
