import FoundationEssentials
import RecsyncCore
import RecsyncS3
import RecsyncPrimitives
import Glibc

/// Everything `recsync mount` needs, resolved and checked before anything is mounted, so that
/// bad input fails with one clear line and leaves nothing behind.
struct MountPlan {
    let mountpoint: String
    let config: RecsyncConfig
    let keyPattern: KeyPattern
    let endpoint: S3Endpoint
    let credentials: S3Credentials
    let stateDirectory: String
    let runtimeFile: String
    /// `AWS_CA_BUNDLE`: the certificate authorities to trust instead of the system store.
    var caBundle: String?
    /// The environment the plan was made with: the process's, with what `-o aws_profile=` and
    /// the like set. Credentials are loaded, and reloaded, from it.
    var environment: [String: String] = [:]
    /// Mount flags from `-o` for the kernel: `noexec`, `nosuid`, `nodev`, `noatime`, `nodiratime`.
    var kernelFlags: [String] = []

    /// What the plan is for: a mount; `mount -f` / `--check-only` (everything a mount would
    /// check, nothing changed: a dead mount is reported, not detached); `recsync doctor` (a
    /// folder recsync serves is accepted, a dead mount left alone).
    enum Purpose {
        case mount, check, inspect
    }

    static func resolve(mountpoint rawMountpoint: String, options: MountOptions,
                        environment processEnvironment: [String: String] = ProcessInfo.processInfo.environment,
                        for purpose: Purpose = .mount) throws -> MountPlan {
        let optionList: MountOptionList
        do { optionList = try options.optionList(environment: processEnvironment) } catch { throw CLIError.usage("\(error)") }
        // aws_profile= and the like say what the environment would have said.
        let environment = processEnvironment.merging(optionList.environment) { _, option in option }
        let requested = Paths.absolute(rawMountpoint)
        let mountpoint: String
        if purpose != .inspect, DeadMount.isDead(requested) {
            // Left by a daemon that crashed or was killed: the files are below it, untouched.
            if purpose == .check {
                StandardStream.error("recsync: \(requested) is a dead mount a stopped recsync left; mounting detaches it first\n")
                mountpoint = requested
            } else {
                try DeadMount.clear(requested)
                StandardStream.error("recsync: detached the dead mount a stopped recsync left at \(requested)\n")
                mountpoint = try Paths.existingDirectory(rawMountpoint)
            }
        } else {
            mountpoint = try Paths.existingDirectory(rawMountpoint)
        }
        // Another filesystem there (an SD card, a second disk mounted first in fstab) is what
        // recsync serves; only a folder recsync itself already serves is refused.
        if purpose != .inspect, MountTable.mountType(at: mountpoint) == "fuse.recsync", !DeadMount.isDead(mountpoint) {
            throw CLIError.usage("\(mountpoint) is already mounted by recsync; unmount it first with 'recsync unmount \(mountpoint)'")
        }
        let configPath = options.config ?? optionList.configPath ?? RecsyncConfig.defaultPath(environment: environment)
        var config = RecsyncConfig.defaults
        if let configPath {
            do { config = try RecsyncConfig.load(path: configPath) } catch { throw CLIError.usage("\(error)") }
        }
        do { try optionList.overrides.validate() } catch { throw CLIError.usage("\(error)") }
        config = config.merged(with: optionList.overrides).applyingEnvironment(environment)
        do { try config.validate(requireBucket: true) } catch { throw CLIError.usage("\(error)") }
        let keyPattern: KeyPattern
        do {
            keyPattern = try KeyPattern(config.pathPattern)
            try KeyPattern.validateUserId(config.userId)
        } catch { throw CLIError.usage("\(error)") }
        let endpoint: S3Endpoint
        do {
            endpoint = try S3Endpoint(endpoint: config.endpoint, region: config.region, pathStyle: config.pathStyle,
                                      environment: environment)
        } catch { throw CLIError.usage("\(error)") }
        if endpoint.isPlainHTTPOffThisMachine && !config.allowPlainHTTP {
            throw CLIError.usage("the endpoint \(endpoint.baseURL) is plain HTTP to another machine: requests, and a session token, "
                                 + "would cross the network in the clear, and anyone on the way could change the answers. "
                                 + "Use https://, or set allow_plain_http = true (or --allow-plain-http) if that network is yours")
        }
        let caBundle = try Self.caBundle(environment)
        let credentials: S3Credentials
        do {
            credentials = try CredentialsLoader.load(environment: environment, homeDirectory: Paths.home(environment))
        } catch { throw CLIError.usage("\(error)") }
        let stateDirectory = config.stateDir.map { Paths.absolute($0) }
            ?? Paths.defaultStateDirectory(for: mountpoint, environment: environment)
        return MountPlan(mountpoint: mountpoint, config: config, keyPattern: keyPattern, endpoint: endpoint,
                         credentials: credentials, stateDirectory: stateDirectory,
                         runtimeFile: Paths.runtimeFile(for: mountpoint, environment: environment), caBundle: caBundle,
                         environment: environment, kernelFlags: optionList.kernelFlags)
    }

    /// `AWS_CA_BUNDLE`, as the AWS CLI reads it: a PEM file of the CAs to trust for https://.
    static func caBundle(_ environment: [String: String]) throws -> String? {
        guard let path = environment["AWS_CA_BUNDLE"]?.trimmingWhitespace(), !path.isEmpty else { return nil }
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, access(path, R_OK) == 0 else {
            throw CLIError.usage("AWS_CA_BUNDLE names \(path), which is not a readable file; point it at a PEM file of the "
                                 + "certificate authorities to trust, or unset it to use the system's")
        }
        return Paths.absolute(path)
    }
}
