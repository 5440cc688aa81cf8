import FoundationEssentials
import Synchronization
import Glibc

/// A request as AWS Signature Version 4 sees it.
public struct SignableRequest: Sendable {
    /// HTTP method, e.g. `PUT`.
    public var method: String
    /// The already URI-encoded path, e.g. `/bucket/some%20key`.
    public var encodedPath: String
    /// Query parameters, not encoded; the signer encodes and sorts them.
    public var query: [(name: String, value: String)]
    /// Headers to send. All of them are signed except those in `unsignedHeaders`.
    public var headers: [(name: String, value: String)]
    /// Hex SHA-256 of the payload, or `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` for aws-chunked bodies.
    public var payloadHash: String
    /// Lowercased names of headers left out of the signature.
    public var unsignedHeaders: Set<String>

    public init(method: String, encodedPath: String, query: [(name: String, value: String)] = [],
                headers: [(name: String, value: String)], payloadHash: String,
                unsignedHeaders: Set<String> = SigV4Signer.defaultUnsignedHeaders) {
        self.method = method
        self.encodedPath = encodedPath
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
        self.unsignedHeaders = unsignedHeaders
    }
}

/// The result of signing: the `Authorization` value plus the intermediate strings (useful when
/// a server reports `SignatureDoesNotMatch` and one wants to compare canonical requests).
public struct SignatureResult: Sendable {
    public var authorization: String
    public var signature: String
    public var signedHeaders: String
    public var canonicalRequest: String
    public var stringToSign: String
    /// `DATE/REGION/s3/aws4_request`
    public var scope: String
    /// `YYYYMMDD'T'HHMMSS'Z'`
    public var amzDate: String
}

/// AWS Signature Version 4 for S3 (header-based, single chunk or aws-chunked streaming).
///
/// Locking rule: `keyCache` is the only mutable state and is only touched inside its Mutex.
public final class SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    public static let streamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    /// Headers not signed by default because libcurl or proxies may set or rewrite them.
    public static let defaultUnsignedHeaders: Set<String> = ["user-agent", "expect", "content-length", "accept", "authorization"]

    public let credentials: S3Credentials
    public let region: String
    public let service: String

    private struct CachedKey { var date: String; var region: String; var key: [UInt8] }
    private let keyCache = Mutex<CachedKey?>(nil)

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs `request` as of `date`. The caller must send `x-amz-date` equal to
    /// `SigV4Signer.amzDate(date)` (or a `date` header) and an `x-amz-content-sha256` header;
    /// this function signs what it is given and does not add headers.
    public func sign(_ request: SignableRequest, at date: Date) -> SignatureResult {
        let amzDate = Self.amzDate(date)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"

        // Canonical headers: lowercase names, trimmed values with inner runs of spaces collapsed,
        // duplicate names joined by commas, sorted by name.
        var merged: [String: [String]] = [:]
        for (name, value) in request.headers {
            let lower = name.lowercased()
            if request.unsignedHeaders.contains(lower) { continue }
            merged[lower, default: []].append(Self.normalizeHeaderValue(value))
        }
        let names = merged.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")

        let canonicalRequest = [
            request.method,
            request.encodedPath.isEmpty ? "/" : request.encodedPath,
            URIEncoding.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")

        let stringToSign = [Self.algorithm, amzDate, scope, Crypto.sha256Hex(canonicalRequest)]
            .joined(separator: "\n")
        let signature = Crypto.hex(Crypto.hmacSHA256(key: signingKey(day: day), stringToSign))
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return SignatureResult(authorization: authorization, signature: signature, signedHeaders: signedHeaders,
                               canonicalRequest: canonicalRequest, stringToSign: stringToSign,
                               scope: scope, amzDate: amzDate)
    }

    /// Signature of one aws-chunked chunk, chained from `previousSignature` (the seed signature
    /// for the first chunk). `chunkHash` is the raw SHA-256 of the chunk's data.
    public func chunkSignature(previousSignature: String, chunkHash: [UInt8], amzDate: String, scope: String) -> String {
        let stringToSign = [
            "AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previousSignature,
            Crypto.emptySHA256Hex, Crypto.hex(chunkHash),
        ].joined(separator: "\n")
        return Crypto.hex(Crypto.hmacSHA256(key: signingKey(day: String(amzDate.prefix(8))), stringToSign))
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request"),
    /// cached for the current day.
    func signingKey(day: String) -> [UInt8] {
        if let cached = keyCache.withLock({ $0 }), cached.date == day, cached.region == region {
            return cached.key
        }
        let kDate = Crypto.hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), day)
        let kRegion = Crypto.hmacSHA256(key: kDate, region)
        let kService = Crypto.hmacSHA256(key: kRegion, service)
        let kSigning = Crypto.hmacSHA256(key: kService, "aws4_request")
        keyCache.withLock { $0 = CachedKey(date: day, region: region, key: kSigning) }
        return kSigning
    }

    /// Formats `date` as SigV4's `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let s = String(value)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z"
    }

    static func normalizeHeaderValue(_ value: String) -> String {
        var out = ""
        var lastWasSpace = false
        for ch in value.trimmingASCIIWhitespace() {
            if ch == " " {
                if !lastWasSpace { out.append(ch) }
                lastWasSpace = true
            } else {
                out.append(ch)
                lastWasSpace = false
            }
        }
        return out
    }
}
