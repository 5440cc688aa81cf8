import Foundation
import XCTest
@testable import RecsyncS3

/// The worked examples from AWS's S3 Signature Version 4 documentation
/// ("Examples: Signature Calculations" and "Transferring Payload in Multiple Chunks").
final class SigV4SignerTests: XCTestCase {
    static let credentials = S3Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                                           secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let date = Date(timeIntervalSince1970: 1_369_353_600) // 2013-05-24T00:00:00Z
    let signer = SigV4Signer(credentials: SigV4SignerTests.credentials, region: "us-east-1")

    func testAmzDate() {
        XCTAssertEqual(SigV4Signer.amzDate(Self.date), "20130524T000000Z")
        XCTAssertEqual(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_700_000_123.9)), "20231114T221523Z")
    }

    func testGetObjectWithRange() {
        let request = SignableRequest(method: "GET", encodedPath: "/test.txt", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", Crypto.emptySHA256Hex),
            ("x-amz-date", "20130524T000000Z"),
        ], payloadHash: Crypto.emptySHA256Hex)
        let result = signer.sign(request, at: Self.date)
        XCTAssertEqual(result.signedHeaders, "host;range;x-amz-content-sha256;x-amz-date")
        XCTAssertEqual(result.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        XCTAssertEqual(result.authorization,
                       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                       + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                       + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    func testPutObject() {
        let payloadHash = Crypto.hex(Crypto.sha256(Data("Welcome to Amazon S3.".utf8)))
        XCTAssertEqual(payloadHash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let request = SignableRequest(method: "PUT", encodedPath: "/" + URIEncoding.encode("test$file.text", keepSlash: true), headers: [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", payloadHash),
        ], payloadHash: payloadHash)
        let result = signer.sign(request, at: Self.date)
        XCTAssertTrue(result.canonicalRequest.hasPrefix("PUT\n/test%24file.text\n\n"))
        XCTAssertEqual(result.signedHeaders, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
        XCTAssertEqual(result.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    func testGetBucketLifecycle() {
        let request = SignableRequest(method: "GET", encodedPath: "/", query: [("lifecycle", "")], headers: [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", Crypto.emptySHA256Hex),
        ], payloadHash: Crypto.emptySHA256Hex)
        let result = signer.sign(request, at: Self.date)
        XCTAssertEqual(result.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2], "lifecycle=")
        XCTAssertEqual(result.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    func testListObjects() {
        // Parameters given out of order: the canonical query must sort them.
        let request = SignableRequest(method: "GET", encodedPath: "/", query: [("prefix", "J"), ("max-keys", "2")], headers: [
            ("Host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-content-sha256", Crypto.emptySHA256Hex),
        ], payloadHash: Crypto.emptySHA256Hex)
        let result = signer.sign(request, at: Self.date)
        XCTAssertEqual(result.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)[2], "max-keys=2&prefix=J")
        XCTAssertEqual(result.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    func testStreamingSeedAndChunkSignatures() {
        let request = SignableRequest(method: "PUT", encodedPath: "/examplebucket/chunkObject.txt", headers: [
            ("Host", "s3.amazonaws.com"),
            ("x-amz-date", "20130524T000000Z"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", SigV4Signer.streamingPayload),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("Content-Length", "66824"),
        ], payloadHash: SigV4Signer.streamingPayload, unsignedHeaders: [])
        let seed = signer.sign(request, at: Self.date)
        XCTAssertEqual(seed.signedHeaders,
                       "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class")
        XCTAssertEqual(seed.signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")

        let first = signer.chunkSignature(previousSignature: seed.signature, chunkHash: Crypto.sha256(Data(repeating: 0x61, count: 65536)),
                                          amzDate: seed.amzDate, scope: seed.scope)
        XCTAssertEqual(first, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")
        let second = signer.chunkSignature(previousSignature: first, chunkHash: Crypto.sha256(Data(repeating: 0x61, count: 1024)),
                                           amzDate: seed.amzDate, scope: seed.scope)
        XCTAssertEqual(second, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")
        let final = signer.chunkSignature(previousSignature: second, chunkHash: Crypto.sha256(Data()),
                                          amzDate: seed.amzDate, scope: seed.scope)
        XCTAssertEqual(final, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
    }

    /// The whole streaming pipeline (layout, pread, hashing, chaining, framing) reproduces the
    /// documented 66560-byte body exactly.
    func testChunkedBodySourceProducesDocumentedBody() throws {
        let file = try TemporaryFile(contents: Data(repeating: 0x61, count: 66560))
        let layout = AwsChunkedLayout(decodedLength: 66560, chunkSize: 65536)
        XCTAssertEqual(layout.encodedLength, 66824)
        let source = AwsChunkedBodySource(body: FileBody(fd: file.fd, length: 66560), layout: layout, signer: signer,
                                          seedSignature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
                                          amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request",
                                          shouldCancel: nil)
        let produced = try XCTUnwrap(readAll(source, step: 7000))
        var expected = Data("10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n".utf8)
        expected += Data(repeating: 0x61, count: 65536)
        expected += Data("\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n".utf8)
        expected += Data(repeating: 0x61, count: 1024)
        expected += Data("\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n".utf8)
        XCTAssertEqual(produced.count, 66824)
        XCTAssertEqual(produced, expected)
    }

    func testSigningKeyIsCachedPerDay() {
        let day1 = signer.signingKey(day: "20130524")
        XCTAssertEqual(signer.signingKey(day: "20130524"), day1)
        XCTAssertNotEqual(signer.signingKey(day: "20130525"), day1)
        XCTAssertEqual(signer.signingKey(day: "20130524"), day1)
    }

    func testHeaderValuesAreTrimmedAndSpacesCollapsed() {
        XCTAssertEqual(SigV4Signer.normalizeHeaderValue("  a   b  c "), "a b c")
    }
}

/// Drains a body source in `step`-byte reads, as curl would. Nil if the source aborted.
func readAll(_ source: RequestBodySource, step: Int) -> Data? {
    var out = Data()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: step, alignment: 1)
    defer { buffer.deallocate() }
    while true {
        guard let n = source.read(into: buffer) else { return nil }
        if n == 0 { return out }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
    }
}

/// A file in the temporary directory, opened read-only, removed on deinit.
final class TemporaryFile {
    let path: String
    let fd: Int32

    init(contents: Data) throws {
        path = NSTemporaryDirectory() + "recsync-s3-test-\(UUID().uuidString)"
        try contents.write(to: URL(fileURLWithPath: path))
        fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw NSError(domain: "TemporaryFile", code: Int(errno)) }
    }

    deinit {
        close(fd)
        unlink(path)
    }
}
