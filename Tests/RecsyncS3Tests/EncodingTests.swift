import Foundation
import XCTest
@testable import RecsyncS3

final class EncodingTests: XCTestCase {
    func testURIEncodingKeepsOnlyUnreservedCharacters() {
        XCTAssertEqual(URIEncoding.encode("AZaz09-._~", keepSlash: false), "AZaz09-._~")
        XCTAssertEqual(URIEncoding.encode("a b+c=d&e", keepSlash: false), "a%20b%2Bc%3Dd%26e")
        XCTAssertEqual(URIEncoding.encode("!*'()$,;:@?#[]%", keepSlash: false), "%21%2A%27%28%29%24%2C%3B%3A%40%3F%23%5B%5D%25")
        XCTAssertEqual(URIEncoding.encode("dir/sub dir/é.wav", keepSlash: true), "dir/sub%20dir/%C3%A9.wav")
        XCTAssertEqual(URIEncoding.encode("dir/x", keepSlash: false), "dir%2Fx")
        XCTAssertEqual(URIEncoding.encode("日本", keepSlash: true), "%E6%97%A5%E6%9C%AC")
    }

    func testCanonicalQuerySortsEncodedPairs() {
        let query = URIEncoding.canonicalQuery([("prefix", "a b/c"), ("list-type", "2"), ("continuation-token", "x=y+z")])
        XCTAssertEqual(query, "continuation-token=x%3Dy%2Bz&list-type=2&prefix=a%20b%2Fc")
    }

    func testRFC2047RoundTrip() {
        for value in ["Überspielung", "日本語の録音", "emoji 🎙️", " leading space", "trailing ", "=?looks-encoded?="] {
            let encoded = MetadataEncoding.encodeValue(value)
            XCTAssertTrue(encoded.hasPrefix("=?UTF-8?B?") && encoded.hasSuffix("?="), encoded)
            XCTAssertTrue(encoded.utf8.allSatisfy { $0 < 0x80 }, "header value must be ASCII")
            XCTAssertEqual(MetadataEncoding.decodeValue(encoded), value)
        }
        XCTAssertEqual(MetadataEncoding.encodeValue("plain ascii-value_1"), "plain ascii-value_1")
        XCTAssertEqual(MetadataEncoding.decodeValue("plain ascii-value_1"), "plain ascii-value_1")
        XCTAssertEqual(MetadataEncoding.decodeValue("=?UTF-8?B?w5w=?="), "Ü")
        XCTAssertEqual(MetadataEncoding.decodeValue("=?utf-8?b?w5w=?= =?UTF-8?Q?ber_den?="), "Über den")
        XCTAssertEqual(MetadataEncoding.decodeValue("=?ISO-8859-1?B?3A==?="), "=?ISO-8859-1?B?3A==?=", "unknown charsets are left alone")
    }

    func testMetadataHeadersValidate() throws {
        let headers = try MetadataEncoding.headers(for: ["Take": "3", "Title": "Café"])
        XCTAssertEqual(headers.map(\.name), ["x-amz-meta-take", "x-amz-meta-title"])
        XCTAssertEqual(headers[1].value, "=?UTF-8?B?Q2Fmw6k=?=")
        XCTAssertThrowsError(try MetadataEncoding.headers(for: ["a": "line\nbreak"])) { error in
            XCTAssertEqual((error as? S3Error)?.retryable, false)
            XCTAssertTrue("\(error)".contains("control characters"))
        }
        XCTAssertThrowsError(try MetadataEncoding.headers(for: ["bad name": "v"]))
        XCTAssertThrowsError(try MetadataEncoding.headers(for: ["": "v"]))
    }

    func testHTTPDates() {
        XCTAssertEqual(HTTPDate.parseRFC1123("Fri, 24 May 2013 00:00:00 GMT"), Date(timeIntervalSince1970: 1_369_353_600))
        XCTAssertEqual(HTTPDate.parseISO8601("2013-05-24T00:00:01.500Z"), Date(timeIntervalSince1970: 1_369_353_601.5))
        XCTAssertNil(HTTPDate.parseRFC1123("yesterday"))
        // A hostile or broken server's dates are refused, never trapped on.
        for text in ["Fri, 99999999999999 May 2013 00:00:00 GMT", "Fri, 24 May 99999999999999999 00:00:00 GMT",
                     "Fri, 24 May -5 00:00:00 GMT", "Fri, 31 Feb 2013 00:00:00 GMT", "Fri, 24 May 2013 99:00:00 GMT",
                     "Fri, 24 May 2013 00:00:-1 GMT", "Fri, 0 May 2013 00:00:00 GMT", "Fri, 24 May 2013 00:00:00:00 GMT"] {
            XCTAssertNil(HTTPDate.parseRFC1123(text), text)
        }
        for text in ["99999-05-24T00:00:01Z", "2013-13-24T00:00:01Z", "2013-05-24T25:00:01Z", "2013-02-30T00:00:00Z",
                     "-013-05-24T00:00:01Z", ""] {
            XCTAssertNil(HTTPDate.parseISO8601(text), text)
        }
        XCTAssertEqual(HTTPDate.parseISO8601("2013-05-24T00:00:01.9999999999999999999999Z")?.timeIntervalSince1970 ?? 0,
                       1_369_353_601.999_999_999, accuracy: 0.000_001, "a long fraction is cut at nanoseconds")
    }

    func testCredentialsDescriptionRedactsSecrets() {
        let credentials = S3Credentials(accessKeyId: "AKIDVISIBLE", secretAccessKey: "topsecretvalue", sessionToken: "sessiontokenvalue")
        for text in ["\(credentials)", String(reflecting: credentials), { var s = ""; dump(credentials, to: &s); return s }()] {
            XCTAssertTrue(text.contains("AKIDVISIBLE"), text)
            XCTAssertFalse(text.contains("topsecretvalue"), text)
            XCTAssertFalse(text.contains("sessiontokenvalue"), text)
        }
    }
}
