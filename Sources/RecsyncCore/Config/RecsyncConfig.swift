/// Every recsync setting, with its default.
///
/// Values come from three places, highest priority first: command-line flags
/// (``ConfigOverrides``), the config file (``load(path:)``), and the defaults
/// below. See `docs/CONFIGURATION.md` for the file format.
public struct RecsyncConfig: Sendable, Equatable {
    /// The S3 bucket to upload to. Required to mount; no default.
    public var bucket: String?
    /// The bucket's region, used for request signing. Default `us-east-1`.
    public var region: String
    /// A custom S3 endpoint URL (`https://host[:port]`), for S3-compatible
    /// services. Nil means AWS for ``region`` (or `AWS_ENDPOINT_URL_S3` /
    /// `AWS_ENDPOINT_URL`, see ``applyingEnvironment(_:)``).
    public var endpoint: String?
    /// Path-style (`host/bucket/key`) instead of virtual-hosted-style
    /// (`bucket.host/key`) addressing. Nil chooses automatically.
    public var pathStyle: Bool?
    /// How S3 keys are built; see ``KeyPattern``. Default
    /// `{user_id}/{year}/{month}/{filename}`.
    public var pathPattern: String
    /// The value of `{user_id}` in keys. Default `anonymous`.
    public var userId: String
    /// Where local copies and the upload queue live. Nil means the platform
    /// default chosen by the caller.
    public var stateDir: String?
    /// One of `trace`, `debug`, `info`, `notice`, `warning`, `error`,
    /// `critical`. Default `info`.
    public var logLevel: String

    /// Let users other than the one who mounts reach the mount (FUSE's `allow_other`; root, or
    /// `user_allow_other` in /etc/fuse.conf). The kernel still checks the mode bits. Default false.
    public var allowOther = false
    /// Kernel FUSE passthrough for open files, where the kernel allows it (docs/PERFORMANCE.md).
    public var kernelPassthrough = true

    /// Accept a plain `http://` endpoint that is not on this machine (requests and a session
    /// token would cross the network in the clear). Default false: such an endpoint is refused.
    public var allowPlainHTTP = false

    /// Upload closed files automatically. Default true.
    public var autoSync: Bool
    /// Upload while on mobile data. Default false.
    public var syncOnMobileData: Bool
    /// Upload while on a metered connection. Default false.
    public var syncOnMeteredConnection: Bool
    /// Uploads (transfers: a PutObject or one part of a multipart upload) running at the same
    /// time, 1...64. Default 4.
    public var maxConcurrentUploads: Int
    /// Multipart upload part size in bytes, 5 MiB...5 GiB. Default 8 MiB.
    public var chunkSize: Int
    /// Retries of a failed upload before it is marked failed, 0...100. Default 5.
    public var retryAttempts: Int
    /// Seconds between sync passes, 1...604800 (one week). Default 300.
    public var syncInterval: Int
    /// Seconds that uploads in flight (and queued event hooks) get to finish
    /// when the mount stops, 0...3600. Default 10.
    public var shutdownGrace: Int
    /// Seconds without progress after which an upload is considered stalled
    /// and is retried, 1...3600. Default 30.
    public var stallTimeout: Int
    /// Upload bandwidth cap in bytes per second across all uploads; 0 = none.
    public var maxUploadRate: Int = 0
    /// What the server checks uploaded bytes against: `auto`, `crc32c` or `sha256`
    /// (`UploadChecksumChoice`).
    public var uploadChecksum = "auto"
    /// `metrics_address`: where Prometheus metrics are served (`HOST:PORT`); nil: nowhere.
    public var metricsAddress: String?
    /// `metrics_file`: where metrics are written for node_exporter's textfile collector; nil: nowhere.
    public var metricsFile: String?
    /// `upload_schedule`: when automatic uploads run and how fast (``UploadSchedule``); empty:
    /// any time.
    public var uploadSchedule = ""

    /// Seconds a closed file waits before its upload starts, absorbing close-and-reopen
    /// patterns of recorders and editors, 0...3600. Default 1.
    public var settleDelay: Int = 1
    /// Delete objects when their files are deleted, and the old object of a renamed file once
    /// the new one is there. Default false: the bucket is a backup.
    public var mirrorDeletes: Bool = false
    /// File names (shell patterns on the last path part) that are never uploaded: scratch and
    /// temporary files of editors, browsers and file managers. They stay `local`.
    public var ignorePatterns: [String] = RecsyncConfig.defaultIgnorePatterns

    /// The default of ``ignorePatterns``.
    public static let defaultIgnorePatterns = [
        ".*.swp", ".*.swx", "*.part", "*.partial", "*.crdownload", "*.tmp", ".goutputstream-*", "~$*", ".#*",
        ".~lock.*#", ".DS_Store", "._*", ".fuse_hidden*",
    ]
    /// The allowed range of ``settleDelay`` in seconds.
    public static let settleDelayRange = 0...3600

    /// The `[network]` settings: connection types and metered interfaces.
    public var network = NetworkSettings()

    /// The program run for every sync event, as an argument vector: the first
    /// element is an absolute path or a program name looked up in `PATH`, the
    /// rest are its arguments, passed as they are (never through a shell).
    /// Empty: no hook. Default empty.
    public var onEvent: [String]

    /// The default value of ``region``.
    public static let defaultRegion = "us-east-1"
    /// The default value of ``userId``.
    public static let defaultUserId = "anonymous"
    /// The default value of ``logLevel``.
    public static let defaultLogLevel = "info"
    /// The accepted values of ``logLevel``.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    /// The allowed range of ``maxConcurrentUploads``.
    public static let maxConcurrentUploadsRange = 1...64
    /// The default value of ``chunkSize``: 8 MiB.
    public static let defaultChunkSize = 8 * 1024 * 1024
    /// The allowed range of ``chunkSize``: S3's part size limits, 5 MiB to 5 GiB.
    public static let chunkSizeRange = (5 * 1024 * 1024)...(5 * 1024 * 1024 * 1024)
    /// The allowed range of ``retryAttempts``.
    public static let retryAttemptsRange = 0...100
    /// The allowed range of ``syncInterval`` in seconds.
    public static let syncIntervalRange = 1...(7 * 24 * 3600)
    /// The default value of ``shutdownGrace`` in seconds.
    public static let defaultShutdownGrace = 10
    /// The allowed range of ``shutdownGrace`` in seconds.
    public static let shutdownGraceRange = 0...3600
    /// The default value of ``stallTimeout`` in seconds.
    public static let defaultStallTimeout = 30
    /// The allowed range of ``stallTimeout`` in seconds.
    public static let stallTimeoutRange = 1...3600

    /// Creates a configuration; every argument defaults to the documented default.
    public init(
        bucket: String? = nil,
        region: String = RecsyncConfig.defaultRegion,
        endpoint: String? = nil,
        pathStyle: Bool? = nil,
        pathPattern: String = KeyPattern.defaultPattern,
        userId: String = RecsyncConfig.defaultUserId,
        stateDir: String? = nil,
        logLevel: String = RecsyncConfig.defaultLogLevel,
        autoSync: Bool = true,
        syncOnMobileData: Bool = false,
        syncOnMeteredConnection: Bool = false,
        maxConcurrentUploads: Int = 4,
        chunkSize: Int = RecsyncConfig.defaultChunkSize,
        retryAttempts: Int = 5,
        syncInterval: Int = 300,
        shutdownGrace: Int = RecsyncConfig.defaultShutdownGrace,
        stallTimeout: Int = RecsyncConfig.defaultStallTimeout,
        onEvent: [String] = []
    ) {
        self.bucket = bucket
        self.region = region
        self.endpoint = endpoint
        self.pathStyle = pathStyle
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

    /// The configuration with every setting at its default.
    public static let defaults = RecsyncConfig()

    /// This configuration with command-line flags applied: every non-nil
    /// override replaces the value from the file (or the default).
    public func merged(with overrides: ConfigOverrides) -> RecsyncConfig {
        var result = self
        for item in overrides.given {
            Settings.named(item.name)?.set(&result, item.value)
        }
        return result
    }

    /// This configuration with ``endpoint`` taken from the environment when
    /// neither a flag nor the file set it: `AWS_ENDPOINT_URL_S3`, then
    /// `AWS_ENDPOINT_URL`. Both are ignored when
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true`, as in the AWS tools.
    public func applyingEnvironment(_ environment: [String: String]) -> RecsyncConfig {
        guard endpoint == nil,
              environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() != "true" else { return self }
        var result = self
        for name in ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] {
            if let value = environment[name], !value.isEmpty {
                result.endpoint = value
                break
            }
        }
        return result
    }

    /// Checks every value, including ones that came from flags or the
    /// environment.
    ///
    /// - Parameter requireBucket: whether a missing ``bucket`` is an error
    ///   (it is for mounting).
    /// - Throws: ``ConfigError`` naming the setting, the problem and the fix.
    public func validate(requireBucket: Bool = true) throws {
        if bucket == nil && requireBucket {
            throw ConfigError(kind: .missingValue, message: "no bucket configured; set bucket = \"name\" in the config file or pass --bucket NAME")
        }
        for setting in Settings.all {
            if let value = setting.value(in: self) { try setting.check(value, origin: setting.name) }
        }
    }
}
