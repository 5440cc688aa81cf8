import Foundation
import XCTest
@testable import RecsyncS3

/// CRC-32C trailers against moto_server (signatures checked). moto takes trailers and echoes
/// their checksum but does not check it, so the probe must give it SHA-256.
final class MotoChecksumTests: XCTestCase {
    var moto: MotoServer?
    var scenarios: ChecksumScenarios!

    override func setUpWithError() throws {
        moto = try MotoServer.startForTest()
        let endpoint = try S3Endpoint(endpoint: moto!.endpoint, region: "us-east-1", pathStyle: nil, environment: [:])
        scenarios = ChecksumScenarios(endpoint: endpoint,
                                      credentials: S3Credentials(accessKeyId: moto!.accessKeyId, secretAccessKey: moto!.secretAccessKey),
                                      bucket: "recsync-checksums")
        try scenarios.client(.sha256).createBucket(bucket: scenarios.bucket)
    }

    override func tearDown() {
        moto?.stop()
        moto = nil
    }

    func testProbeGivesSHA256ToAServerThatTakesAWrongCRC32C() throws { try scenarios.probeDecides(.sha256) }
    func testCRC32CPutRoundTrip() throws { try scenarios.crc32cPutRoundTrip() }
    func testCRC32CMultipartRoundTrip() throws { try scenarios.crc32cMultipartRoundTrip() }
}

/// The same against radosgw (Ceph 16), which has no flexible checksums: the probe gives it
/// SHA-256, and a forced CRC-32C is refused without storing other bytes.
final class RadosGatewayChecksumTests: XCTestCase {
    var scenarios: ChecksumScenarios!

    override func setUpWithError() throws {
        let server = try radosGatewayFromEnvironment("radosgw checksum tests")
        scenarios = ChecksumScenarios(endpoint: server.endpoint, credentials: server.credentials,
                                      bucket: "recsync-crc-\(UUID().uuidString.prefix(8).lowercased())")
        try scenarios.client(.sha256).createBucket(bucket: scenarios.bucket)
    }

    func testProbeGivesSHA256ToAServerWithoutTrailers() throws { try scenarios.probeDecides(.sha256) }
    func testForcedCRC32CIsRefused() throws { try scenarios.forcedCRC32CIsRefused() }
}
