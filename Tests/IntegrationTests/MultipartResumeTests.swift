import Foundation
import XCTest

/// kill -9 in the middle of a multipart upload: after the next mount the upload resumes under the
/// same upload id, and no part the server confirmed before the crash is sent again.
final class MultipartResumeTests: ProxiedMountTestCase {
    override func tearDown() {
        super.tearDown()
        removeServerData()
    }

    func testKilledDaemonResumesTheUploadWithoutSendingConfirmedPartsAgain() throws {
        let started = Date()
        // 2 MiB/s per part through the proxy: a 5 MiB part takes about 2.5 s.
        try mountThroughProxy(server: try TestServer.radosgw(), rules: [FaultRule(mode: .slow, rate: 2 << 20)],
                              config: Self.multipartConfig)
        let name = "concert.raw"
        let size = 60 << 20
        let parts = size / Self.partSize
        XCTAssertEqual(parts, 12)
        try write([.random(name, bytes: size)])
        let key = try key(of: name)

        try eventually("four parts answered 200", timeout: 30) {
            try proxy.requests(bucket: fixture.bucket, key: key).filter { $0.isUploadPart && $0.status == 200 }.count >= 4
        }
        // The daemon records a part right after its answer; give it that moment, far less than a part takes.
        usleep(300_000)
        let killedAt = Date().timeIntervalSince1970
        try fixture.killDaemon()
        let beforeKill = try proxy.requests(bucket: fixture.bucket, key: key)
        try proxy.setRules([])
        XCTAssertNotEqual(try fixture.status(name), "synced")
        try fixture.mount()
        try assertSyncedByteForByte([name], timeout: 40)

        let requests = try proxy.requests(bucket: fixture.bucket, key: key)
        let confirmed = Set(requests.filter { $0.isUploadPart && $0.status == 200 && $0.end < killedAt }.compactMap(\.partNumber))
        let after = requests.filter { $0.isUploadPart && $0.time >= killedAt }
        let resent = Set(after.compactMap(\.partNumber)).intersection(confirmed)
        let timeline = "kill at " + String(format: "%.3f", killedAt) + "\n  " + requests.map(\.summary).joined(separator: "\n  ")
        XCTAssertGreaterThanOrEqual(confirmed.count, 4, timeline)
        XCTAssertTrue(resent.isEmpty, "parts confirmed before the kill were sent again: \(resent.sorted())\n  \(timeline)"
                      + "\n--- recsync log ---\n\(fixture.log.suffix(4000))")
        let storedAfter = Set(after.filter { $0.status == 200 }.compactMap(\.partNumber))
        XCTAssertEqual(confirmed.union(storedAfter), Set(1...parts), "every part stored once before or after the kill:\n  \(timeline)")
        XCTAssertEqual(requests.filter(\.isCreateMultipartUpload).count, 1, "one CreateMultipartUpload: the upload id was resumed\n  \(timeline)")
        XCTAssertEqual(requests.filter { $0.isCompleteMultipartUpload && $0.status == 200 }.count, 1, timeline)
        XCTAssertTrue(requests.contains { $0.method == "GET" && $0.queryItems["uploadId"] != nil && $0.time >= killedAt && $0.status == 200 },
                      "after the restart ListParts asked the server which parts it holds\n  \(timeline)")
        XCTAssertEqual(Set(requests.filter(\.isUploadPart).compactMap { $0.queryItems["uploadId"] }).count, 1,
                       "every part went to the same upload id\n  \(timeline)")
        XCTAssertTrue(try XCTUnwrap(try fixture.head(key)).etag.hasSuffix("-\(parts)"))
        XCTAssertTrue(fixture.log.contains("resuming a multipart upload"), "the log tells the upload was resumed")
        // The attempt that finished counts only the bytes it sent, not the parts stored before.
        let finished = try XCTUnwrap(fixture.log.split(separator: "\n").last { $0.contains("upload attempt") && $0.contains("outcome=synced") },
                                     "the log has the finishing attempt")
        let bytes = try XCTUnwrap(finished.split(separator: " ").first { $0.hasPrefix("bytes=") }.flatMap { Int($0.dropFirst(6)) })
        XCTAssertGreaterThan(bytes, 0)
        XCTAssertLessThanOrEqual(bytes, size - confirmed.count * Self.partSize, "resumed parts are not counted again: \(finished)")
        print(String(format: "MultipartResumeTests: %d parts confirmed before the kill (%d requests), %d sent after it; synced %.1f s after the start",
                     confirmed.count, beforeKill.count, after.count, Date().timeIntervalSince(started)))
    }

    /// The same with parts checked by CRC-32C trailers (`upload_checksum = "crc32c"`; moto takes
    /// them): the stored parts' CRC-32Cs are what the restart checks, and nothing confirmed is
    /// sent again.
    func testAnUploadWithCRC32CPartsResumesToo() throws {
        try mountThroughProxy(server: try TestServer.moto(), rules: [FaultRule(mode: .slow, rate: 2 << 20)],
                              config: Self.multipartConfig + "upload_checksum = \"crc32c\"\n")
        let name = "rehearsal.raw"
        let size = 30 << 20
        try write([.random(name, bytes: size)])
        let key = try key(of: name)
        try eventually("two parts answered 200", timeout: 30) {
            try proxy.requests(bucket: fixture.bucket, key: key).filter { $0.isUploadPart && $0.status == 200 }.count >= 2
        }
        usleep(300_000)
        let killedAt = Date().timeIntervalSince1970
        try fixture.killDaemon()
        try proxy.setRules([])
        try fixture.mount()
        try assertSyncedByteForByte([name], timeout: 40)
        let requests = try proxy.requests(bucket: fixture.bucket, key: key)
        let confirmed = Set(requests.filter { $0.isUploadPart && $0.status == 200 && $0.end < killedAt }.compactMap(\.partNumber))
        let resent = Set(requests.filter { $0.isUploadPart && $0.time >= killedAt }.compactMap(\.partNumber)).intersection(confirmed)
        let timeline = requests.map(\.summary).joined(separator: "\n  ")
        XCTAssertGreaterThanOrEqual(confirmed.count, 2, timeline)
        XCTAssertTrue(resent.isEmpty, "parts confirmed before the kill were sent again: \(resent.sorted())\n  \(timeline)")
        XCTAssertEqual(requests.filter(\.isCreateMultipartUpload).count, 1, "the upload id was resumed\n  \(timeline)")
        XCTAssertTrue(fixture.log.contains("resuming a multipart upload"), "the log tells the upload was resumed")
        XCTAssertTrue(try XCTUnwrap(try fixture.head(key)).etag.hasSuffix("-6"))
    }
}
