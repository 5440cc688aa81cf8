import CCurl
import FoundationEssentials

/// One HTTP exchange to run with libcurl.
struct HTTPRequest {
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var body: RequestBodySource?
    /// Maps bytes of the encoded body to bytes of the caller's payload, for progress reports.
    var progressMapping: ((Int64) -> Int64)?
    var progress: (@Sendable (Int64) -> Void)?
    var shouldCancel: (@Sendable () -> Bool)?
    /// Whether the body counts against the client's upload rate limit (file uploads do).
    var rateLimited = false
    /// The time the request was signed with, to recognise clock-skew answers without a body.
    var signedAt: Date?
    /// Which credentials signed it (see `CurlS3Client.AuthState.generation`).
    var credentialsGeneration = 0
    /// Overrides the client's stall timeout for this request (at least that long), for answers
    /// a server may legitimately take a long time to start.
    var minimumStallTimeout: TimeInterval?
    /// The largest answer body accepted; a server that sends more gets the transfer cut
    /// (`invalidResponse`), so no answer can grow the daemon's memory without bound. Only object
    /// downloads lift it.
    var maximumResponseBytes: Int? = HTTPRequest.defaultMaximumResponseBytes
    static let defaultMaximumResponseBytes = 16 << 20
}

struct HTTPResponse {
    var status: Int
    /// Lowercased header names; the last value wins for repeated headers.
    var headers: [String: String]
    var body: Data
}

/// State shared between a running transfer and its C callbacks. Owned by the calling thread;
/// libcurl invokes the callbacks on that same thread, inside `curl_easy_perform`.
final class CurlTransferState {
    var status = 0
    var headers: [String: String] = [:]
    var body = Data()
    var source: RequestBodySource?
    var progressMapping: ((Int64) -> Int64)?
    var progress: (@Sendable (Int64) -> Void)?
    var shouldCancel: (@Sendable () -> Bool)?
    /// The client's upload limiter when this transfer's body is rate limited.
    var rateLimiter: UploadRateLimiter?
    var cancelled = false
    var lastReport = ContinuousClock.now
    var lastCancelCheck = ContinuousClock.now
    var lastReportedValue: Int64 = -1
    /// The easy handle running the transfer, to ask whether it has connected yet.
    var curl: UnsafeMutableRawPointer?
    /// No byte moved for this long once connected: the transfer is stalled.
    var stallTimeout: Duration = .seconds(30)
    var connected = false
    var lastActivity = ContinuousClock.now
    var lastCounters: (download: curl_off_t, upload: curl_off_t) = (0, 0)
    var stalled = false
    var maximumResponseBytes: Int?
    var responseTooLarge = false

    init() {}

    /// Notes that bytes moved (a header line, body data, or upload data).
    func noteActivity() { lastActivity = ContinuousClock.now }
}

/// Runs `HTTPRequest`s on pooled curl handles.
struct CurlTransport: Sendable {
    let pool: CurlHandlePool
    let options: S3ClientOptions
    /// Shared by every transfer of the client; nil when uploads are not limited.
    var rateLimiter: UploadRateLimiter? = nil

    /// curl's upload buffer for bodies larger than its default (64 KiB): one per transfer running.
    static let fileUploadBufferSize = 512 << 10
    static let defaultUploadBufferSize: Int64 = 64 << 10

    func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        let handle = try pool.checkout()
        var discard = false
        defer { pool.checkin(handle, discard: discard) }
        let curl = handle.raw
        curl_easy_reset(curl)

        // A POST always sends a body, if only an empty one, so that curl sends Content-Length: 0.
        let body = request.body ?? (request.method == "POST" ? DataBodySource(Data()) : nil)
        let state = CurlTransferState()
        state.source = body
        state.rateLimiter = request.rateLimited ? rateLimiter : nil
        state.progressMapping = request.progressMapping
        state.progress = request.progress
        state.shouldCancel = request.shouldCancel
        state.maximumResponseBytes = request.maximumResponseBytes
        state.curl = curl
        let stallTimeout = max(options.stallTimeout, request.minimumStallTimeout ?? 0)
        state.stallTimeout = .milliseconds(Int64(max(stallTimeout, 0.001) * 1000))
        // Safe: `state` outlives the transfer (released only after curl_easy_perform returns and
        // the options pointing at it are reset on the next use of the handle).
        let statePointer = Unmanaged.passUnretained(state).toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers {
            // curl drops a header written "Name:" with nothing after it; "Name;" sends it empty.
            // Signed headers must reach the server exactly as signed, empty ones included.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            headerList = curl_slist_append(headerList, line)
        }
        if body != nil { headerList = curl_slist_append(headerList, "Expect:") }
        if request.method == "POST", !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            // Without this curl would add (unsigned) Content-Type: application/x-www-form-urlencoded.
            headerList = curl_slist_append(headerList, "Content-Type:")
        }
        headerList = curl_slist_append(headerList, "Accept:")

        // Safe: the buffer is written by curl during perform and read right after; freed by defer.
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }

        _ = recsync_curl_setopt_str(curl, CURLOPT_URL, request.url)
        _ = recsync_curl_setopt_slist(curl, CURLOPT_HTTPHEADER, headerList)
        _ = recsync_curl_setopt_str(curl, CURLOPT_USERAGENT, options.userAgent)
        if let caBundle = options.caBundle { _ = recsync_curl_setopt_str(curl, CURLOPT_CAINFO, caBundle) }
        _ = recsync_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = recsync_curl_setopt_long(curl, CURLOPT_TCP_KEEPALIVE, 1)
        _ = recsync_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
        // curl's low-speed check averages over the last five seconds, so it fires up to ~6 s
        // after `stallTimeout`; the progress callback enforces it exactly and this is a backstop.
        _ = recsync_curl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1)
        _ = recsync_curl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, max(1, Int(stallTimeout.rounded(.up))))
        _ = recsync_curl_setopt_ptr(curl, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = recsync_curl_setopt_write_cb(curl, curlWriteCallback)
        _ = recsync_curl_setopt_ptr(curl, CURLOPT_WRITEDATA, statePointer)
        _ = recsync_curl_setopt_header_cb(curl, curlHeaderCallback)
        _ = recsync_curl_setopt_ptr(curl, CURLOPT_HEADERDATA, statePointer)
        _ = recsync_curl_setopt_xferinfo_cb(curl, curlProgressCallback)
        _ = recsync_curl_setopt_ptr(curl, CURLOPT_XFERINFODATA, statePointer)
        _ = recsync_curl_setopt_long(curl, CURLOPT_NOPROGRESS, 0)

        switch request.method {
        case "GET":
            _ = recsync_curl_setopt_long(curl, CURLOPT_HTTPGET, 1)
        case "HEAD":
            _ = recsync_curl_setopt_long(curl, CURLOPT_NOBODY, 1)
        case "PUT" where body != nil:
            _ = recsync_curl_setopt_long(curl, CURLOPT_UPLOAD, 1)
            if body!.contentLength > Self.defaultUploadBufferSize {
                // Bigger reads and sends than curl's 64 KiB default: fewer read callbacks and
                // send calls for file bodies (a tenth less CPU per GiB on a local server).
                _ = recsync_curl_setopt_long(curl, CURLOPT_UPLOAD_BUFFERSIZE, Self.fileUploadBufferSize)
            }
            _ = recsync_curl_setopt_off(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(body!.contentLength))
            _ = recsync_curl_setopt_read_cb(curl, curlReadCallback)
            _ = recsync_curl_setopt_ptr(curl, CURLOPT_READDATA, statePointer)
        case "POST" where body != nil:
            _ = recsync_curl_setopt_long(curl, CURLOPT_POST, 1)
            _ = recsync_curl_setopt_off(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body!.contentLength))
            _ = recsync_curl_setopt_read_cb(curl, curlReadCallback)
            _ = recsync_curl_setopt_ptr(curl, CURLOPT_READDATA, statePointer)
        default:
            _ = recsync_curl_setopt_str(curl, CURLOPT_CUSTOMREQUEST, request.method)
        }

        let code = withExtendedLifetime(state) { curl_easy_perform(curl) }
        if code != CURLE_OK {
            discard = true
            if state.cancelled { throw S3Error(.cancelled) }
            if state.responseTooLarge {
                throw S3Error(.invalidResponse(message: "the server's answer is larger than \(request.maximumResponseBytes ?? 0) bytes, "
                                               + "which no S3 answer to this request is; check the endpoint"))
            }
            if state.stalled {
                throw S3Error(.transport(curlCode: Int32(CURLE_OPERATION_TIMEDOUT.rawValue),
                                         message: "no data moved for \(stallTimeout) s (stall timeout)"))
            }
            if let failure = state.source?.failure { throw failure }
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            // curl reports a connect timeout as CURLE_OPERATION_TIMEDOUT, like a stalled
            // transfer; a timeout before the request could be sent means the endpoint is unreachable.
            if code == CURLE_OPERATION_TIMEDOUT && !Self.connected(curl) {
                throw S3Error(.transport(curlCode: Int32(CURLE_COULDNT_CONNECT.rawValue), message: message))
            }
            throw S3Error(.transport(curlCode: Int32(code.rawValue), message: message))
        }
        var status = 0
        _ = recsync_curl_getinfo_long(curl, CURLINFO_RESPONSE_CODE, &status)
        if let progress = request.progress, let mapping = request.progressMapping, let source = request.body {
            progress(mapping(source.contentLength))
        }
        return HTTPResponse(status: status, headers: state.headers, body: state.body)
    }

    /// Whether the transfer on `curl` has reached the server: it sent request bytes. This also
    /// holds on a reused keep-alive connection, whose connect time curl reports as zero.
    static func connected(_ curl: UnsafeMutableRawPointer) -> Bool {
        var requestBytes = 0
        // Safe: `&requestBytes` points at an Int (C long) that lives for the whole call.
        _ = recsync_curl_getinfo_long(curl, CURLINFO_REQUEST_SIZE, &requestBytes)
        return requestBytes > 0
    }
}

// C callbacks. `userdata` is always the `CurlTransferState` passed with the matching *DATA option.

private func curlWriteCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                               _ userdata: UnsafeMutableRawPointer?) -> Int {
    // Safe: userdata is the unretained CurlTransferState kept alive for the whole perform call.
    let state = Unmanaged<CurlTransferState>.fromOpaque(userdata!).takeUnretainedValue()
    let length = size * count
    state.noteActivity()
    // Safe: curl guarantees `data` points at `length` readable bytes for this call.
    if let limit = state.maximumResponseBytes, state.body.count + length > limit {
        state.responseTooLarge = true
        return 0  // curl stops the transfer (CURLE_WRITE_ERROR)
    }
    if length > 0, let data { state.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length) }
    return length
}

private func curlHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                                _ userdata: UnsafeMutableRawPointer?) -> Int {
    // Safe: userdata is the unretained CurlTransferState kept alive for the whole perform call.
    let state = Unmanaged<CurlTransferState>.fromOpaque(userdata!).takeUnretainedValue()
    let length = size * count
    state.noteActivity()
    guard let data, length > 0 else { return length }
    // Safe: curl guarantees `data` points at `length` readable bytes for this call.
    let bytes = UnsafeRawBufferPointer(start: data, count: length)
    if bytes.starts(with: "HTTP/".utf8) {
        // A new response (e.g. after an interim 1xx): start over.
        state.headers = [:]
        let parts = ASCIIText.trimmed(bytes).split(separator: " ", maxSplits: 2)
        state.status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
    } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
        // Safe: both halves lie within `bytes`.
        let name = ASCIIText.lowercased(ASCIIText.trimmed(UnsafeRawBufferPointer(rebasing: bytes[..<colon])))
        state.headers[name] = ASCIIText.trimmed(UnsafeRawBufferPointer(rebasing: bytes[(colon + 1)...]))
    }
    return length
}

private func curlReadCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                              _ userdata: UnsafeMutableRawPointer?) -> Int {
    // Safe: userdata is the unretained CurlTransferState kept alive for the whole perform call.
    let state = Unmanaged<CurlTransferState>.fromOpaque(userdata!).takeUnretainedValue()
    guard let buffer, let source = state.source else { return 0 }
    state.noteActivity()
    // Safe: curl hands us `size * count` writable bytes at `buffer`.
    var destination = UnsafeMutableRawBufferPointer(start: buffer, count: size * count)
    let slice = state.rateLimiter?.sliceSize
    if let slice, destination.count > slice {
        // Safe: a prefix of the buffer curl handed us.
        destination = UnsafeMutableRawBufferPointer(rebasing: destination[0..<slice])
    }
    guard let produced = source.read(into: destination) else { return Int(CURL_READFUNC_ABORT) }
    if produced > 0, let limiter = state.rateLimiter {
        guard limiter.waitToSend(produced, sizedUnlimited: slice == nil, shouldCancel: state.shouldCancel) else {
            state.cancelled = true
            return Int(CURL_READFUNC_ABORT)
        }
        state.noteActivity()
    }
    return produced
}

private func curlProgressCallback(_ userdata: UnsafeMutableRawPointer?, _ dlTotal: curl_off_t, _ dlNow: curl_off_t,
                                  _ ulTotal: curl_off_t, _ ulNow: curl_off_t) -> Int32 {
    // Safe: userdata is the unretained CurlTransferState kept alive for the whole perform call.
    let state = Unmanaged<CurlTransferState>.fromOpaque(userdata!).takeUnretainedValue()
    let now = ContinuousClock.now
    if let curl = state.curl {
        if !state.connected {
            // The stall clock starts once the request goes out; before that CURLOPT_CONNECTTIMEOUT applies.
            state.connected = CurlTransport.connected(curl)
            if state.connected { state.lastActivity = now }
        } else if (dlNow, ulNow) != state.lastCounters {
            state.lastCounters = (dlNow, ulNow)
            state.lastActivity = now
        } else if now - state.lastActivity >= state.stallTimeout {
            state.stalled = true
            return 1
        }
    }
    if let shouldCancel = state.shouldCancel, now - state.lastCancelCheck >= .milliseconds(100) {
        state.lastCancelCheck = now
        if shouldCancel() {
            state.cancelled = true
            return 1
        }
    }
    // curl calls this at least once a second, so reporting every half second keeps the caller's
    // "at least once a second" promise without flooding it.
    if let progress = state.progress, let mapping = state.progressMapping, now - state.lastReport >= .milliseconds(500) {
        state.lastReport = now
        let value = mapping(Int64(ulNow))
        state.lastReportedValue = value
        progress(value)
    }
    return 0
}
