import RecsyncS3

/// Every recsync setting, in the order the documentation lists them. A new setting is one entry
/// here plus its field in ``RecsyncConfig``.
public enum Settings {
    /// The `[sync]` table: uploads and their timing.
    public static let syncTable = "sync"
    /// The `[hooks]` table: programs run on events.
    public static let hooksTable = "hooks"
    /// The `[network]` table: how connections are classified.
    public static let networkTable = "network"
    /// Every table a config file may have.
    public static let tables = [syncTable, hooksTable, networkTable]

    public static let all: [Setting] = topLevel + sync + hooks + network

    /// The setting with this spelling (`snake_case` or camelCase), in any table.
    public static func named(_ spelling: String) -> Setting? {
        all.first { $0.name == spelling || $0.alias == spelling }
    }

    /// The settings of one table (nil: the top level).
    public static func inTable(_ table: String?) -> [Setting] {
        all.filter { $0.table == table }
    }

    static let topLevel: [Setting] = [
        .optionalText("bucket", \.bucket, help: "The S3 bucket to upload into.",
                      notes: "An S3 bucket name: letters, digits, `.`, `-` (not an `s3://` URL).",
                      defaultDescription: "none; **required** to mount", flag: "--bucket", check: ConfigValidation.bucketProblem),
        .text("region", \.region, help: "The bucket's region, used to sign requests.", notes: "A region name such as `eu-west-1`.",
              flag: "--region", check: ConfigValidation.regionProblem),
        .optionalText("endpoint", \.endpoint, help: "Any S3-compatible server, e.g. http://127.0.0.1:9000.",
                      notes: "`https://host[:port]` or `http://host[:port]`, no query. Unset: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, or AWS for `region`.",
                      defaultDescription: "none (AWS for `region`, or the environment)", flag: "--endpoint", check: ConfigValidation.endpointProblem),
        .booleanOrAuto("path_style", \.pathStyle, help: "Address the bucket in the path (host/bucket/key) instead of the host name.",
                       notes: "`true`: `host/bucket/key`; `false`: `bucket.host/key`; `\"auto\"` or unset: path style for IP-address and `localhost` endpoints.",
                       flag: "--path-style"),
        .text("path_pattern", \.pathPattern, help: "How object keys are made.", notes: "See [Path patterns](#path-patterns).",
              flag: "--path-pattern", check: ConfigValidation.pathPatternProblem),
        .text("user_id", \.userId, help: "The {user_id} in keys.", notes: "Non-empty, no `/`, not `.` or `..`, no control characters.",
              flag: "--user-id", check: ConfigValidation.userIdProblem),
        .optionalText("state_dir", \.stateDir, type: .path, help: "Where the queue database and log live.",
                      notes: "An absolute path; a leading `~/` is expanded with `$HOME`.",
                      defaultDescription: "`$XDG_STATE_HOME/recsync/MOUNT`, or `/var/lib/recsync/MOUNT` for root",
                      flag: "--state-dir", check: ConfigValidation.stateDirProblem),
        .boolean("allow_other", \.allowOther, help: "Let users other than the one who mounts reach the mount; the mode bits still apply.",
                 notes: "Needs root, or `user_allow_other` in `/etc/fuse.conf`. `false`: the mount is private to its owner, even for root.",
                 flag: "--allow-other"),
        .boolean("kernel_passthrough", \.kernelPassthrough,
                 help: "Let the kernel send the reads and writes of open files straight to the files on disk (FUSE passthrough).",
                 notes: "Used on Linux 6.13 and later when the mount runs as root, the folder is on ext4, XFS, Btrfs or tmpfs and the kernel agrees; otherwise every read and write goes through recsync, as with `false`. See [PERFORMANCE.md](PERFORMANCE.md#kernel-passthrough)."),
        .boolean("allow_plain_http", \.allowPlainHTTP, help: "Accept a plain http:// endpoint on another machine (traffic crosses the network in the clear).",
                 notes: "Logged as a warning at mount. `http://` to this machine (127.0.0.0/8, `::1`, `localhost`) is always accepted.",
                 flag: "--allow-plain-http"),
        .text("log_level", \.logLevel, help: "How much is logged.",
              notes: "`trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical` (any case).",
              flag: "--log-level", check: ConfigValidation.logLevelProblem, normalize: { $0.lowercased() }),
        .optionalText("metrics_address", \.metricsAddress, help: "Serve Prometheus metrics on this HOST:PORT at /metrics.",
                      notes: "E.g. `127.0.0.1:9464`. See [METRICS.md](METRICS.md). An address other than loopback lets the network read the queue's counts.",
                      defaultDescription: "none: no endpoint", flag: "--metrics-address", check: MetricsAddress.problem),
        .optionalText("metrics_file", \.metricsFile, type: .path, help: "Write the metrics to this file every 15 s, for node_exporter's textfile collector.",
                      notes: "Written atomically (a temporary file renamed over it); removed when the mount stops. See [METRICS.md](METRICS.md).",
                      defaultDescription: "none: no file",
                      check: { ConfigValidation.absolutePathProblem($0, example: "/var/lib/prometheus/node-exporter/recsync.prom") }),
    ]

    static let sync: [Setting] = [
        .boolean("auto_sync", \.autoSync, table: syncTable, help: "Upload files automatically once they are closed.",
                 notes: "`false`: only `sync-now` uploads."),
        .boolean("sync_on_mobile_data", \.syncOnMobileData, table: syncTable, help: "Also upload on mobile data.",
                 notes: "See [NETWORK.md](NETWORK.md)."),
        .boolean("sync_on_metered_connection", \.syncOnMeteredConnection, table: syncTable, help: "Also upload on metered connections."),
        .integer("max_concurrent_uploads", \.maxConcurrentUploads, table: syncTable, range: RecsyncConfig.maxConcurrentUploadsRange,
                 help: "Transfers at once over all files: a PutObject, or one part of a multipart upload."),
        .bytes("chunk_size", \.chunkSize, table: syncTable, help: "The part size of multipart uploads.",
               notes: "5 MiB to 5 GiB (S3's part size limits).", check: ConfigValidation.chunkSizeProblem),
        .integer("retry_attempts", \.retryAttempts, table: syncTable, range: RecsyncConfig.retryAttemptsRange,
                 help: "Retries of a failed upload before the file is marked failed."),
        .seconds("sync_interval", \.syncInterval, table: syncTable, help: "How often the network is checked, the folder rescanned and the queue woken.",
                 notes: "1 second to 7 days; changes themselves arrive as events.", check: ConfigValidation.syncIntervalProblem),
        .seconds("shutdown_grace", \.shutdownGrace, table: syncTable, help: "How long uploads in flight and queued hooks may finish when the mount stops.",
                 notes: "0 to 3600 seconds.", check: ConfigValidation.shutdownGraceProblem),
        .seconds("stall_timeout", \.stallTimeout, table: syncTable, help: "An upload without progress for this long is abandoned and retried.",
                 notes: "1 to 3600 seconds. CompleteMultipartUpload may stay silent for minutes while servers assemble large objects; that wait is not cut short.",
                 check: ConfigValidation.stallTimeoutProblem),
        .seconds("settle_delay", \.settleDelay, table: syncTable, help: "How long a closed file must be left alone before its upload starts.",
                 notes: "0 to 3600 seconds; absorbs recorders and editors that close and reopen.",
                 check: { RecsyncConfig.settleDelayRange.contains($0) ? nil : "must be 0 to 3600 seconds, e.g. \"1s\"" }),
        .boolean("mirror_deletes", \.mirrorDeletes, table: syncTable, help: "Delete objects when their files are deleted or renamed.",
                 notes: "`true`: deleting a file deletes its object, and renaming a synced file deletes the object under the old name once the new one is there; `false`: the bucket keeps them (a backup)."),
        .list("ignore_patterns", \.ignorePatterns, type: .patterns, table: syncTable, help: "File names that are never uploaded (they stay `local`).",
               notes: "Shell patterns matched against the last part of the path (no `/`). Giving the list replaces the default; `[]` uploads everything.",
               defaultDescription: "scratch files: " + Setting.format(.list(RecsyncConfig.defaultIgnorePatterns), type: .patterns)),
        .text("upload_checksum", \.uploadChecksum, table: syncTable,
              help: "What the server checks every uploaded byte against: a CRC32C sent after the bytes, or a signed SHA-256.",
              notes: "`\"auto\"`: CRC32C when the server proves it checks it (a probe at the first upload: a wrong CRC32C must be refused), SHA-256 otherwise; `\"crc32c\"`: always, for servers known to check it (AWS S3); `\"sha256\"`: always. CRC32C costs a fraction of SHA-256's CPU and reads each file once. See [PERFORMANCE.md](PERFORMANCE.md#upload-checksums).",
              check: { UploadChecksumChoice(rawValue: $0.lowercased()) == nil ? "must be \"auto\", \"crc32c\" or \"sha256\"" : nil },
              normalize: { $0.lowercased() }),
        .bytes("max_upload_rate", \.maxUploadRate, table: syncTable, help: "A bandwidth cap across all uploads, in bytes per second; 0 is no limit.",
               notes: "E.g. `\"2MB\"` for a slow or paid link. An `upload_schedule` cap, when lower, wins.",
               check: { $0 < 0 ? "must be 0 (no limit) or a number of bytes per second, e.g. \"2MB\"" : nil }),
        .text("upload_schedule", \.uploadSchedule, type: .schedule, table: syncTable,
              help: "A weekly timetable of when automatic uploads run and how fast, in local time.",
              notes: "E.g. `\"Mon-Fri 08:00-18:00 1M, Mon-Fri 18:00-08:00 off\"`; see [Upload schedule](#upload-schedule). Outside the window uploads pause (`paused: outside upload window`) and resume at its boundary; `sync-now` still uploads.",
              defaultDescription: "none: any time, at `max_upload_rate`",
              check: { text in
                  do {
                      _ = try UploadSchedule.parse(text)
                      return nil
                  } catch {
                      return "\(error)"
                  }
              }),
    ]

    static let hooks: [Setting] = [
        .command("on_event", \.onEvent, table: hooksTable, help: "The program run for every sync event, and its arguments.",
                 notes: "E.g. `[\"/usr/local/bin/notify\", \"--quiet\"]`. The program is an absolute path or a name looked up in `PATH`; it is never run through a shell. A plain string is one program with no arguments (not split on spaces); `\"\"` or `[]` means no hook.",
                 defaultDescription: "none"),
    ]

    static let network: [Setting] = [
        .list("metered_interfaces", \.network.meteredInterfaces, type: .interfaces, table: networkTable,
              help: "Interfaces (names or shell patterns such as `usb*`) that are always metered."),
        .list("unmetered_interfaces", \.network.unmeteredInterfaces, type: .interfaces, table: networkTable,
              help: "Interfaces that are never metered.", notes: "Wins over NetworkManager and mobile."),
        .list("mobile_interfaces", \.network.mobileInterfaces, type: .interfaces, table: networkTable,
              help: "Interfaces that are mobile data whatever they look like.", notes: "USB tethering, a modem behind a router."),
        .list("wifi_interfaces", \.network.wifiInterfaces, type: .interfaces, table: networkTable, help: "Interfaces that count as Wi-Fi."),
        .list("ethernet_interfaces", \.network.ethernetInterfaces, type: .interfaces, table: networkTable,
              help: "Interfaces that count as Ethernet.", notes: "E.g. a VPN tunnel over a cable."),
        .boolean("mobile_is_metered", \.network.mobileIsMetered, table: networkTable, help: "Mobile data counts as metered."),
        .boolean("check_endpoint", \.network.checkEndpoint, table: networkTable,
                 help: "Also require the S3 endpoint to answer a HEAD request before counting as online."),
        .text("sysfs_root", \.network.sysfsRoot, table: networkTable, help: "Where sysfs is mounted (containers, tests).",
              check: { $0.hasPrefix("/") ? nil : "must be an absolute path, such as \"/sys\"" }),
        .text("proc_root", \.network.procRoot, table: networkTable, help: "Where procfs is mounted.",
              notes: "Its `net/route` and `net/ipv6_route` are read.",
              check: { $0.hasPrefix("/") ? nil : "must be an absolute path, such as \"/proc\"" }),
    ]

    /// Whether a key or table name looks like it holds a credential, which must never be given
    /// in the config file or a mount option.
    public static func looksLikeCredential(_ name: String) -> Bool {
        let normalized = name.lowercased().filter { $0.isLetter || $0.isNumber }
        return ["secret", "password", "passwd", "accesskey", "sessiontoken", "credential", "apikey", "token"]
            .contains { normalized.contains($0) }
    }
}

extension Settings {
    /// "did you mean ...? " for a misspelt setting name, preferring the given table; empty when
    /// nothing is close.
    static func didYouMean(_ name: String, table: String?) -> String {
        let sameTable = inTable(table).flatMap { [$0.name, $0.alias] }
        if let close = Spelling.closest(to: name, among: sameTable), let setting = named(close) {
            return "did you mean \"\(setting.name)\"? "
        }
        let others = all.filter { $0.table != table }
        if let close = Spelling.closest(to: name, among: others.flatMap { [$0.name, $0.alias] }), let setting = named(close) {
            return "did you mean \"\(setting.name)\"\(setting.table.map { " (in [\($0)])" } ?? " (at the top level)")? "
        }
        return ""
    }
}
