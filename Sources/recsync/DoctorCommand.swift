import ArgumentParser
import FoundationEssentials
import Logging
import RecsyncCore
import RecsyncS3
import Glibc

/// `recsync doctor`: checks everything a mount needs and says what to do about each problem.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check what a mount needs (FUSE, config, credentials, the bucket, the clock, the state folder) and say what to fix.",
        discussion: """
        Checks FUSE, the config (the same files and options as 'recsync mount'), the credentials, \
        the bucket (a small probe object is written under this mount's key prefix, read and \
        deleted), the clock against the server's, and the state folder. For a live mount it also \
        asks the daemon why uploads are paused and counts multipart uploads nobody owns. Exits \
        1 when there is a problem. --stale-uploads aborts those multipart uploads instead.
        """
    )

    @Argument(help: ArgumentHelp("The folder recsync mounts, or mounted (default: the current folder).", valueName: "mountpoint"))
    var mountpoint: String = "."

    @OptionGroup var options: MountOptions

    @Flag(help: "List and abort multipart uploads nobody owns (they cost storage until aborted); needs a live mount.")
    var staleUploads = false

    @Flag(help: "With --stale-uploads: only list; abort nothing.")
    var dryRun = false

    func run() throws {
        if staleUploads { return try abortStaleUploads() }
        let findings = Doctor(mountpoint: mountpoint, options: options).run()
        for finding in findings { print(finding.line) }
        let problems = findings.filter { $0.level == .problem }.count
        let warnings = findings.filter { $0.level == .warning }.count
        print(problems == 0 ? "no problems" + (warnings > 0 ? " (\(warnings) warning\(warnings == 1 ? "" : "s"))" : "")
                            : "\(problems) problem\(problems == 1 ? "" : "s")")
        if problems > 0 { throw ExitCode(1) }
    }

    private func abortStaleUploads() throws {
        let (client, _) = try ControlClient.forPath(mountpoint)
        let response = try client.send(ControlRequest(op: .staleUploads, dryRun: dryRun), timeout: 3600)
        let stale = response.staleUploads ?? []
        for upload in stale {
            print((upload.aborted ? "aborted  " : "stale    ") + upload.key + "  upload " + upload.uploadId
                  + (upload.initiated.map { "  started \($0)" } ?? ""))
        }
        print("\(stale.count) stale multipart upload(s)" + (dryRun ? " (not aborted: --dry-run)" : stale.isEmpty ? "" : ", aborted"))
    }
}

/// One thing `recsync doctor` looked at.
struct Finding {
    enum Level: String { case ok, warning, problem }
    let level: Level
    let check: String
    let detail: String
    /// What to do, for a warning or a problem.
    var fix: String?

    var line: String {
        let tag = level == .ok ? "ok     " : level == .warning ? "warning" : "PROBLEM"
        return "\(tag)  \(StatusCommand.pad(check, 12))\(detail)" + (fix.map { "\n         \(String(repeating: " ", count: 12))fix: \($0)" } ?? "")
    }
}

/// The checks of `recsync doctor`, in the order a mount needs them.
struct Doctor {
    let mountpoint: String
    let options: MountOptions
    /// The clock may differ from the server's by this much before S3 refuses signatures (15 min).
    static let skewWarning: TimeInterval = 60

    func run() -> [Finding] {
        var findings = [fuse()]
        let plan: MountPlan
        do {
            plan = try MountPlan.resolve(mountpoint: mountpoint, options: options, for: .inspect)
        } catch {
            let message = "\(error)"
            let check = message.contains("credential") || message.contains("AWS_") ? "credentials" : "config"
            findings.append(Finding(level: .problem, check: check, detail: message,
                                    fix: "correct what the message names (docs/CONFIGURATION.md), then run 'recsync doctor' again"))
            return findings
        }
        findings.append(Finding(level: .ok, check: "config",
                                detail: "bucket \(plan.config.bucket ?? "") at \(plan.endpoint.baseURL), keys \(plan.config.pathPattern)"))
        // Where the mount would take its keys from, -o aws_shared_credentials_file= included.
        let exposure = CredentialsLoader.exposureWarnings(environment: plan.environment, homeDirectory: Paths.home(plan.environment))
        findings.append(exposure.isEmpty
            ? Finding(level: .ok, check: "credentials", detail: "access key \(Self.masked(plan.credentials.accessKeyId))")
            : Finding(level: .warning, check: "credentials", detail: exposure.joined(separator: "; "), fix: "chmod 600 the file named"))
        findings.append(stateFolder(plan.stateDirectory))
        findings += bucket(plan)
        if MountTable.mountType(at: plan.mountpoint) == "fuse.recsync" { findings += daemon() }
        return findings
    }

    static func masked(_ key: String) -> String {
        key.count <= 4 ? "****" : String(key.prefix(4)) + String(repeating: "*", count: min(12, key.count - 4))
    }

    func fuse() -> Finding {
        let fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            return Finding(level: .problem, check: "fuse", detail: "/dev/fuse cannot be opened: \(reason)",
                           fix: "install fuse3 and load the fuse module (modprobe fuse); in a container, pass --device /dev/fuse")
        }
        close(fd)
        if geteuid() != 0 && !FileManager.default.isExecutableFile(atPath: "/usr/bin/fusermount3")
            && !FileManager.default.isExecutableFile(atPath: "/bin/fusermount3") {
            return Finding(level: .problem, check: "fuse", detail: "fusermount3 is missing, and a user who is not root needs it to mount",
                           fix: "install the fuse3 package")
        }
        return Finding(level: .ok, check: "fuse", detail: "/dev/fuse is available")
    }

    func stateFolder(_ path: String) -> Finding {
        switch Paths.inspectPrivateFolder(path) {
        case .private:
            return Finding(level: .ok, check: "state", detail: "\(path) is private to this user")
        case .unreadable(ENOENT):
            return Finding(level: .ok, check: "state", detail: "\(path) will be made (mode 0700) at the first mount")
        case let .unreadable(code):
            return Finding(level: .problem, check: "state", detail: "cannot look at \(path): \(String(cString: strerror(code)))",
                           fix: "check the permissions of the folders above it, or choose another --state-dir")
        case .notFolder:
            return Finding(level: .problem, check: "state", detail: "\(path) is not a folder (a symlink?)",
                           fix: "remove it, or choose another --state-dir")
        case let .otherOwner(uid):
            return Finding(level: .problem, check: "state", detail: "\(path) belongs to uid \(uid), not to this user",
                           fix: "remove it (another user may have made it), or choose another --state-dir")
        case let .open(mode):
            return Finding(level: .warning, check: "state", detail: "\(path) has mode \(String(mode & 0o777, radix: 8)); the queue names every recording",
                           fix: "chmod 700 \(path) (the next mount does it too)")
        }
    }

    /// Writes, reads back and deletes a small object where this mount's recordings go.
    func bucket(_ plan: MountPlan) -> [Finding] {
        var options = S3ClientOptions()
        options.caBundle = plan.caBundle
        let logger = Logger(label: "recsync.doctor", factory: { _ in SwiftLogNoOpLogHandler() })
        let s3 = CurlS3Client(endpoint: plan.endpoint, credentials: plan.credentials, logger: logger, options: options)
        let bucket = plan.config.bucket ?? ""
        let name = ".recsync-doctor-\(UUID().uuidString.lowercased().prefix(8))"
        let key: String
        do {
            key = try plan.keyPattern.render(KeyContext(userId: plan.config.userId, relativePath: name, timestamp: Date(),
                                                       hostname: Daemon.hostname()))
        } catch {
            return [Finding(level: .problem, check: "keys", detail: "\(error)", fix: "change path_pattern")]
        }
        let probe = Data("recsync doctor probe \(Date())\n".utf8)
        var template = Array((FileManager.default.temporaryDirectory.path + "/recsync-doctor-XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else {
            return [Finding(level: .problem, check: "bucket", detail: "cannot make a probe file: \(String(cString: strerror(errno)))",
                            fix: "check that the temporary folder (TMPDIR) is writable")]
        }
        defer { close(fd); unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }) }
        _ = probe.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let started = Date()
        do {
            _ = try s3.putObject(bucket: bucket, key: key, body: FileBody(fd: fd, length: Int64(probe.count)),
                                 contentType: "text/plain", metadata: [:], progress: nil, shouldCancel: nil)
        } catch {
            return [Finding(level: .problem, check: "bucket", detail: "cannot write \(key) into \(bucket): \(error)",
                            fix: Self.fix(for: error, bucket: bucket))]
        }
        var findings = [Finding]()
        do {
            let info = try s3.headObject(bucket: bucket, key: key)
            if info?.size != Int64(probe.count) {
                findings.append(Finding(level: .problem, check: "bucket", detail: "the probe \(key) reads back as \(info.map { "\($0.size) bytes" } ?? "missing")",
                                        fix: "the server does not keep what it confirms; check the endpoint"))
            } else if let modified = info?.lastModified {
                // The server stamps the object with its own clock (to the second).
                let skew = modified.timeIntervalSince(started)
                if abs(skew) > Self.skewWarning + 1 {
                    findings.append(Finding(level: .warning, check: "clock",
                                            detail: "this machine's clock is \(Int(abs(skew))) s \(skew > 0 ? "behind" : "ahead of") the server's; S3 refuses requests past 15 minutes",
                                            fix: "enable time synchronisation (systemctl enable --now systemd-timesyncd, or chrony)"))
                } else {
                    findings.append(Finding(level: .ok, check: "clock", detail: "within \(Int(Self.skewWarning)) s of the server's"))
                }
            }
        } catch {
            findings.append(Finding(level: .problem, check: "bucket", detail: "cannot read \(key) back: \(error)",
                                    fix: "allow s3:GetObject on the key prefix"))
        }
        do {
            try s3.deleteObject(bucket: bucket, key: key)
            findings.insert(Finding(level: .ok, check: "bucket", detail: "wrote, read and deleted a probe under \(bucket)/\(key)"), at: 0)
        } catch {
            findings.insert(Finding(level: .warning, check: "bucket", detail: "wrote and read a probe, but cannot delete \(key): \(error)",
                                    fix: "delete it by hand; recsync itself never deletes unless mirror_deletes is on"), at: 0)
        }
        return findings
    }

    static func fix(for error: any Error, bucket: String) -> String {
        guard let s3Error = error as? S3Error else { return "check the endpoint, the network and the credentials" }
        if case let .http(_, code, _, _) = s3Error.kind {
            switch code {
            case "NoSuchBucket": return "create the bucket \(bucket), or correct bucket ="
            case "SignatureDoesNotMatch", "InvalidAccessKeyId":
                return "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the profile) and the region"
            case "AccessDenied": return "allow s3:PutObject, s3:GetObject and s3:DeleteObject on the key prefix"
            case "RequestTimeTooSkewed": return "set this machine's clock (systemd-timesyncd or chrony)"
            default: break
            }
        }
        return s3Error.endpointUnreachable ? "check the endpoint and the network: the server did not answer"
            : "check the endpoint, the network and the credentials"
    }

    /// Asks the live daemon why uploads are paused and how many multipart uploads nobody owns.
    func daemon() -> [Finding] {
        let client: ControlClient
        let status: ControlResponse
        do {
            client = try ControlClient.forPath(mountpoint).client
            status = try client.send(ControlRequest(op: .info))
        } catch {
            return [Finding(level: .problem, check: "daemon", detail: "the mount's daemon does not answer: \(error)",
                            fix: "recsync unmount, then mount again")]
        }
        var findings: [Finding] = []
        if let summary = status.summary {
            if let paused = summary.paused {
                findings.append(Finding(level: .warning, check: "network", detail: "uploads are paused: \(summary.pausedDetail ?? paused)",
                                        fix: "'recsync sync-now --force' uploads anyway; see docs/NETWORK.md for the policy"))
            } else {
                findings.append(Finding(level: .ok, check: "network", detail: "uploads run (\(summary.network.summary))"))
            }
        }
        do {
            let stale = try client.send(ControlRequest(op: .staleUploads, dryRun: true), timeout: 600).staleUploads ?? []
            findings.append(stale.isEmpty
                ? Finding(level: .ok, check: "uploads", detail: "no multipart upload left over")
                : Finding(level: .warning, check: "uploads", detail: "\(stale.count) multipart upload(s) nobody owns; they cost storage",
                          fix: "recsync doctor --stale-uploads \(mountpoint)"))
        } catch {
            findings.append(Finding(level: .warning, check: "uploads", detail: "cannot list multipart uploads: \(error)",
                                    fix: "allow s3:ListBucketMultipartUploads, or ignore this check"))
        }
        return findings
    }
}
