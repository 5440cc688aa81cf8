import Foundation
import XCTest

/// Metrics from a real mount: scraped over HTTP while a recording uploads, and written to a
/// textfile for node_exporter.
final class MetricsTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    /// What curl fetches from the endpoint, as a scraper would.
    func scrape(_ port: Int) throws -> String {
        let result = try Shell.run(["curl", "-sS", "--fail", "--max-time", "5", "http://127.0.0.1:\(port)/metrics"])
        guard result.succeeded else { throw TestFailure("scrape failed: \(result.stderr)") }
        return result.stdout
    }

    /// The sum over every priority of the files in `status`.
    func queued(_ text: String, _ status: String) -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix("recsync_queue_files{status=\"\(status)\",") }
            .compactMap { Double($0.split(separator: " ").last!) }.reduce(0, +)
    }

    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    func testScrapedDuringARealUploadAndWrittenForTheTextfileCollector() throws {
        let port = TestServer.freePort()
        fixture = try MountFixture(server: try TestServer.moto())
        let textfile = fixture.root.appendingPathComponent("recsync.prom").path
        // 64 KiB/s: a 640 KiB recording takes about 10 s, long enough to watch it in flight.
        fixture.extraArguments = ["--metrics-address", "127.0.0.1:\(port)", "-o", "metrics_file=\(textfile),max_upload_rate=64KiB,settle_delay=0"]
        try fixture.mount()
        let before = try scrape(port)
        XCTAssertEqual(value(before, #"recsync_upload_attempts_total{outcome="synced"}"#), 0)
        XCTAssertEqual(value(before, "recsync_network_online"), 1)

        let data = Data((0..<(640 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try data.write(to: URL(fileURLWithPath: fixture.path("interview.wav")))
        var during: String?
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let text = try scrape(port)
            if value(text, "recsync_uploads_in_flight") == 1 {
                during = text
                break
            }
            usleep(100_000)
        }
        let inFlight = try XCTUnwrap(during, "a scrape saw the upload in flight")
        XCTAssertEqual(queued(inFlight, "syncing"), 1, inFlight)
        XCTAssertEqual(value(inFlight, "recsync_bytes_waiting"), Double(data.count))
        XCTAssertGreaterThanOrEqual(value(inFlight, "recsync_oldest_waiting_seconds") ?? -1, 0)

        try fixture.waitForStatus("interview.wav", "synced", timeout: 40)
        let after = try scrape(port)
        XCTAssertEqual(value(after, #"recsync_upload_attempts_total{outcome="synced"}"#), 1, after)
        XCTAssertEqual(value(after, "recsync_synced_files_total"), 1)
        XCTAssertGreaterThanOrEqual(value(after, "recsync_upload_bytes_total") ?? 0, Double(data.count))
        XCTAssertEqual(value(after, "recsync_upload_duration_seconds_count"), 1)
        XCTAssertEqual(value(after, #"recsync_upload_duration_seconds_bucket{le="2.5"}"#), 0, "the capped upload took longer than 2.5 s")
        XCTAssertEqual(queued(after, "synced"), 1)
        XCTAssertEqual(value(after, "recsync_bytes_waiting"), 0)
        XCTAssertFalse(after.contains("interview"), "no file name in the metrics")

        // The textfile: whole, and gone once the mount stops.
        let written = Date().addingTimeInterval(20)
        var file = ""
        while Date() < written {
            file = (try? String(contentsOfFile: textfile, encoding: .utf8)) ?? ""
            if value(file, "recsync_synced_files_total") == 1 { break }
            sleep(1)
        }
        XCTAssertEqual(value(file, "recsync_synced_files_total"), 1, file)
        XCTAssertTrue(file.contains("# HELP recsync_queue_files "), file)
        try fixture.unmount()
        XCTAssertFalse(FileManager.default.fileExists(atPath: textfile), "the file is removed when the mount stops")
        XCTAssertThrowsError(try scrape(port), "the endpoint is closed with the mount")
    }

    func testAPortInUseFailsTheMountWithTheReason() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        // The S3 server's own port is taken for sure.
        let taken = try XCTUnwrap(URL(string: fixture.server.endpoint)?.port)
        fixture.extraArguments = ["--metrics-address", "127.0.0.1:\(taken)"]
        let result = try Shell.run(fixture.mountArguments, environment: fixture.environment)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("cannot listen on 127.0.0.1:\(taken) for metrics"), result.stderr)
        XCTAssertFalse(fixture.isMounted)
    }
}
