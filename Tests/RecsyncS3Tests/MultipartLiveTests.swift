import Foundation
import XCTest
@testable import RecsyncS3

/// Multipart uploads against a moto_server started by the test, with signature checking on.
final class MotoMultipartTests: XCTestCase {
    var moto: MotoServer?
    var scenarios: MultipartScenarios!

    override func setUpWithError() throws {
        moto = try MotoServer.startForTest()
        let endpoint = try S3Endpoint(endpoint: moto!.endpoint, region: "us-east-1", pathStyle: nil, environment: [:])
        let client = CurlS3Client(endpoint: endpoint,
                                  credentials: S3Credentials(accessKeyId: moto!.accessKeyId, secretAccessKey: moto!.secretAccessKey),
                                  options: S3ClientOptions(chunkSize: 256 * 1024))
        scenarios = MultipartScenarios(client: client, bucket: "recsync-multipart")
        try client.createBucket(bucket: scenarios.bucket)
    }

    override func tearDown() {
        moto?.stop()
        moto = nil
    }

    func testThreePartRoundTrip() throws { try scenarios.threePartRoundTrip() }
    func testListPartsListUploadsAndAbort() throws { try scenarios.listPartsListUploadsAndAbort() }
    func testListUploadsAcrossPages() throws { try scenarios.listUploadsAcrossPages() }
    func testPartBeyondEndOfFileFails() throws { try scenarios.partBeyondEndOfFileFails() }
    func testCompleteWithWrongETagFails() throws { try scenarios.completeWithWrongETagFails() }
    func testCopyKeepsTheBytesAndReplacesTheMetadata() throws { try scenarios.copyKeepsTheBytesAndReplacesTheMetadata() }
    func testCopyOfAChangedOrMissingSourceIsRefused() throws { try scenarios.copyOfAChangedOrMissingSourceIsRefused() }
    func testMultipartCopyOfALargeObject() throws { try scenarios.multipartCopyOfALargeObject() }
}

/// The same against a Ceph RADOS Gateway given through RECSYNC_TEST_RGW_ENDPOINT,
/// RECSYNC_TEST_RGW_ACCESS_KEY and RECSYNC_TEST_RGW_SECRET_KEY. radosgw verifies every chunk
/// signature of the streamed parts. Each test uses a new bucket.
final class RadosGatewayMultipartTests: XCTestCase {
    var scenarios: MultipartScenarios!

    override func setUpWithError() throws {
        let server = try radosGatewayFromEnvironment("radosgw multipart tests")
        let client = CurlS3Client(endpoint: server.endpoint, credentials: server.credentials,
                                  options: S3ClientOptions(chunkSize: 64 * 1024))
        scenarios = MultipartScenarios(client: client, bucket: "recsync-mp-\(UUID().uuidString.prefix(8).lowercased())")
        try client.createBucket(bucket: scenarios.bucket)
    }

    func testThreePartRoundTrip() throws { try scenarios.threePartRoundTrip() }
    func testListPartsListUploadsAndAbort() throws { try scenarios.listPartsListUploadsAndAbort() }
    func testListUploadsAcrossPages() throws { try scenarios.listUploadsAcrossPages() }
    func testPartBeyondEndOfFileFails() throws { try scenarios.partBeyondEndOfFileFails() }
    func testCompleteWithWrongETagFails() throws { try scenarios.completeWithWrongETagFails() }
    func testCopyKeepsTheBytesAndReplacesTheMetadata() throws { try scenarios.copyKeepsTheBytesAndReplacesTheMetadata() }
    func testCopyOfAChangedOrMissingSourceIsRefused() throws { try scenarios.copyOfAChangedOrMissingSourceIsRefused() }
    func testMultipartCopyOfALargeObject() throws { try scenarios.multipartCopyOfALargeObject() }
}
