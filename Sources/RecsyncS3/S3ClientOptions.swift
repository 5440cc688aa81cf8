import FoundationEssentials

/// Tuning for `CurlS3Client`.
public struct S3ClientOptions: Sendable {
    /// Maximum time to establish a TCP/TLS connection. Running out of it is reported like a
    /// refused connection (curl 7, `S3Error.endpointUnreachable`).
    public var connectTimeout: TimeInterval
    /// Once the request is sent, a transfer that moves no byte either way for this long fails
    /// with a retryable timeout (curl 28, not `endpointUnreachable`). Checked about once a second.
    public var stallTimeout: TimeInterval
    /// `User-Agent` header value.
    public var userAgent: String
    /// Size of aws-chunked upload chunks; at least 8 KiB (S3's minimum for all chunks but the last).
    public var chunkSize: Int
    /// How many idle curl handles (and their keep-alive connections) are kept for reuse.
    public var maxIdleHandles: Int
    /// Upload bandwidth limit in bytes per second, shared by all uploads (PutObject and
    /// UploadPart bodies) running on the client at the same time; nil or 0 means unlimited.
    /// Limits below 1 KiB/s are raised to 1 KiB/s.
    public var maxUploadRate: Int64?
    /// The upload rate will be changed while the client runs (``CurlS3Client/setUploadRate(_:)``,
    /// for `upload_schedule`). Without it, and without ``maxUploadRate``, uploads pass no limiter.
    public var adjustableUploadRate = false
    /// A PEM file of the certificate authorities to trust for https:// (`AWS_CA_BUNDLE`); nil:
    /// the system store. Certificates are always verified: there is no way to turn that off.
    public var caBundle: String?
    /// What uploads are checked against (`upload_checksum`): a signed SHA-256, a CRC-32C
    /// trailer, or (`auto`) the trailer where a probe shows the server checks it. The client's
    /// own default sends nothing it was not asked to; the daemon passes the setting (`auto`).
    public var uploadChecksum: UploadChecksumChoice = .sha256

    public init(connectTimeout: TimeInterval = 10, stallTimeout: TimeInterval = 30,
                userAgent: String = "recsync-s3/1.0", chunkSize: Int = 1 << 20, maxIdleHandles: Int = 8,
                maxUploadRate: Int64? = nil) {
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.userAgent = userAgent
        self.chunkSize = max(chunkSize, 8 * 1024)
        self.maxIdleHandles = max(maxIdleHandles, 1)
        self.maxUploadRate = maxUploadRate
    }
}
