import FoundationEssentials
import Logging
import Synchronization
import RecsyncPrimitives

/// The production `S3Client`: libcurl for HTTP, SigV4 written on libcrypto.
///
/// Thread-safe. Locking rule: the signing state (signer, session token, clock offset) is only
/// read or changed inside `auth`'s Mutex, and each request signs with one snapshot of it;
/// `refreshLock` is held while calling the credentials provider so that one expired token
/// triggers one reload, and it is taken before `auth`, never after. Curl handles are checked out
/// of a locked pool for the duration of one request.
public final class CurlS3Client: S3Client {
    public let endpoint: S3Endpoint
    public let options: S3ClientOptions
    let transport: CurlTransport
    /// Shared by every upload of this client; nil when uploads are never limited.
    let rateLimiter: UploadRateLimiter?
    let logger: Logger
    let credentialsProvider: (@Sendable () throws -> S3Credentials)?

    /// What requests are signed with. `generation` grows with every credentials reload.
    struct AuthState: Sendable {
        var signer: SigV4Signer
        var sessionToken: String?
        var generation: Int
        var clockOffset: TimeInterval
    }

    private let auth: Mutex<AuthState>
    /// The `upload_checksum = "auto"` probe's state (CurlS3Client+Checksums.swift).
    let checksumProbe = Mutex(ChecksumProbeState())
    private let refreshLock = Mutex<Void>(())

    /// Creates a client. No connection is made until the first request.
    /// Requests are logged at debug level, without credentials or signatures.
    ///
    /// `credentialsProvider`, when given, is called after a request fails with `ExpiredToken`
    /// or `TokenRefreshRequired`; the credentials it returns are used from the next request on.
    public init(endpoint: S3Endpoint, credentials: S3Credentials, logger: Logger = Logger(label: "recsync.s3"),
                options: S3ClientOptions = .init(),
                credentialsProvider: (@Sendable () throws -> S3Credentials)? = nil) {
        self.endpoint = endpoint
        self.options = options
        self.logger = logger
        self.credentialsProvider = credentialsProvider
        self.auth = Mutex(AuthState(signer: SigV4Signer(credentials: credentials, region: endpoint.region),
                                    sessionToken: credentials.sessionToken, generation: 0, clockOffset: 0))
        let rate = options.maxUploadRate.flatMap { $0 > 0 ? $0 : nil }
        let limiter = rate != nil || options.adjustableUploadRate ? UploadRateLimiter(bytesPerSecond: rate) : nil
        self.rateLimiter = limiter
        self.transport = CurlTransport(pool: CurlHandlePool(maxIdle: options.maxIdleHandles), options: options,
                                       rateLimiter: limiter)
    }

    /// Changes the upload bandwidth limit (bytes per second; nil or 0: none) for the bytes sent
    /// from now on, by uploads already running too. Needs ``S3ClientOptions/adjustableUploadRate``
    /// or a ``S3ClientOptions/maxUploadRate``; without either it does nothing.
    public func setUploadRate(_ bytesPerSecond: Int64?) {
        rateLimiter?.setRate(bytesPerSecond)
    }

    /// The upload bandwidth limit now; nil: none.
    public var uploadRate: Int64? { rateLimiter?.bytesPerSecond }

    /// Seconds added to the local clock when signing: the server's time minus ours, as learnt
    /// from the last `RequestTimeTooSkewed` answer (0 until then).
    public var clockOffset: TimeInterval { auth.withLock { $0.clockOffset } }

    /// The signer of the current credentials.
    var signer: SigV4Signer { auth.withLock { $0.signer } }

    /// Replaces the credentials; requests prepared from now on are signed with them. The cached
    /// signing key belongs to the old signer and is dropped with it. Transfers already running
    /// finish with the credentials they started with.
    public func reloadCredentials(_ credentials: S3Credentials) {
        let signer = SigV4Signer(credentials: credentials, region: endpoint.region)
        auth.withLock { state in
            state.signer = signer
            state.sessionToken = credentials.sessionToken
            state.generation += 1
        }
        logger.info("S3 credentials reloaded")
    }

    /// A signed request ready for the transport, plus what streaming uploads need to chain
    /// chunk signatures (with the same signer that made the seed signature).
    struct PreparedRequest {
        var http: HTTPRequest
        var signature: SignatureResult
        var signer: SigV4Signer
    }

    /// Builds and signs a request. `payloadHash` is the hex SHA-256 of the body (or the
    /// streaming marker); `headers` are extra headers, all signed. `date` defaults to the local
    /// clock corrected by `clockOffset`.
    func prepare(method: String, bucket: String, key: String?, query: [(name: String, value: String)] = [],
                 headers extra: [(name: String, value: String)] = [], payloadHash: String,
                 at date: Date? = nil) -> PreparedRequest {
        let state = auth.withLock { $0 }
        let date = date ?? Date().addingTimeInterval(state.clockOffset)
        let target = endpoint.target(bucket: bucket, key: key)
        var headers: [(name: String, value: String)] = [
            ("Host", target.host),
            ("x-amz-date", SigV4Signer.amzDate(date)),
            ("x-amz-content-sha256", payloadHash),
        ]
        if let sessionToken = state.sessionToken { headers.append(("x-amz-security-token", sessionToken)) }
        headers += extra
        let signable = SignableRequest(method: method, encodedPath: target.path, query: query,
                                       headers: headers, payloadHash: payloadHash)
        let signature = state.signer.sign(signable, at: date)
        headers.append(("Authorization", signature.authorization))
        let queryString = URIEncoding.canonicalQuery(query)
        let url = target.url + (queryString.isEmpty ? "" : "?" + queryString)
        var http = HTTPRequest(method: method, url: url, headers: headers)
        http.signedAt = date
        http.credentialsGeneration = state.generation
        return PreparedRequest(http: http, signature: signature, signer: state.signer)
    }

    /// Sends a request and turns transport failures and error statuses into `S3Error`s tagged
    /// with `operation`. Statuses in `accept` are returned to the caller.
    ///
    /// Before throwing `RequestTimeTooSkewed` the clock offset is corrected, and before throwing
    /// `ExpiredToken`/`TokenRefreshRequired` the credentials are reloaded from the provider, so
    /// that the caller can try again at once.
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
        let receivedAt = Date()
        logger.debug("S3 request", metadata: [
            "operation": "\(operation)", "status": "\(response.status)",
            "elapsed": "\(ContinuousClock.now - start)",
        ])
        if accept.contains(response.status) { return response }
        let error = Self.httpError(response, operation: operation, signedAt: request.signedAt)
        if case let .http(_, code, _, _) = error.kind {
            switch code {
            case "RequestTimeTooSkewed":
                correctClock(from: response, receivedAt: receivedAt, operation: operation)
            case "ExpiredToken", "TokenRefreshRequired":
                refreshCredentials(after: request.credentialsGeneration, operation: operation)
            default:
                break
            }
        }
        throw error
    }

    /// Sets `clockOffset` from the server's time in a `RequestTimeTooSkewed` answer: the error
    /// body's `ServerTime` when present, else the `Date` header.
    func correctClock(from response: HTTPResponse, receivedAt: Date, operation: String) {
        guard let serverTime = Self.serverTime(of: response) else {
            logger.warning("The server says the local clock is off but did not send its time; the clock offset stays unchanged. Synchronise the clock (e.g. enable NTP).",
                           metadata: ["operation": "\(operation)"])
            return
        }
        let offset = serverTime.timeIntervalSince(receivedAt)
        auth.withLock { $0.clockOffset = offset }
        logger.warning("The local clock differs from the S3 server's; requests are now signed with the server's time. Synchronise the clock (e.g. enable NTP).",
                       metadata: ["operation": "\(operation)", "offsetSeconds": "\(Int(offset.rounded()))"])
    }

    /// The server's clock as reported by an error answer.
    static func serverTime(of response: HTTPResponse) -> Date? {
        if let body = S3ErrorBody.parse(response.body), let text = body.serverTime,
           let date = HTTPDate.parseISO8601(text.trimmingWhitespace()) {
            return date
        }
        return response.headers["date"].flatMap(HTTPDate.parseRFC1123)
    }

    /// Calls the credentials provider after a request signed with credentials of `generation`
    /// was refused as expired. Concurrent failures of the same generation reload only once.
    func refreshCredentials(after generation: Int, operation: String) {
        guard let credentialsProvider else {
            logger.warning("The session token expired and no credentials source is configured to renew it.",
                           metadata: ["operation": "\(operation)"])
            return
        }
        refreshLock.withLock { _ in
            guard auth.withLock({ $0.generation }) == generation else { return } // already reloaded
            do {
                reloadCredentials(try credentialsProvider())
            } catch {
                logger.warning("Reloading expired S3 credentials failed; check the credentials source.",
                               metadata: ["operation": "\(operation)", "error": "\(error)"])
            }
        }
    }

    static func httpError(_ response: HTTPResponse, operation: String, signedAt: Date? = nil) -> S3Error {
        let requestId = response.headers["x-amz-request-id"]
        if let parsed = S3ErrorBody.parse(response.body) {
            return S3Error(.http(status: response.status, code: parsed.code, message: parsed.message,
                                 requestId: parsed.requestId ?? requestId), operation: operation)
        }
        let snippet = String(decoding: response.body.prefix(200), as: UTF8.self)
            .trimmingWhitespace()
        var code = S3Error.codeForStatus(response.status)
        // Answers without a body (HEAD) cannot name the error; a 403 whose Date is more than
        // S3's 15 minutes away from the signing time is taken as a skewed clock.
        if response.status == 403, let signedAt, let serverDate = response.headers["date"].flatMap(HTTPDate.parseRFC1123),
           abs(serverDate.timeIntervalSince(signedAt)) > maxClockSkew {
            code = "RequestTimeTooSkewed"
        }
        return S3Error(.http(status: response.status, code: code, message: snippet, requestId: requestId),
                       operation: operation)
    }

    /// How far S3 lets a request's signing time be from its own clock.
    static let maxClockSkew: TimeInterval = 15 * 60
}
