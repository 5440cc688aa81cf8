import Foundation
import Logging

/// The production `S3Client`: libcurl for HTTP, SigV4 written on libcrypto.
///
/// Thread-safe: all stored properties are immutable and `Sendable`; curl handles are checked out
/// of a locked pool for the duration of one request.
public final class CurlS3Client: S3Client {
    public let endpoint: S3Endpoint
    public let options: S3ClientOptions
    let signer: SigV4Signer
    let transport: CurlTransport
    let logger: Logger
    private let sessionToken: String?

    /// Creates a client. No connection is made until the first request.
    /// Requests are logged at debug level, without credentials or signatures.
    public init(endpoint: S3Endpoint, credentials: S3Credentials, logger: Logger = Logger(label: "recsync.s3"),
                options: S3ClientOptions = .init()) {
        self.endpoint = endpoint
        self.options = options
        self.logger = logger
        self.sessionToken = credentials.sessionToken
        self.signer = SigV4Signer(credentials: credentials, region: endpoint.region)
        self.transport = CurlTransport(pool: CurlHandlePool(maxIdle: options.maxIdleHandles), options: options)
    }

    /// A signed request ready for the transport, plus what streaming uploads need to chain
    /// chunk signatures.
    struct PreparedRequest {
        var http: HTTPRequest
        var signature: SignatureResult
    }

    /// Builds and signs a request. `payloadHash` is the hex SHA-256 of the body (or the
    /// streaming marker); `headers` are extra headers, all signed.
    func prepare(method: String, bucket: String, key: String?, query: [(name: String, value: String)] = [],
                 headers extra: [(name: String, value: String)] = [], payloadHash: String,
                 at date: Date = Date()) -> PreparedRequest {
        let target = endpoint.target(bucket: bucket, key: key)
        var headers: [(name: String, value: String)] = [
            ("Host", target.host),
            ("x-amz-date", SigV4Signer.amzDate(date)),
            ("x-amz-content-sha256", payloadHash),
        ]
        if let sessionToken { headers.append(("x-amz-security-token", sessionToken)) }
        headers += extra
        let signable = SignableRequest(method: method, encodedPath: target.path, query: query,
                                       headers: headers, payloadHash: payloadHash)
        let signature = signer.sign(signable, at: date)
        headers.append(("Authorization", signature.authorization))
        let queryString = URIEncoding.canonicalQuery(query)
        let url = target.url + (queryString.isEmpty ? "" : "?" + queryString)
        return PreparedRequest(http: HTTPRequest(method: method, url: url, headers: headers), signature: signature)
    }

    /// Sends a request and turns transport failures and error statuses into `S3Error`s tagged
    /// with `operation`. Statuses in `accept` are returned to the caller.
    func send(_ request: HTTPRequest, operation: String, accept: Set<Int> = [200]) throws -> HTTPResponse {
        let start = ContinuousClock.now
        let response: HTTPResponse
        do {
            response = try transport.perform(request)
        } catch var error as S3Error {
            error.operation = operation
            logger.debug("S3 request failed", metadata: ["operation": "\(operation)", "error": "\(error)"])
            throw error
        }
        logger.debug("S3 request", metadata: [
            "operation": "\(operation)", "status": "\(response.status)",
            "elapsed": "\(ContinuousClock.now - start)",
        ])
        if accept.contains(response.status) { return response }
        throw Self.httpError(response, operation: operation)
    }

    static func httpError(_ response: HTTPResponse, operation: String) -> S3Error {
        let requestId = response.headers["x-amz-request-id"]
        if let parsed = S3ErrorBody.parse(response.body) {
            return S3Error(.http(status: response.status, code: parsed.code, message: parsed.message,
                                 requestId: parsed.requestId ?? requestId), operation: operation)
        }
        let snippet = String(decoding: response.body.prefix(200), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return S3Error(.http(status: response.status, code: S3Error.codeForStatus(response.status),
                             message: snippet, requestId: requestId), operation: operation)
    }
}
