import Foundation
import XCTest
@testable import RecsyncS3

final class S3EndpointTests: XCTestCase {
    func testDefaultAWSEndpointIsVirtualHosted() throws {
        let endpoint = try S3Endpoint(endpoint: nil, region: "eu-west-1", pathStyle: nil, environment: [:])
        XCTAssertEqual(endpoint.baseURL, "https://s3.eu-west-1.amazonaws.com")
        XCTAssertFalse(endpoint.pathStyle)
        let target = endpoint.target(bucket: "my-bucket", key: "dir/take 1.wav")
        XCTAssertEqual(target.host, "my-bucket.s3.eu-west-1.amazonaws.com")
        XCTAssertEqual(target.url, "https://my-bucket.s3.eu-west-1.amazonaws.com/dir/take%201.wav")
    }

    func testEnvironmentPrecedence() throws {
        let env = ["AWS_ENDPOINT_URL": "http://generic.example:9000", "AWS_ENDPOINT_URL_S3": "http://s3only.example:9001"]
        XCTAssertEqual(try S3Endpoint(endpoint: nil, region: "r", pathStyle: nil, environment: env).baseURL, "http://s3only.example:9001")
        XCTAssertEqual(try S3Endpoint(endpoint: nil, region: "r", pathStyle: nil,
                                      environment: ["AWS_ENDPOINT_URL": "http://generic.example:9000"]).baseURL,
                       "http://generic.example:9000")
        XCTAssertEqual(try S3Endpoint(endpoint: "https://explicit.example", region: "r", pathStyle: nil, environment: env).baseURL,
                       "https://explicit.example")
    }

    func testPathStyleAutomaticForIPAndLocalhost() throws {
        for (url, expected) in [("http://127.0.0.1:9000", true), ("http://[::1]:9000", true), ("http://localhost:8000", true),
                                ("https://minio.localhost", true), ("https://s3.example.com", false)] {
            let endpoint = try S3Endpoint(endpoint: url, region: "us-east-1", pathStyle: nil, environment: [:])
            XCTAssertEqual(endpoint.pathStyle, expected, url)
        }
        let forced = try S3Endpoint(endpoint: "https://s3.example.com", region: "us-east-1", pathStyle: true, environment: [:])
        XCTAssertTrue(forced.pathStyle)
        XCTAssertEqual(forced.target(bucket: "b-1", key: "a/b").url, "https://s3.example.com/b-1/a/b")
        let v6 = try S3Endpoint(endpoint: "http://[::1]:9000/", region: "us-east-1", pathStyle: nil, environment: [:])
        XCTAssertEqual(v6.target(bucket: "bkt", key: "k").url, "http://[::1]:9000/bkt/k")
    }

    func testDefaultPortsAreLeftOutOfHostHeader() throws {
        let endpoint = try S3Endpoint(endpoint: "https://s3.example.com:443", region: "us-east-1", pathStyle: nil, environment: [:])
        XCTAssertEqual(endpoint.target(bucket: "bkt", key: "k").host, "bkt.s3.example.com")
        let custom = try S3Endpoint(endpoint: "http://s3.example.com:8080", region: "us-east-1", pathStyle: nil, environment: [:])
        XCTAssertEqual(custom.target(bucket: "bkt", key: "k").host, "bkt.s3.example.com:8080")
    }

    func testBucketsThatAreNotDNSLabelsFallBackToPathStyle() throws {
        let endpoint = try S3Endpoint(endpoint: nil, region: "us-east-1", pathStyle: nil, environment: [:])
        XCTAssertEqual(endpoint.target(bucket: "with.dots", key: "k").url, "https://s3.us-east-1.amazonaws.com/with.dots/k")
        XCTAssertEqual(endpoint.target(bucket: "Upper_Case", key: nil).url, "https://s3.us-east-1.amazonaws.com/Upper_Case")
    }

    func testInvalidURLsAreRejectedWithAdvice() {
        for url in ["ftp://host", "http://", "http://host/path", "http://host?x=1", "not a url", "http://user:pw@host"] {
            XCTAssertThrowsError(try S3Endpoint(endpoint: url, region: "us-east-1", pathStyle: nil, environment: [:]), url) { error in
                XCTAssertTrue("\(error)".contains("http://127.0.0.1:9000"), "\(error)")
            }
        }
        XCTAssertThrowsError(try S3Endpoint(endpoint: nil, region: "", pathStyle: nil, environment: [:]))
    }

    func testPlainHTTPOffThisMachineIsRecognised() throws {
        func offMachine(_ url: String) throws -> Bool {
            try S3Endpoint(endpoint: url, region: "us-east-1", pathStyle: nil, environment: [:]).isPlainHTTPOffThisMachine
        }
        for url in ["http://127.0.0.1:9000", "http://127.5.6.7", "http://localhost:9000", "http://[::1]:9000", "https://10.0.0.5"] {
            XCTAssertFalse(try offMachine(url), url)
        }
        for url in ["http://10.0.0.5:9000", "http://s3.example.com", "http://128.0.0.1", "http://localhost.example.com"] {
            XCTAssertTrue(try offMachine(url), url)
        }
    }
}
