import Foundation
import Logging
import XCTest
@testable import RecsyncCore
@testable import RecsyncMetrics
import RecsyncStore

final class RecsyncMetricsTests: XCTestCase {
    func snapshot(paused: PauseReason? = nil) -> MetricsSnapshot {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var network = NetworkState.assumedOnline
        network.metered = true
        return MetricsSnapshot(queue: QueueShape(counts: [.pending: [5: 3, 10: 1], .synced: [5: 7]], oldestWaitingSince: now.addingTimeInterval(-90)),
                               bytesWaiting: 12_345, uploadsInFlight: 2, network: network, paused: paused, now: now)
    }

    /// The value of the series `name{labels}` in exposition text.
    func value(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    func testGaugesFollowTheSnapshotAndEverySeriesExistsFromTheStart() {
        let metrics = RecsyncMetrics(version: "9.9.9")
        let text = metrics.render(snapshot(paused: .metered))
        XCTAssertEqual(value(text, #"recsync_queue_files{status="pending",priority="normal"}"#), 3)
        XCTAssertEqual(value(text, #"recsync_queue_files{status="pending",priority="critical"}"#), 1)
        XCTAssertEqual(value(text, #"recsync_queue_files{status="failed",priority="normal"}"#), 0, "zero series are there for alerts")
        XCTAssertEqual(value(text, "recsync_bytes_waiting"), 12_345)
        XCTAssertEqual(value(text, "recsync_oldest_waiting_seconds"), 90)
        XCTAssertEqual(value(text, "recsync_uploads_in_flight"), 2)
        XCTAssertEqual(value(text, "recsync_network_metered"), 1)
        XCTAssertEqual(value(text, "recsync_uploads_paused"), 1)
        XCTAssertEqual(value(text, #"recsync_paused{reason="metered connection"}"#), 1)
        XCTAssertEqual(value(text, #"recsync_paused{reason="outside upload window"}"#), 0)
        XCTAssertEqual(value(text, #"recsync_build_info{version="9.9.9"}"#), 1)
        XCTAssertEqual(value(text, #"recsync_upload_attempts_total{outcome="synced"}"#), 0)
        XCTAssertTrue(text.contains("# HELP recsync_upload_duration_seconds "), text)
        let after = metrics.render(snapshot(paused: nil))
        XCTAssertEqual(value(after, #"recsync_paused{reason="metered connection"}"#), 0)
        XCTAssertEqual(value(after, "recsync_uploads_paused"), 0)
    }

    func testAttemptsCountBytesOutcomesFailuresAndDurations() {
        let metrics = RecsyncMetrics(version: "1")
        metrics.record(UploadAttemptReport(path: "a.wav", key: "k/a.wav", attempt: 1, bytesSent: 1000, duration: .seconds(3),
                                           outcome: "pending", failureClass: "transient"))
        metrics.record(UploadAttemptReport(path: "a.wav", key: "k/a.wav", attempt: 2, bytesSent: 5000, duration: .milliseconds(400),
                                           outcome: "synced", failureClass: nil))
        metrics.record(UploadAttemptReport(path: "b.wav", key: "k/b.wav", attempt: 1, bytesSent: 0, duration: .milliseconds(10),
                                           outcome: "queued again", failureClass: "local_change"))
        let text = metrics.render(snapshot())
        XCTAssertEqual(value(text, "recsync_upload_bytes_total"), 6000)
        XCTAssertEqual(value(text, "recsync_synced_files_total"), 1)
        XCTAssertEqual(value(text, #"recsync_upload_attempts_total{outcome="pending"}"#), 1)
        XCTAssertEqual(value(text, #"recsync_upload_attempts_total{outcome="requeued"}"#), 1)
        XCTAssertEqual(value(text, #"recsync_upload_failures_total{class="transient"}"#), 1)
        XCTAssertEqual(value(text, #"recsync_upload_failures_total{class="local_change"}"#), 1)
        XCTAssertEqual(value(text, "recsync_upload_duration_seconds_count"), 3)
        XCTAssertEqual(value(text, #"recsync_upload_duration_seconds_bucket{le="0.5"}"#), 2)
        XCTAssertFalse(text.contains("a.wav"), "no path or key in any label")
    }

    func testEveryMetricIsDocumented() throws {
        let metrics = RecsyncMetrics(version: "1")
        let text = metrics.render(snapshot())
        let names = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        XCTAssertGreaterThan(names.count, 10)
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/METRICS.md")
        let document = try String(contentsOf: url, encoding: .utf8)
        for name in names.sorted() {
            XCTAssertTrue(document.contains("`\(name)`"), "docs/METRICS.md describes \(name)")
        }
    }

    func testAddressesAndTheEndpointAnswer() throws {
        XCTAssertNil(MetricsAddress.problem("127.0.0.1:9464"))
        XCTAssertNil(MetricsAddress.problem("[::1]:9464"))
        XCTAssertTrue(MetricsAddress.problem("9464")?.contains("has no port") ?? false)
        XCTAssertTrue(MetricsAddress.problem("127.0.0.1:99999")?.contains("no valid port") ?? false)
        XCTAssertTrue(MetricsAddress.problem(":9464")?.contains("has no host") ?? false)
        XCTAssertThrowsError(try MetricsServer(address: "example.com:9464", logger: Logger(label: "t"), render: { "" })) { error in
            XCTAssertTrue("\(error)".contains("is not an IP address"), "\(error)")
        }
        let server = try MetricsServer(address: "127.0.0.1:0", logger: Logger(label: "t"), render: { "recsync_up 1\n" })
        server.start()
        defer { server.stop() }
        XCTAssertThrowsError(try MetricsServer(address: server.boundAddress, logger: Logger(label: "t"), render: { "" })) { error in
            XCTAssertTrue("\(error)".contains("choose a free port"), "\(error)")
        }
        let port = UInt16(server.boundAddress.split(separator: ":").last!)!
        let answer = try get(port: port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), answer)
        XCTAssertTrue(answer.contains("Content-Type: text/plain; version=0.0.4"), answer)
        XCTAssertTrue(answer.hasSuffix("\r\n\r\nrecsync_up 1\n"), answer)
        XCTAssertTrue(try get(port: port, "GET /other HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404 "))
        XCTAssertTrue(try get(port: port, "POST /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 405 "))
        XCTAssertTrue(try get(port: port, "GARBAGE\r\n\r\n").hasPrefix("HTTP/1.1 400 "))

        // A client that connects and trickles holds up nobody else, and is cut off at the deadline.
        let slow = connectLocally(port: port)
        defer { close(slow) }
        _ = send(slow, "G", 1, 0)
        let started = Date()
        XCTAssertTrue(try get(port: port, "GET /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 200 "))
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "the scrape did not wait for the slow client")
        // With one of its two slots held, a scraper that connects again the moment its last
        // answer ends is served every time: a finished connection frees its slot before it closes.
        for attempt in 0..<100 {
            let answer = try get(port: port, "GET /metrics HTTP/1.1\r\n\r\n")
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200 "), "scrape \(attempt) was refused: \(answer.debugDescription)")
            if !answer.hasPrefix("HTTP/1.1 200 ") { break }
        }
        var byte: UInt8 = 0
        let trickled = Date()
        for _ in 0..<8 {
            _ = send(slow, "E", 1, Int32(MSG_NOSIGNAL))
            if recv(slow, &byte, 1, Int32(MSG_DONTWAIT)) == 0 { break }
            sleep(1)
        }
        XCTAssertLessThan(Date().timeIntervalSince(trickled), 3.5, "a client that has not sent its request within 1 s is closed")
    }

    /// A TCP connection to 127.0.0.1:`port`.
    func connectLocally(port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        return fd
    }

    /// Sends `request` to 127.0.0.1:`port` and returns the whole answer.
    func get(port: UInt16, _ request: String) throws -> String {
        let fd = connectLocally(port: port)
        defer { close(fd) }
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
