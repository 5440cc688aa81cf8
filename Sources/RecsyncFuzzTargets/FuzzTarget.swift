import FoundationEssentials
import RecsyncCore
import RecsyncFS
import RecsyncS3

/// A parser of input from outside (a server's answers, a config file, a recording's header, a
/// file name) and the promises its result keeps whatever the bytes. Fuzzers feed it: the
/// in-suite mutation fuzzer (`FuzzTests`) and the coverage-guided libFuzzer build
/// (`recsync-fuzz`, `scripts/libfuzzer.sh`). A trap is a failure too: none may happen.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case httpDate = "http-date"
    case s3XML = "s3-xml"
    case metadata
    case toml
    case audio
    case keyPattern = "key-pattern"
    case sigv4

    /// Feeds `bytes` to the parser; returns the promises its result broke (empty when none).
    public func check(_ bytes: [UInt8]) -> [String] {
        var broken: [String] = []
        func expect(_ condition: Bool, _ promise: @autoclosure () -> String) {
            if !condition { broken.append(promise()) }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        switch self {
        case .httpDate:
            for date in [HTTPDate.parseRFC1123(text), HTTPDate.parseISO8601(text)].compactMap({ $0 }) {
                expect((0...253_402_300_800).contains(date.timeIntervalSince1970), "a date lies within the years 1970...9999")
            }
        case .s3XML:
            let data = Data(bytes)
            _ = S3ErrorBody.parse(data)
            if let page = ListObjectsPage.parse(data) { expect(page.objects.allSatisfy { $0.size >= 0 }, "a listed size is not negative") }
            if let page = MultipartXML.PartsPage.parse(data) { expect(page.parts.allSatisfy { $0.size >= 0 }, "a part size is not negative") }
            _ = MultipartXML.UploadsPage.parse(data)
            _ = MultipartXML.uploadId(from: data)
            if case .completed = MultipartXML.completeOutcome(data) {
                expect(text.contains("CompleteMultipartUpload"), "only a CompleteMultipartUpload result completes an upload")
            }
        case .metadata:
            let decoded = MetadataEncoding.decodeValue(text)
            expect(String(validating: Array(decoded.utf8), as: UTF8.self) != nil, "a decoded value is valid UTF-8")
            if let encoded = try? MetadataEncoding.headers(for: ["x": text]).first?.value {
                expect(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "a header value is printable ASCII")
                expect(MetadataEncoding.decodeValue(encoded) == text || text.isEmpty, "a value survives the round trip")
            }
        case .toml:
            do { _ = try RecsyncConfig.parse(bytes: bytes, source: "fuzz", environment: [:]) } catch is ConfigError {} catch {
                broken.append("a config file fails with a ConfigError, not \(error)")
            }
        case .audio:
            if let seconds = AudioDuration.seconds(data: Data(bytes)) {
                expect(seconds.isFinite && seconds >= 0, "a duration is a finite, non-negative number")
            }
        case .keyPattern:
            checkKeyPattern(bytes, text: text, expect: expect)
        case .sigv4:
            checkSigV4(text, expect: expect)
        }
        return broken
    }

    private func checkKeyPattern(_ bytes: [UInt8], text: String, expect: (Bool, @autoclosure () -> String) -> Void) {
        let nameBytes = bytes.filter { $0 != 0 }
        let name = NameCoding.text(nameBytes)
        expect(NameCoding.bytes(of: name) == nameBytes, "a name's bytes survive the round trip through text")
        expect(NameCoding.bytes(of: KeyPattern.name(fromKeyText: KeyPattern.keyText(name))) == nameBytes,
               "a name survives the round trip through a key")
        guard let pattern = try? KeyPattern(text) else { return }
        let date = Date(timeIntervalSince1970: 1_795_615_387)
        for path in ["take.wav", "a/b/" + name, name] where !name.isEmpty {
            if let key = try? pattern.render(KeyContext(userId: "u", relativePath: path, timestamp: date, hostname: "h")) {
                expect(key.utf8.count <= 1024, "a key is at most 1,024 bytes")
                expect(!key.unicodeScalars.contains("\0"), "a key holds no NUL")
            }
        }
    }

    private func checkSigV4(_ text: String, expect: (Bool, @autoclosure () -> String) -> Void) {
        let signer = SigV4Signer(credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"), region: "us-east-1")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let query = (lines.count > 2 ? lines[2] : "").split(separator: "&").map { pair -> (name: String, value: String) in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        }
        let request = SignableRequest(method: lines.first ?? "GET", encodedPath: lines.count > 1 ? lines[1] : "/",
                                      query: query, headers: [("host", "h"), ("x-amz-date", "20260101T000000Z"), ("x-fuzz", text)],
                                      payloadHash: "UNSIGNED-PAYLOAD")
        let result = signer.sign(request, at: Date(timeIntervalSince1970: 1_767_225_600))
        expect(result.authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AK/"), "an authorization header names the scheme and key")
        expect(!result.canonicalRequest.isEmpty && !result.signature.isEmpty, "a request is always signed")
    }
}
