import ArgumentParser
import RecsyncCore

/// The settings `recsync mount` takes on the command line; each one overrides the config file.
struct MountOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The S3 bucket to upload into.", valueName: "name"))
    var bucket: String?

    @Option(help: ArgumentHelp("The bucket's region (default: us-east-1).", valueName: "region"))
    var region: String?

    @Option(help: ArgumentHelp("Any S3-compatible server, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, or AWS).", valueName: "url"))
    var endpoint: String?

    @Flag(help: "Let other users reach the mount (root, or user_allow_other in /etc/fuse.conf); the mode bits still apply.")
    var allowOther = false

    @Flag(help: "Accept a plain http:// endpoint that is not on this machine (traffic crosses the network in the clear).")
    var allowPlainHttp = false

    @Flag(help: "Address the bucket in the path (automatic for IP-address and localhost endpoints).")
    var pathStyle = false

    @Option(help: ArgumentHelp("How object keys are made (default: {user_id}/{year}/{month}/{filename}).", valueName: "pattern"))
    var pathPattern: String?

    @Option(help: ArgumentHelp("The {user_id} in keys (default: anonymous).", valueName: "id"))
    var userId: String?

    @Option(help: ArgumentHelp("Where the queue database and log live (default: $XDG_STATE_HOME/recsync/MOUNT or /var/lib/recsync/MOUNT for root).", valueName: "dir"))
    var stateDir: String?

    @Option(help: ArgumentHelp("A TOML config file (default: ~/.config/recsync/config.toml, /etc/recsync/config.toml for root, if present).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error.", valueName: "level"))
    var logLevel: String?

    var overrides: ConfigOverrides {
        ConfigOverrides(bucket: bucket, region: region, endpoint: endpoint, pathStyle: pathStyle ? true : nil,
                        allowOther: allowOther ? true : nil, allowPlainHTTP: allowPlainHttp ? true : nil,
                        pathPattern: pathPattern, userId: userId, stateDir: stateDir, logLevel: logLevel)
    }

    /// The same options as arguments, to hand to the background process.
    var arguments: [String] {
        var result: [String] = []
        func add(_ flag: String, _ value: String?) { if let value { result += [flag, value] } }
        add("--bucket", bucket)
        add("--region", region)
        add("--endpoint", endpoint)
        if pathStyle { result.append("--path-style") }
        if allowOther { result.append("--allow-other") }
        if allowPlainHttp { result.append("--allow-plain-http") }
        add("--path-pattern", pathPattern)
        add("--user-id", userId)
        add("--state-dir", stateDir)
        add("--config", config)
        add("--log-level", logLevel)
        return result
    }
}
