import CSysShims
import FoundationEssentials
import Logging
import RecsyncCore
import RecsyncFS
import RecsyncFUSE
import RecsyncMetrics
import RecsyncS3
import RecsyncStore
import RecsyncPrimitives
import Glibc

/// The long-running part of `recsync mount`: opens the queue, mounts, uploads, and on unmount
/// or SIGTERM stops cleanly with the queue consistent.
struct Daemon {
    let plan: MountPlan
    let readyFd: Int32?

    func run() throws {
        let level = Logger.Level(rawValue: plan.config.logLevel) ?? .info
        let journal = JournalLogHandler.standardErrorIsJournal(environment: ProcessInfo.processInfo.environment)
        LoggingSystem.bootstrap { label in
            if journal {
                var handler = JournalLogHandler()
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "recsync")
        logger[metadataKey: "mount"] = "\(plan.mountpoint)"
        signal(SIGPIPE, SIG_IGN)
        // Before any thread starts, so that every thread inherits the mask (StopSequence).
        StopSequence.blockStopSignals()
        LogRotation(path: plan.stateDirectory + "/recsync.log", limit: Self.logLimit()).start()
        // Many short-lived threads (FUSE workers, uploads) would each get a malloc arena that is
        // never given back; two arenas keep the daemon's memory flat.
        _ = recsync_limit_malloc_arenas(2)
        raiseOpenFileLimit()

        try Paths.makeDirectory(plan.stateDirectory)
        let queue: SyncQueue
        let recovery: QueueRecovery?
        do {
            (queue, recovery) = try SyncQueue.openRecovering(databasePath: plan.stateDirectory + "/queue.sqlite3")
        } catch {
            throw CLIError("\(error)")
        }
        // The queue names every recording: 0600. SQLite gives its -wal and -shm files the
        // database file's mode, so they follow.
        for suffix in ["", "-wal", "-shm"] { _ = chmod(plan.stateDirectory + "/queue.sqlite3" + suffix, 0o600) }
        if case .replacedDamaged = recovery { logger.warning("\(recovery!)") }
        if queue.recoveredOnOpen > 0 {
            logger.notice("uploads interrupted by a crash or stop go back to pending", metadata: ["count": "\(queue.recoveredOnOpen)"])
        }
        // Opened before the mount hides it: the recordings live in this folder's own directory.
        let rootFd = open(plan.mountpoint, recsync_O_PATH | recsync_O_DIRECTORY | O_CLOEXEC)
        guard rootFd >= 0 else {
            throw CLIError("cannot open \(plan.mountpoint): \(String(cString: strerror(errno)))")
        }
        var clientOptions = S3ClientOptions()
        clientOptions.stallTimeout = TimeInterval(plan.config.stallTimeout)
        if plan.config.maxUploadRate > 0 { clientOptions.maxUploadRate = Int64(plan.config.maxUploadRate) }
        clientOptions.caBundle = plan.caBundle
        clientOptions.uploadChecksum = UploadChecksumChoice(rawValue: plan.config.uploadChecksum) ?? .auto
        let schedule: UploadSchedule?
        do { schedule = try UploadSchedule.parse(plan.config.uploadSchedule) } catch {
            throw CLIError.usage("upload_schedule \(plan.config.uploadSchedule.debugDescription): \(error)")
        }
        clientOptions.adjustableUploadRate = schedule != nil
        // With what -o said (aws_profile= and the like): credentials are reloaded from the same place.
        let environment = plan.environment
        let home = Paths.home(environment)
        let s3 = CurlS3Client(endpoint: plan.endpoint, credentials: plan.credentials, logger: logger, options: clientOptions,
                              credentialsProvider: { try CredentialsLoader.load(environment: environment, homeDirectory: home) })
        var settings = EngineSettings(bucket: plan.config.bucket ?? "", keyPattern: plan.keyPattern,
                                      userId: plan.config.userId, hostname: Self.hostname(),
                                      maxConcurrentUploads: plan.config.maxConcurrentUploads,
                                      autoSync: plan.config.autoSync, syncOnMobileData: plan.config.syncOnMobileData,
                                      syncOnMeteredConnection: plan.config.syncOnMeteredConnection,
                                      chunkSize: plan.config.chunkSize)
        settings.settleDelay = TimeInterval(plan.config.settleDelay)
        settings.mirrorDeletes = plan.config.mirrorDeletes
        settings.ignorePatterns = plan.config.ignorePatterns
        // The queue was damaged, or lost while the state folder stayed (the event log of earlier
        // runs is still there): objects of files in the folder may be in the bucket already.
        let hadRunBefore = FileManager.default.fileExists(atPath: plan.stateDirectory + "/" + EventLog.fileName)
        settings.lookInBucketFirst = recovery.map { $0 != .created || hadRunBefore } ?? false
        let engine = SyncEngine(queue: queue, settings: settings, rootFd: rootFd, logger: logger)
        if case .replacedDamaged = recovery { engine.notice.withLock { $0 = "\(recovery!)" } }
        let fs = try PassthroughFS(rootFd: rootFd, hooks: engine, logger: logger)
        var fuseOptions = FuseOptions(mountpoint: plan.mountpoint, allowOther: plan.config.allowOther)
        fuseOptions.follow(backingFd: rootFd)
        fuseOptions.passthrough = plan.config.kernelPassthrough
        fuseOptions.apply(kernelFlags: plan.kernelFlags)
        let mount = FuseMount(fs: fs, options: fuseOptions, logger: logger)

        // Everything that can fail is checked before the mount goes live: the state folder and
        // the queue (above), the event log and its hook program, the control socket, the pid file.
        let events = try openEventLog(logger: logger)
        engine.setStatusHandler { change in events.emit(SyncEvent(change)) }
        engine.eventLogPath.withLock { $0 = events.path }
        let uploader = QueueRunner(engine: engine, s3: RetryingS3Client(s3), policy: RetryPolicy(maxAttempts: plan.config.retryAttempts), logger: logger)
        let scanner = Scanner(engine: engine, logger: logger)
        let stopper = StopSequence(fs: fs, mount: mount, grace: TimeInterval(plan.config.shutdownGrace), logger: logger)
        var handler = ControlHandler(engine: engine, uploader: uploader, mountpoint: plan.mountpoint,
                                     stateDirectory: plan.stateDirectory, logger: logger)
        handler.stopHandler = { stopper.stop(reason: "recsync unmount") }
        handler.shutdownGrace = plan.config.shutdownGrace
        let controlPath = Paths.controlSocket(for: plan.mountpoint, environment: environment)
        try Paths.privateDirectory(PathText.parent(plan.runtimeFile), purpose: "the runtime folder",
                                   fix: "set XDG_RUNTIME_DIR to a folder of your own")
        let metrics = try startMetrics(engine: engine, queue: queue, logger: logger)
        let control = ControlServer(socketPath: controlPath, logger: logger) { [handler] in handler.handle($0) }
        func abandonStart() {
            metrics.stop()
            control.stop()
            events.close(timeout: 1)
            queue.close()
            try? FileManager.default.removeItem(atPath: plan.runtimeFile)
        }
        do { try control.start() } catch {
            abandonStart()
            throw CLIError("cannot open the control socket \(controlPath): \(error); check that its folder is writable by this user")
        }
        do { try writeRuntimeFile() } catch {
            abandonStart()
            throw error
        }
        engine.awaitScan()
        do { try mount.mount() } catch {
            abandonStart()
            throw CLIError("\(error)")
        }
        defer { try? FileManager.default.removeItem(atPath: plan.runtimeFile) }
        if let readyFd { ReadyPipe.report(fd: readyFd, ready: true) }
        logger.info("mounted", metadata: ["bucket": "\(settings.bucket)", "endpoint": "\(plan.endpoint.baseURL)",
                                          "state": "\(plan.stateDirectory)"])
        for warning in CredentialsLoader.exposureWarnings(environment: environment, homeDirectory: Paths.home(environment)) {
            logger.warning("\(warning)")
        }
        if plan.endpoint.isPlainHTTPOffThisMachine {
            logger.warning("the endpoint is plain HTTP to another machine (allow_plain_http): requests cross the network in the clear",
                           metadata: ["endpoint": "\(plan.endpoint.baseURL)"])
        }

        // Under a Type=notify systemd unit: READY=1 now that the mount is live, then the queue's
        // summary as STATUS=, and STOPPING=1 when a stop begins.
        let notifier = SystemdNotifier(environment: environment)
        if let notifier {
            notifier.ready(status: (try? engine.summary().statusLine) ?? "mounted")
            notifier.follow(every: 2) { try? engine.summary().statusLine }
            stopper.onStopBegins = { notifier.stopping() }
        }

        let monitor = makeNetworkMonitor(s3: s3, bucket: settings.bucket, logger: logger)
        // upload_schedule: the window and rate now, then at each of its boundaries.
        let follower = schedule.map { schedule in
            ScheduleFollower(schedule: schedule, maxRate: plan.config.maxUploadRate, gate: engine.gate, logger: logger,
                             setRate: { s3.setUploadRate($0) }, onChange: { uploader.networkChanged(from: $0, to: $1) })
        }
        follower?.refresh()
        // The safety net every sync_interval: look for files changed behind our back (and the
        // schedule looked at again, in case the clock or the time zone changed).
        uploader.follow(monitor, onTick: {
            scanner.run()
            follower?.refresh()
        })
        uploader.start()
        let startupScanner = Scanner(engine: engine, logger: logger, lookForUnseenWriters: true)
        WorkerThread.detachNewThread { startupScanner.run() }

        stopper.setTeardown {
            control.stop()
            monitor.stop()
            follower?.stop()
            metrics.stop()
            uploader.stop(grace: max(0, stopper.uploadDeadline.timeIntervalSinceNow))
            engine.setStatusHandler(nil)
            engine.stopWatchingUnseenWriters()
            events.close(timeout: 5)
            queue.close()
            logger.info("stopped")
        }
        let runtimeFile = plan.runtimeFile
        stopper.onForcedExit = { try? FileManager.default.removeItem(atPath: runtimeFile) }
        stopper.listenForSignals()
        let status = mount.run()
        logger.info("the mount is gone", metadata: ["loop_status": "\(status)"])
        stopper.loopDidEnd()
        mount.close()
        if status < 0 {
            // The kernel connection failed under the daemon: the mount is gone and the queue
            // closed cleanly; the next mount picks up where this one stopped.
            throw CLIError("the FUSE session ended with an error (\(String(cString: strerror(-status)))); mount the folder again")
        }
    }

    /// `metrics_address` and `metrics_file`: started before the mount goes live, so a port in
    /// use or a folder that is not there fails the mount with the reason.
    private func startMetrics(engine: SyncEngine, queue: SyncQueue, logger: Logger) throws -> MetricsOutputs {
        guard plan.config.metricsAddress != nil || plan.config.metricsFile != nil else { return MetricsOutputs() }
        let metrics = RecsyncMetrics(version: RecsyncVersion.current)
        engine.setAttemptObserver { metrics.record($0) }
        let render: @Sendable () -> String = {
            let shape = (try? queue.shape()) ?? QueueShape(counts: [:], oldestWaitingSince: nil)
            return metrics.render(MetricsSnapshot(queue: shape, bytesWaiting: (try? queue.pendingBytes()) ?? 0,
                                                  uploadsInFlight: engine.uploadsInFlight, network: engine.gate.network,
                                                  paused: engine.gate.pauseReason))
        }
        var outputs = MetricsOutputs()
        do {
            if let address = plan.config.metricsAddress {
                let server = try MetricsServer(address: address, logger: logger, render: render)
                server.start()
                logger.info("metrics served", metadata: ["address": "http://\(server.boundAddress)/metrics"])
                outputs.server = server
            }
            if let path = plan.config.metricsFile {
                let file = MetricsTextFile(path: path, logger: logger, render: render)
                try file.start()
                outputs.file = file
            }
        } catch {
            outputs.stop()
            throw CLIError("\(error)")
        }
        return outputs
    }

    /// The network monitor: rtnetlink events, the `[network]` settings, and with `check_endpoint`
    /// a HEAD request to the bucket as the "endpoint answers" test.
    private func makeNetworkMonitor(s3: CurlS3Client, bucket: String, logger: Logger) -> NetworkMonitor {
        let addresses = EndpointAddresses(host: plan.endpoint.host)
        var probe: (@Sendable () -> String?)?
        if plan.config.network.checkEndpoint {
            probe = { @Sendable () -> String? in
                do {
                    _ = try s3.headObject(bucket: bucket, key: ".recsync-network-check")
                    return nil
                } catch let error as S3Error {
                    if case .transport = error.kind { return error.description }
                    return nil  // the server answered, if only with an error
                } catch {
                    return nil
                }
            }
        }
        // A name is resolved again at each look (in the background; a new answer means another look).
        let lookAgain = MonitorReference()
        let inspector = NetworkInspector(settings: plan.config.network, endpointAddresses: {
            addresses.refresh { lookAgain.monitor?.changed() }
            return addresses.current()
        }, probe: probe)
        let monitor = NetworkMonitor(inspector: inspector, events: RtnetlinkEventSource(),
                                     interval: TimeInterval(plan.config.syncInterval), logger: logger)
        lookAgain.monitor = monitor
        return monitor
    }

    /// The event log in the state folder, with the configured hook.
    private func openEventLog(logger: Logger) throws -> EventLog {
        var hook: EventHook?
        if !plan.config.onEvent.isEmpty {
            do { hook = try EventHook(arguments: plan.config.onEvent, mountpoint: plan.mountpoint) } catch {
                throw CLIError("[hooks] on_event: \(error)")
            }
        }
        do {
            return try EventLog(path: plan.stateDirectory + "/" + EventLog.fileName, hook: hook, logger: logger)
        } catch {
            throw CLIError("\(error)")
        }
    }

    private func writeRuntimeFile() throws {
        let directory = PathText.parent(plan.runtimeFile)
        do {
            try "\(getpid())\n".write(toFile: plan.runtimeFile, atomically: true, encoding: .utf8)
        } catch {
            throw CLIError("cannot write the pid file \(plan.runtimeFile): \(errorText(error)); check that \(directory) is writable by this user")
        }
    }

    private func raiseOpenFileLimit() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    /// The size at which `recsync.log` rotates: 16 MiB, or `RECSYNC_LOG_LIMIT` bytes (tests).
    static func logLimit() -> Int64 {
        ProcessInfo.processInfo.environment["RECSYNC_LOG_LIMIT"].flatMap { Int64($0) }.map { max($0, 4096) } ?? LogRotation.defaultLimit
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Lets the endpoint resolver reach the monitor it feeds without keeping it alive.
private final class MonitorReference: @unchecked Sendable {
    private let lock = Lock()
    private weak var stored: NetworkMonitor?
    var monitor: NetworkMonitor? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Where metrics go, if anywhere.
struct MetricsOutputs {
    var server: MetricsServer?
    var file: MetricsTextFile?

    func stop() {
        server?.stop()
        file?.stop()
    }
}
