import Foundation
import RecsyncS3
import XCTest

/// Uploads left open under a folder are found on every server: what the uploader and the
/// checksum probe abort after a crash is listed by the folder's prefix, which moto refuses to
/// sign-check when it holds `/` (the client then lists the whole bucket and keeps the folder's).
final class ListMultipartUploadsLiveTests: XCTestCase {
    func testUploadsUnderAFolderAreFoundOnMotoAndRadosgw() throws {
        for server in [try TestServer.moto(), try TestServer.radosgw()] {
            let client = try server.client()
            let bucket = "list-uploads-\(UInt32.random(in: 0...UInt32.max))"
            try client.createBucket(bucket: bucket)
            let inside = try client.createMultipartUpload(bucket: bucket, key: "anonymous/2026/12/.recsync-checksum-probe",
                                                          contentType: "application/octet-stream", metadata: [:])
            let outside = try client.createMultipartUpload(bucket: bucket, key: "other/take.raw",
                                                           contentType: "application/octet-stream", metadata: [:])
            defer {
                try? client.abortMultipartUpload(bucket: bucket, key: "anonymous/2026/12/.recsync-checksum-probe", uploadId: inside)
                try? client.abortMultipartUpload(bucket: bucket, key: "other/take.raw", uploadId: outside)
            }
            let found = try client.listMultipartUploads(bucket: bucket, prefix: "anonymous/2026/12/.recsync-checksum-probe")
            XCTAssertEqual(found.map(\.uploadId), [inside], "\(server)")
            XCTAssertEqual(try client.listMultipartUploads(bucket: bucket, prefix: "anonymous/").map(\.uploadId), [inside], "\(server)")
            XCTAssertEqual(Set(try client.listMultipartUploads(bucket: bucket, prefix: "").map(\.uploadId)), [inside, outside], "\(server)")
        }
    }
}
