/// A failed S3 operation. `description` says what went wrong and what to do about it.
public struct S3Error: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// libcurl failed (DNS, connect, TLS, timeout, connection reset...). `curlCode` is the CURLcode.
        case transport(curlCode: Int32, message: String)
        /// The server answered with an error status. `code` is S3's error code (e.g. `NoSuchBucket`),
        /// or a name derived from the status when the response had no body (e.g. HEAD requests).
        case http(status: Int, code: String, message: String, requestId: String?)
        /// Reading the local file failed (the errno of the system call), or it was shorter than
        /// announced (errno 0: it changed while it was read).
        case io(errno: Int32, message: String)
        /// The caller's `shouldCancel` returned true.
        case cancelled
        /// The server's answer could not be understood (bad XML, missing ETag...).
        case invalidResponse(message: String)
        /// The request was refused before sending (bad metadata, bad key...).
        case invalidRequest(message: String)
    }

    public var kind: Kind
    /// What was being done, e.g. `PutObject my-bucket/a.wav`; nil when unknown.
    public var operation: String?

    public init(_ kind: Kind, operation: String? = nil) {
        self.kind = kind
        self.operation = operation
    }

    /// CURLcodes meaning the server could not be reached at all.
    static let unreachableCurlCodes: Set<Int32> = [
        5, // CURLE_COULDNT_RESOLVE_PROXY
        6, // CURLE_COULDNT_RESOLVE_HOST
        7, // CURLE_COULDNT_CONNECT (refused, unreachable, connect timeout)
    ]

    /// Whether trying the same request again later may succeed: transport failures and timeouts,
    /// 5xx (including 503 SlowDown), 408, 429, 400 RequestTimeout, 409 OperationAborted, and
    /// unparsable responses. Other 4xx, local I/O errors, cancellation and invalid requests are final.
    public var retryable: Bool {
        switch kind {
        case .transport: return true
        case .invalidResponse: return true
        case let .http(status, code, _, _): return Self.isRetryable(status: status, code: code)
        case .io, .cancelled, .invalidRequest: return false
        }
    }

    /// The classification table behind `retryable` for HTTP answers.
    public static func isRetryable(status: Int, code: String) -> Bool {
        switch status {
        case 500...599, 408, 429: return true
        case 400: return code == "RequestTimeout"
        case 409: return code == "OperationAborted"
        default: return false
        }
    }

    /// True when the endpoint could not be reached: name resolution failed, or the connection
    /// was refused or timed out while connecting.
    public var endpointUnreachable: Bool {
        if case let .transport(code, _) = kind { return Self.unreachableCurlCodes.contains(code) }
        return false
    }

    public var description: String {
        let prefix = operation.map { "\($0) failed: " } ?? "S3 request failed: "
        switch kind {
        case let .transport(code, message):
            let hint = endpointUnreachable
                ? "Check the endpoint URL and region, that the server is running, and the network/DNS; it will be retried."
                : code == 28 ? "The transfer timed out or stalled; check the network. It will be retried."
                : "Network or TLS failure; check the network and the endpoint's certificate. It will be retried."
            return "\(prefix)network error (curl \(code)): \(message). \(hint)"
        case let .http(status, code, message, requestId):
            let rid = requestId.map { " (request id \($0))" } ?? ""
            let text = message.isEmpty ? "" : ": \(message)"
            return "\(prefix)HTTP \(status) \(code)\(text)\(rid). \(Self.hint(status: status, code: code))"
        case let .io(errno, message) where errno == 0:
            return "\(prefix)the file changed while it was read: \(message)."
        case let .io(errno, message):
            return "\(prefix)local file error (errno \(errno)): \(message). Check the disk and the system's limits (open files, memory); the upload is tried again."
        case .cancelled:
            return "\(prefix)cancelled by the caller."
        case let .invalidResponse(message):
            return "\(prefix)unexpected response from the server: \(message). Check that the endpoint is an S3-compatible service; it will be retried."
        case let .invalidRequest(message):
            return "\(prefix)\(message)"
        }
    }

    static func hint(status: Int, code: String) -> String {
        switch code {
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AuthorizationHeaderMalformed":
            return "Check the access key, secret key, session token and region (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE)."
        case "AccessDenied", "AllAccessDisabled":
            return "The credentials lack permission; grant s3:PutObject/GetObject/ListBucket on the bucket."
        case "Forbidden":
            return "Refused without a reason (a HEAD answer has no body): check the access key, secret key and region "
                + "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and that they may read and write the bucket."
        case "NoSuchBucket":
            return "Create the bucket or correct the bucket name."
        case "NoSuchKey", "NotFound":
            return "The object does not exist."
        case "PermanentRedirect", "AuthorizationQueryParametersError", "IllegalLocationConstraintException":
            return "The bucket is in another region or needs another endpoint; fix the region/endpoint settings."
        case "RequestTimeTooSkewed":
            return "The local clock is wrong; synchronise it (e.g. enable NTP)."
        case "XAmzContentSHA256Mismatch", "BadDigest", "InvalidDigest":
            return "The server received different bytes than were sent (damaged on the way); they are sent again."
        default:
            return isRetryable(status: status, code: code)
                ? "The server is busy or failing; it will be retried."
                : "Fix the request or the server configuration; retrying will not help."
        }
    }

    /// The status S3 gives `code` when it answers with an error status, for errors it reports
    /// inside a 200 answer (CompleteMultipartUpload streams its result after the status line).
    /// Unknown codes count as server errors (500), so that the operation is tried again.
    static func statusForCode(_ code: String) -> Int {
        switch code {
        case "InternalError": return 500
        case "ServiceUnavailable", "SlowDown": return 503
        case "NoSuchUpload", "NoSuchBucket", "NoSuchKey": return 404
        case "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "RequestTimeTooSkewed": return 403
        case "OperationAborted": return 409
        case "RequestTimeout", "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge", "MalformedXML",
             "InvalidRequest", "InvalidArgument", "InvalidDigest", "BadDigest", "ExpiredToken", "InvalidToken",
             "KeyTooLongError", "MetadataTooLarge":
            return 400
        default: return 500
        }
    }

    /// A code name for error statuses whose response carries no XML body (HEAD requests).
    static func codeForStatus(_ status: Int) -> String {
        switch status {
        case 301: return "PermanentRedirect"
        case 307: return "TemporaryRedirect"
        case 400: return "BadRequest"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 405: return "MethodNotAllowed"
        case 408: return "RequestTimeout"
        case 409: return "Conflict"
        case 412: return "PreconditionFailed"
        case 429: return "TooManyRequests"
        case 500: return "InternalError"
        case 503: return "ServiceUnavailable"
        default: return "HTTP\(status)"
        }
    }
}

extension S3Error {
    /// HTTP 412: a conditional request (If-None-Match) found an object already there.
    public var isPreconditionFailed: Bool {
        if case let .http(status, code, _, _) = kind { return status == 412 || code == "PreconditionFailed" }
        return false
    }

    /// HTTP 404 NoSuchKey: no object under the key.
    /// The request was refused before it was sent.
    public var isInvalidRequest: Bool {
        if case .invalidRequest = kind { return true }
        return false
    }

    public var isNoSuchKey: Bool {
        if case let .http(status, code, _, _) = kind { return code == "NoSuchKey" || (status == 404 && code != "NoSuchBucket" && code != "NoSuchUpload") }
        return false
    }

    /// The server refused the request's signature.
    public var isSignatureMismatch: Bool {
        if case let .http(_, code, _, _) = kind { return code == "SignatureDoesNotMatch" }
        return false
    }
}
