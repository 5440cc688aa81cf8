import Foundation
import XCTest
import RecsyncS3
@testable import RecsyncCore

final class RetryPolicyTests: XCTestCase {
    let policy = RetryPolicy()

    // MARK: Backoff

    func testBackoffDoublesFromOneSecondAndIsCappedAtFiveMinutes() {
        let plain = (1...12).map { policy.delay(afterFailures: $0, random: 0.5) }
        XCTAssertEqual(plain, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])
        XCTAssertEqual(policy.delay(afterFailures: 0, random: 0.5), 1, "before any failure: the base delay")
        XCTAssertEqual(policy.delay(afterFailures: 1_000_000, random: 0.5), 300, "huge counts do not overflow")
    }

    func testCustomBaseAndCap() {
        let custom = RetryPolicy(maxAttempts: 3, baseDelay: 0.5, maxDelay: 3, jitter: 0)
        XCTAssertEqual((1...5).map { custom.delay(afterFailures: $0, random: 0.9) }, [0.5, 1, 2, 3, 3])
    }

    func testJitterBoundsAreAQuarterEitherWay() {
        let almostOne = Double(1).nextDown
        for failures in [1, 3, 9, 10, 20] {
            let plain = policy.delay(afterFailures: failures, random: 0.5)
            XCTAssertEqual(policy.delay(afterFailures: failures, random: 0), plain * 0.75, accuracy: 1e-9)
            let high = policy.delay(afterFailures: failures, random: almostOne)
            XCTAssertEqual(high, plain * 1.25, accuracy: 1e-9)
            XCTAssertLessThanOrEqual(high, plain * 1.25)
        }
        XCTAssertLessThanOrEqual(policy.delay(afterFailures: 50, random: almostOne), 300 * 1.25, "no wait exceeds cap × 1.25")
    }

    func testRandomJitterStaysInBoundsAndCoversBothSides() {
        for failures in [1, 4, 12] {
            let plain = policy.delay(afterFailures: failures, random: 0.5)
            var below = 0
            var above = 0
            for _ in 0..<10_000 {
                let delay = policy.delay(afterFailures: failures)
                XCTAssertGreaterThanOrEqual(delay, plain * 0.75)
                XCTAssertLessThanOrEqual(delay, plain * 1.25)
                if delay < plain { below += 1 } else if delay > plain { above += 1 }
            }
            // Uniform jitter: about half on each side; 4,000 of 10,000 is far outside chance.
            XCTAssertGreaterThan(below, 4_000, "failures \(failures)")
            XCTAssertGreaterThan(above, 4_000, "failures \(failures)")
        }
    }

    func testExhaustedAtMaxAttempts() {
        XCTAssertEqual(policy.maxAttempts, 5)
        XCTAssertEqual((0...6).map { policy.isExhausted(failures: $0) }, [false, false, false, false, false, true, true])
        let once = RetryPolicy(maxAttempts: 1)
        XCTAssertFalse(once.isExhausted(failures: 0))
        XCTAssertTrue(once.isExhausted(failures: 1))
    }

    // MARK: Classification

    func transport(_ code: Int32) -> S3Error {
        S3Error(.transport(curlCode: code, message: "curl \(code)"), operation: "PutObject b/k")
    }

    func http(_ status: Int, _ code: String) -> S3Error {
        S3Error(.http(status: status, code: code, message: "", requestId: "R1"), operation: "PutObject b/k")
    }

    func assertKind(_ error: any Error, _ expected: FailureKind, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(RetryPolicy.classify(error), expected, "\(error)", file: file, line: line)
    }

    func testTransportFailures() {
        assertKind(transport(6), .unreachable)   // could not resolve host
        assertKind(transport(7), .unreachable)   // could not connect (refused, connect timeout)
        assertKind(transport(28), .transient)    // timed out or stalled after connecting
        assertKind(transport(52), .transient)    // empty reply
        assertKind(transport(55), .transient)    // send failed (reset)
        assertKind(transport(56), .transient)    // receive failed (reset)
    }

    func testServerSideAndThrottlingAreTransient() {
        assertKind(http(500, "InternalError"), .transient)
        assertKind(http(502, "BadGateway"), .transient)
        assertKind(http(503, "SlowDown"), .transient)
        assertKind(http(503, "ServiceUnavailable"), .transient)
        assertKind(http(504, "GatewayTimeout"), .transient)
        assertKind(http(400, "RequestTimeout"), .transient)
        assertKind(http(408, "RequestTimeout"), .transient)
        assertKind(http(429, "TooManyRequests"), .transient)
        assertKind(http(409, "OperationAborted"), .transient)
    }

    func testClockSkewAndExpiredCredentials() {
        assertKind(http(403, "RequestTimeTooSkewed"), .clockSkew)
        assertKind(http(400, "ExpiredToken"), .expiredCredentials)
        assertKind(http(403, "ExpiredToken"), .expiredCredentials)
        assertKind(http(400, "TokenRefreshRequired"), .expiredCredentials)
    }

    func testClientErrorsArePermanent() {
        assertKind(http(403, "AccessDenied"), .permanent)
        assertKind(http(404, "NoSuchBucket"), .permanent)
        assertKind(http(403, "InvalidAccessKeyId"), .permanent)
        assertKind(http(403, "SignatureDoesNotMatch"), .permanent)
        assertKind(http(400, "EntityTooLarge"), .permanent)
        assertKind(http(400, "InvalidBucketName"), .permanent)
        // Other 4xx.
        assertKind(http(400, "BadRequest"), .permanent)
        assertKind(http(400, "InvalidArgument"), .permanent)
        assertKind(http(403, "Forbidden"), .permanent)
        assertKind(http(405, "MethodNotAllowed"), .permanent)
        assertKind(http(409, "BucketNotEmpty"), .permanent)
        assertKind(http(411, "MissingContentLength"), .permanent)
        assertKind(http(412, "PreconditionFailed"), .permanent)
        assertKind(http(416, "InvalidRange"), .permanent)
    }

    func testNonHTTPKinds() {
        assertKind(S3Error(.cancelled), .cancelled)
        assertKind(S3Error(.io(errno: 0, message: "file shorter than announced")), .localChange)
        assertKind(S3Error(.io(errno: ENOENT, message: "gone")), .localChange)
        // The system failing the reader is no change of the file: back off and count it.
        for code in [EMFILE, ENFILE, ENOMEM, EIO, ENOSPC] {
            assertKind(S3Error(.io(errno: code, message: "read failed")), .transient)
        }
        assertKind(S3Error(.invalidResponse(message: "no ETag")), .transient)
        assertKind(S3Error(.invalidRequest(message: "bad metadata")), .permanent)
    }

    func testErrorsFromOutsideTheS3ClientAreTransient() {
        struct Unexpected: Error {}
        assertKind(Unexpected(), .transient)
        assertKind(CocoaError(.fileReadUnknown), .transient)
    }
}
