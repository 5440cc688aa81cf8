/// Settings given on the command line; each non-nil value replaces the one
/// from the config file. See ``RecsyncConfig/merged(with:)``.
public struct ConfigOverrides: Sendable, Equatable {
    /// `--bucket`
    public var bucket: String?
    /// `--region`
    public var region: String?
    /// `--endpoint`
    public var endpoint: String?
    /// `--path-style` (true when the flag is given).
    public var pathStyle: Bool?
    /// `allow_other`, for callers that expose it as a flag.
    public var allowOther: Bool?
    /// `allow_plain_http`, for callers that expose it as a flag.
    public var allowPlainHTTP: Bool?
    /// `--path-pattern`
    public var pathPattern: String?
    /// `--user-id`
    public var userId: String?
    /// `--state-dir`
    public var stateDir: String?
    /// Log level, from whatever verbosity option the command line offers.
    public var logLevel: String?
    /// `[sync] auto_sync`, for callers that expose it as an option.
    public var autoSync: Bool?
    /// `[sync] sync_on_mobile_data`, for callers that expose it as an option.
    public var syncOnMobileData: Bool?
    /// `[sync] sync_on_metered_connection`, for callers that expose it as an option.
    public var syncOnMeteredConnection: Bool?
    /// `[sync] max_concurrent_uploads`, for callers that expose it as an option.
    public var maxConcurrentUploads: Int?
    /// Part size in bytes; see ``ByteSize/parse(_:)`` for strings such as `16MiB`.
    public var chunkSize: Int?
    /// `[sync] retry_attempts`, for callers that expose it as an option.
    public var retryAttempts: Int?
    /// Seconds; see ``DurationText/parse(_:)`` for strings such as `5m`.
    public var syncInterval: Int?
    /// `[sync] shutdown_grace` in seconds, for callers that expose it as an option.
    public var shutdownGrace: Int?
    /// `[sync] max_upload_rate` in bytes per second (0 = no limit).
    public var maxUploadRate: Int?
    /// `[sync] stall_timeout` in seconds, for callers that expose it as an option.
    public var stallTimeout: Int?
    /// `[hooks] on_event` as an argument vector; an empty array disables the hook.
    public var onEvent: [String]?

    /// Creates overrides; nil leaves the file's value (or the default) in place.
    public init(
        bucket: String? = nil,
        region: String? = nil,
        endpoint: String? = nil,
        pathStyle: Bool? = nil,
        allowOther: Bool? = nil,
        allowPlainHTTP: Bool? = nil,
        pathPattern: String? = nil,
        userId: String? = nil,
        stateDir: String? = nil,
        logLevel: String? = nil,
        autoSync: Bool? = nil,
        syncOnMobileData: Bool? = nil,
        syncOnMeteredConnection: Bool? = nil,
        maxConcurrentUploads: Int? = nil,
        chunkSize: Int? = nil,
        retryAttempts: Int? = nil,
        syncInterval: Int? = nil,
        shutdownGrace: Int? = nil,
        stallTimeout: Int? = nil,
        onEvent: [String]? = nil
    ) {
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint
        self.pathStyle = pathStyle
        self.allowOther = allowOther
        self.allowPlainHTTP = allowPlainHTTP
        self.pathPattern = pathPattern
        self.userId = userId
        self.stateDir = stateDir
        self.logLevel = logLevel
        self.autoSync = autoSync
        self.syncOnMobileData = syncOnMobileData
        self.syncOnMeteredConnection = syncOnMeteredConnection
        self.maxConcurrentUploads = maxConcurrentUploads
        self.chunkSize = chunkSize
        self.retryAttempts = retryAttempts
        self.syncInterval = syncInterval
        self.shutdownGrace = shutdownGrace
        self.stallTimeout = stallTimeout
        self.onEvent = onEvent
    }

    /// Checks the values given as flags, so an error can name the flag.
    ///
    /// - Throws: ``ConfigError`` such as `--user-id "a/b": ...`.
    public func validate() throws {
        func check(_ problem: String?, _ flag: String, _ value: String) throws {
            if let problem {
                throw ConfigError(kind: .invalidValue, message: "\(flag) \(value.debugDescription): \(problem)")
            }
        }
        if let bucket { try check(ConfigValidation.bucketProblem(bucket), "--bucket", bucket) }
        if let region { try check(ConfigValidation.regionProblem(region), "--region", region) }
        if let endpoint { try check(ConfigValidation.endpointProblem(endpoint), "--endpoint", endpoint) }
        if let pathPattern { try check(ConfigValidation.pathPatternProblem(pathPattern), "--path-pattern", pathPattern) }
        if let userId { try check(ConfigValidation.userIdProblem(userId), "--user-id", userId) }
        if let stateDir { try check(ConfigValidation.stateDirProblem(stateDir), "--state-dir", stateDir) }
        if let logLevel { try check(ConfigValidation.logLevelProblem(logLevel), "--log-level", logLevel) }
        if let v = maxConcurrentUploads {
            try check(ConfigValidation.rangeProblem(v, RecsyncConfig.maxConcurrentUploadsRange), "--max-concurrent-uploads", String(v))
        }
        if let v = chunkSize { try check(ConfigValidation.chunkSizeProblem(v), "--chunk-size", String(v)) }
        if let v = retryAttempts {
            try check(ConfigValidation.rangeProblem(v, RecsyncConfig.retryAttemptsRange), "--retry-attempts", String(v))
        }
        if let v = syncInterval { try check(ConfigValidation.syncIntervalProblem(v), "--sync-interval", String(v)) }
        if let v = shutdownGrace { try check(ConfigValidation.shutdownGraceProblem(v), "--shutdown-grace", String(v)) }
        if let v = stallTimeout { try check(ConfigValidation.stallTimeoutProblem(v), "--stall-timeout", String(v)) }
        if let v = onEvent { try check(ConfigValidation.hookCommandProblem(v), "--on-event", v.joined(separator: " ")) }
    }
}
