import Foundation
import XCTest
@testable import RecsyncS3

/// Headers of a successful PutObject answer.
private let okHeaders = [("ETag", "\"0123456789abcdef\""), ("x-amz-request-id", "LOCAL2")]

/// Clock-skew and expired-token recovery, against a scripted local server: moto checks neither
/// the request time nor token expiry.
final class ClientRecoveryTests: XCTestCase {
    func makeClient(_ server: LocalHTTPServer, credentials: S3Credentials = S3Credentials(accessKeyId: "AKOLD", secretAccessKey: "SKOLD"),
                    provider: (@Sendable () throws -> S3Credentials)? = nil) throws -> CurlS3Client {
        let endpoint = try S3Endpoint(endpoint: server.endpoint, region: "us-east-1", pathStyle: nil, environment: [:])
        return CurlS3Client(endpoint: endpoint, credentials: credentials,
                            options: S3ClientOptions(connectTimeout: 2, stallTimeout: 5), credentialsProvider: provider)
    }

    func put(_ client: CurlS3Client, key: String = "take.wav") throws -> PutObjectResult {
        let data = Data("RIFF recording".utf8)
        let file = try TemporaryFile(contents: data)
        return try client.putObject(bucket: "bucket-1", key: key, body: FileBody(fd: file.fd, length: Int64(data.count)),
                                    contentType: "audio/wav", metadata: [:], progress: nil, shouldCancel: nil)
    }

    func httpCode(_ error: any Error) -> (status: Int, code: String)? {
        guard case let .http(status, code, _, _)? = (error as? S3Error)?.kind else { return nil }
        return (status, code)
    }

    func signedDate(_ request: ReceivedRequest) throws -> Date {
        try XCTUnwrap(request.headers["x-amz-date"].flatMap(parseAmzDate), "x-amz-date of \(request.method) \(request.target)")
    }

    func testClockSkewCorrectsOffsetFromDateHeader() throws {
        let serverOffset: TimeInterval = 3 * 3600
        let server = try LocalHTTPServer { connection, index in
            guard connection.readRequest() != nil else { return }
            let serverNow = Date().addingTimeInterval(serverOffset)
            if index == 0 {
                connection.respond(status: "403 Forbidden", headers: [("Date", httpDate(serverNow)), ("Content-Type", "application/xml")],
                                   body: s3ErrorXML(code: "RequestTimeTooSkewed",
                                                    message: "The difference between the request time and the current time is too large."))
            } else {
                connection.respond(status: "200 OK", headers: okHeaders + [("Date", httpDate(serverNow))])
            }
        }
        defer { server.stop() }
        let client = try makeClient(server)
        XCTAssertEqual(client.clockOffset, 0)

        XCTAssertThrowsError(try put(client)) { error in
            XCTAssertEqual(httpCode(error)?.status, 403, "\(error)")
            XCTAssertEqual(httpCode(error)?.code, "RequestTimeTooSkewed", "\(error)")
            XCTAssertFalse((error as? S3Error)?.retryable ?? true, "the client does not retry it; the caller does, at once")
        }
        XCTAssertEqual(client.clockOffset, serverOffset, accuracy: 3, "corrected before the error is thrown")

        XCTAssertEqual(try put(client).etag, "0123456789abcdef")
        let requests = server.requests.values
        XCTAssertEqual(requests.count, 2, "the failed request is not retried inside the client")
        XCTAssertEqual(try signedDate(requests[0]).timeIntervalSinceNow, 0, accuracy: 3, "first signed with the local clock")
        XCTAssertEqual(try signedDate(requests[1]).timeIntervalSinceNow, serverOffset, accuracy: 3, "then with the server's")
        let authorization = try XCTUnwrap(requests[1].headers["authorization"])
        let day = String(try XCTUnwrap(requests[1].headers["x-amz-date"]).prefix(8))
        XCTAssertTrue(authorization.contains("Credential=AKOLD/\(day)/us-east-1/s3/aws4_request"),
                      "the credential scope uses the corrected day: \(authorization)")
    }

    func testClockSkewPrefersServerTimeFromErrorBody() throws {
        let serverOffset: TimeInterval = -2 * 3600
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            let serverNow = Date().addingTimeInterval(serverOffset)
            // A proxy's Date header (the real time) must not win over S3's own ServerTime.
            connection.respond(status: "403 Forbidden", headers: [("Date", httpDate(Date()))],
                               body: s3ErrorXML(code: "RequestTimeTooSkewed", message: "too skewed",
                                                extra: "<RequestTime>\(isoDate(Date()))</RequestTime><ServerTime>\(isoDate(serverNow))</ServerTime><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>"))
        }
        defer { server.stop() }
        let client = try makeClient(server)
        XCTAssertThrowsError(try client.getObject(bucket: "bucket-1", key: "a.wav"))
        XCTAssertEqual(client.clockOffset, serverOffset, accuracy: 3)
    }

    func testHeadWithoutBodyRecognisesSkewFromDateHeader() throws {
        let serverOffset: TimeInterval = 20 * 60
        let server = try LocalHTTPServer { connection, index in
            guard connection.readRequest() != nil else { return }
            let serverNow = Date().addingTimeInterval(serverOffset)
            if index == 0 {
                connection.respond(status: "403 Forbidden", headers: [("Date", httpDate(serverNow))])
            } else {
                connection.respond(status: "404 Not Found", headers: [("Date", httpDate(serverNow))])
            }
        }
        defer { server.stop() }
        let client = try makeClient(server)
        XCTAssertThrowsError(try client.headObject(bucket: "bucket-1", key: "a.wav")) { error in
            XCTAssertEqual(httpCode(error)?.code, "RequestTimeTooSkewed", "\(error)")
        }
        XCTAssertEqual(client.clockOffset, serverOffset, accuracy: 3)
        XCTAssertNil(try client.headObject(bucket: "bucket-1", key: "a.wav"))
    }

    func testForbiddenHeadWithMatchingClockStaysForbidden() throws {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            connection.respond(status: "403 Forbidden", headers: [("Date", httpDate(Date()))])
        }
        defer { server.stop() }
        let client = try makeClient(server)
        XCTAssertThrowsError(try client.headObject(bucket: "bucket-1", key: "a.wav")) { error in
            XCTAssertEqual(httpCode(error)?.code, "Forbidden", "\(error)")
        }
        XCTAssertEqual(client.clockOffset, 0)
    }

    func testExpiredTokenReloadsCredentialsFromProvider() throws {
        let server = try LocalHTTPServer { connection, index in
            guard connection.readRequest() != nil else { return }
            if index == 0 {
                connection.respond(status: "400 Bad Request",
                                   body: s3ErrorXML(code: "ExpiredToken", message: "The provided token has expired."))
            } else {
                connection.respond(status: "200 OK", headers: okHeaders)
            }
        }
        defer { server.stop() }
        let calls = Counter()
        let client = try makeClient(server, credentials: S3Credentials(accessKeyId: "AKOLD", secretAccessKey: "SKOLD", sessionToken: "token-old"),
                                    provider: {
                                        calls.increment()
                                        return S3Credentials(accessKeyId: "AKNEW", secretAccessKey: "SKNEW", sessionToken: "token-new")
                                    })
        XCTAssertThrowsError(try put(client)) { error in
            XCTAssertEqual(httpCode(error)?.status, 400, "\(error)")
            XCTAssertEqual(httpCode(error)?.code, "ExpiredToken", "\(error)")
            XCTAssertFalse("\(error)".contains("SKOLD") || "\(error)".contains("token-old"), "no secrets in errors")
        }
        XCTAssertEqual(calls.value, 1, "the provider is asked once, before the error is thrown")

        XCTAssertEqual(try put(client).etag, "0123456789abcdef")
        let requests = server.requests.values
        XCTAssertEqual(requests.count, 2, "the failed request is not retried inside the client")
        XCTAssertTrue(requests[0].headers["authorization"]?.contains("Credential=AKOLD/") == true)
        XCTAssertEqual(requests[0].headers["x-amz-security-token"], "token-old")
        XCTAssertTrue(requests[1].headers["authorization"]?.contains("Credential=AKNEW/") == true,
                      "\(requests[1].headers["authorization"] ?? "no authorization")")
        XCTAssertEqual(requests[1].headers["x-amz-security-token"], "token-new")
        XCTAssertEqual(calls.value, 1)
    }

    func testTokenRefreshRequiredWithFailingProviderKeepsCredentials() throws {
        struct SourceDown: Error {}
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            connection.respond(status: "400 Bad Request", body: s3ErrorXML(code: "TokenRefreshRequired", message: "refresh"))
        }
        defer { server.stop() }
        let calls = Counter()
        let client = try makeClient(server, provider: { calls.increment(); throw SourceDown() })
        XCTAssertThrowsError(try put(client)) { error in
            XCTAssertEqual(httpCode(error)?.code, "TokenRefreshRequired", "the server's error, not the provider's: \(error)")
        }
        XCTAssertEqual(calls.value, 1)
        XCTAssertThrowsError(try put(client))
        XCTAssertTrue(server.requests.values.allSatisfy { $0.headers["authorization"]?.contains("Credential=AKOLD/") == true })
    }

    func testConcurrentExpiredTokenFailuresReloadOnce() throws {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            connection.respond(status: "400 Bad Request", body: s3ErrorXML(code: "ExpiredToken", message: "expired"))
        }
        defer { server.stop() }
        let calls = Counter()
        let client = try makeClient(server, provider: {
            calls.increment()
            return S3Credentials(accessKeyId: "AKNEW", secretAccessKey: "SKNEW")
        })
        // Requests signed with the same (old) credentials: only the first failure reloads.
        let prepared = (0..<4).map { _ in client.prepare(method: "GET", bucket: "bucket-1", key: "k", payloadHash: Crypto.emptySHA256Hex) }
        for request in prepared {
            XCTAssertThrowsError(try client.send(request.http, operation: "GetObject bucket-1/k"))
        }
        XCTAssertEqual(calls.value, 1)
    }

    func testReloadCredentialsSignsWithNewKey() throws {
        let endpoint = try S3Endpoint(endpoint: "http://127.0.0.1:9", region: "eu-west-1", pathStyle: nil, environment: [:])
        let client = CurlS3Client(endpoint: endpoint, credentials: S3Credentials(accessKeyId: "AKOLD", secretAccessKey: "SKOLD"))
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let before = client.prepare(method: "GET", bucket: "bucket-1", key: "k", payloadHash: Crypto.emptySHA256Hex, at: date)
        let fresh = S3Credentials(accessKeyId: "AKNEW", secretAccessKey: "SKNEW", sessionToken: "tok")
        client.reloadCredentials(fresh)
        let after = client.prepare(method: "GET", bucket: "bucket-1", key: "k", payloadHash: Crypto.emptySHA256Hex, at: date)

        // Same day, so a stale cached signing key would show here.
        let expected = SigV4Signer(credentials: fresh, region: "eu-west-1")
            .sign(SignableRequest(method: "GET", encodedPath: "/bucket-1/k",
                                  headers: after.http.headers.filter { $0.name != "Authorization" },
                                  payloadHash: Crypto.emptySHA256Hex), at: date)
        XCTAssertEqual(after.signature.signature, expected.signature)
        XCTAssertNotEqual(after.signature.signature, before.signature.signature)
        XCTAssertTrue(after.http.headers.contains { $0.name == "x-amz-security-token" && $0.value == "tok" })
        XCTAssertFalse(before.http.headers.contains { $0.name == "x-amz-security-token" })
    }
}
