import Foundation
import XCTest
@testable import RecsyncCore
@testable import RecsyncS3
import RecsyncFS

/// Every parser of input from outside (servers, config files, recordings, names) is fed mutated
/// inputs; none may trap, and what they return keeps its promises (see `Fuzzer`).
final class FuzzTests: XCTestCase {
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    func testHTTPDates() throws {
        var fuzzer = try Fuzzer(target: "http-date")
        fuzzer.run { bytes in
            for date in [HTTPDate.parseRFC1123(text(bytes)), HTTPDate.parseISO8601(text(bytes))].compactMap({ $0 }) {
                XCTAssertTrue((0...253_402_300_800).contains(date.timeIntervalSince1970), "a date within years 1970...9999")
            }
        }
    }

    func testS3XMLReaders() throws {
        var fuzzer = try Fuzzer(target: "s3-xml")
        fuzzer.run { bytes in
            let data = Data(bytes)
            _ = S3ErrorBody.parse(data)
            if let page = ListObjectsPage.parse(data) { XCTAssertTrue(page.objects.allSatisfy { $0.size >= 0 }) }
            if let page = MultipartXML.PartsPage.parse(data) { XCTAssertTrue(page.parts.allSatisfy { $0.size >= 0 }) }
            _ = MultipartXML.UploadsPage.parse(data)
            _ = MultipartXML.completeOutcome(data)
        }
    }

    func testMetadataDecoding() throws {
        var fuzzer = try Fuzzer(target: "metadata")
        fuzzer.run { bytes in
            let decoded = MetadataEncoding.decodeValue(text(bytes))
            XCTAssertNotNil(String(validating: Array(decoded.utf8), as: UTF8.self))
            if let encoded = try? MetadataEncoding.headers(for: ["x": text(bytes)]).first?.value {
                XCTAssertTrue(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "a header value is printable ASCII")
            }
        }
    }

    func testConfigFiles() throws {
        var fuzzer = try Fuzzer(target: "toml")
        fuzzer.run { bytes in
            do { _ = try RecsyncConfig.parse(text(bytes), source: "fuzz") } catch is ConfigError {} catch {
                XCTFail("a config file fails with a ConfigError, not \(error)")
            }
        }
    }

    func testAudioHeaders() throws {
        var fuzzer = try Fuzzer(target: "audio")
        fuzzer.run { bytes in
            if let seconds = AudioDuration.seconds(data: Data(bytes)) {
                XCTAssertTrue(seconds.isFinite && seconds >= 0, "a duration is a finite, non-negative number")
            }
        }
    }

    func testKeyPatternsAndNames() throws {
        var fuzzer = try Fuzzer(target: "key-pattern")
        let date = Date(timeIntervalSince1970: 1_795_615_387)
        fuzzer.run { bytes in
            let name = NameCoding.text(bytes.filter { $0 != 0 })
            XCTAssertEqual(NameCoding.bytes(of: name), bytes.filter { $0 != 0 }, "names round-trip")
            XCTAssertEqual(NameCoding.bytes(of: KeyPattern.name(fromKeyText: KeyPattern.keyText(name))), NameCoding.bytes(of: name))
            guard let pattern = try? KeyPattern(text(bytes)) else { return }
            for path in ["take.wav", "a/b/" + name, name] where !name.isEmpty {
                if let key = try? pattern.render(KeyContext(userId: "u", relativePath: path, timestamp: date, hostname: "h")) {
                    XCTAssertLessThanOrEqual(key.utf8.count, 1024)
                    XCTAssertFalse(key.unicodeScalars.contains("\0"))
                }
            }
        }
    }

    func testSigV4Canonicalisation() throws {
        var fuzzer = try Fuzzer(target: "sigv4")
        let signer = SigV4Signer(credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"), region: "us-east-1")
        fuzzer.run { bytes in
            let lines = text(bytes).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let query = (lines.count > 2 ? lines[2] : "").split(separator: "&").map { pair -> (name: String, value: String) in
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
            }
            let request = SignableRequest(method: lines.first ?? "GET", encodedPath: lines.count > 1 ? lines[1] : "/",
                                          query: query, headers: [("host", "h"), ("x-amz-date", "20260101T000000Z"), ("x-fuzz", text(bytes))],
                                          payloadHash: "UNSIGNED-PAYLOAD")
            let result = signer.sign(request, at: Date(timeIntervalSince1970: 1_767_225_600))
            XCTAssertTrue(result.authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AK/"))
        }
    }
}
