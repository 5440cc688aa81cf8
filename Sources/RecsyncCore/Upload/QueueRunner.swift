import CSysShims
import FoundationEssentials
import RecsyncFS
import Logging
import Synchronization
import RecsyncS3
import RecsyncStore
import RecsyncPrimitives

/// The queue runner: one thread takes due items from the queue in batches (highest priority
/// first, oldest first within a priority) and starts up to `maxConcurrentUploads` uploads at
/// once. It sleeps until something is queued, an upload ends, or the earliest retry is due;
/// nothing polls in a tight loop.
///
/// When the endpoint cannot be reached at all, uploads pause: no attempt is spent, and the
/// runner probes with one item at a growing interval (2 s doubling to 30 s) until the server
/// answers, then resumes everything at once.
///
/// Locking: `condition` guards every `var` below. Neither the runner nor an upload holds it
/// while talking to the queue, S3 or a hook.
public final class QueueRunner: @unchecked Sendable {
    /// What the uploads of single files share (transfer slots, trusted multipart uploads), and
    /// the engine, client, policy and logger the runner uses too.
    let context: UploadContext
    var engine: SyncEngine { context.engine }
    var s3: any S3Client { context.s3 }
    var logger: Logger { context.logger }
    var maxConcurrent: Int { context.maxConcurrent }
    let janitor: ServerJanitor
    /// Items taken from the queue per claim.
    static let batchSize = 10
    /// The longest the runner sleeps without a reason, as a safety net.
    let idleWait: TimeInterval = 30
    /// How much an upload's thread raises its nice value: 10, so that under contention a
    /// program writing into the mount gets the CPU about ten times as often as the uploads;
    /// alone on the machine they still take all of it.
    static let uploadNiceness: Int32 = 10
    static let firstProbeDelay: TimeInterval = 2
    static let maxProbeDelay: TimeInterval = 30

    private let condition = Condition()
    private var stopping = false
    private var wakeCount: UInt64 = 0
    private var inFlight = 0
    private var runnerDone = false
    /// Set while the endpoint is unreachable: when to try one item again, and the next interval.
    /// (Why is kept in the engine's gate, for the attributes and `recsync status`.)
    private var offline: (nextProbe: Date, interval: TimeInterval)?
    /// While the runner sleeps: when it wakes by itself for its next pass.
    private var sleepingUntil: Date?
    /// Passes over the queue so far (each a claim and a look at the retry times).
    private var passes = 0

    public init(engine: SyncEngine, s3: any S3Client, policy: RetryPolicy = RetryPolicy(), logger: Logger) {
        context = UploadContext(engine: engine, s3: s3, policy: policy, logger: logger)
        janitor = ServerJanitor(engine: engine, s3: s3, logger: logger)
    }

    public func start() {
        engine.wakeUploader.withLock { $0 = Callback { [weak self] due in self?.wake(dueAt: due) } }
        let thread = WorkerThread { [self] in self.runLoop() }
        thread.name = "recsync-queue-runner"
        thread.start()
    }

    /// Something was queued or asked for: look now.
    public func wake() {
        wake(dueAt: nil)
    }

    /// A file was queued that may start at `due` (nil: now). While the runner sleeps, a file
    /// still settling only brings its next pass forward to `due` when it would come later: a
    /// pass now would find nothing to start, and a close costs no queue query in the runner.
    /// When the runner is not asleep (in a pass, whose look at the retry times may have come
    /// before this file was queued) it looks again, as for any wake.
    func wake(dueAt due: Date?) {
        condition.lock()
        if let due, let sleeping = sleepingUntil, due > Date() {
            if due < sleeping {
                sleepingUntil = due
                condition.broadcast()
            }
        } else {
            wakeCount &+= 1
            condition.broadcast()
        }
        condition.unlock()
    }

    /// How many passes over the queue the runner has made, and whether it sleeps (for tests).
    var activity: (passes: Int, asleep: Bool) {
        condition.lock()
        defer { condition.unlock() }
        return (passes, sleepingUntil != nil)
    }

    /// Why uploads are not starting, with its detail, or nil when they may.
    public var pauseReason: String? { engine.gate.pauseDescription }

    /// The network monitor saw a change (`SyncGate.update` gave the pause reasons before and
    /// after). Going offline stops the uploads in flight (they stay pending, no attempt counted;
    /// a multipart upload keeps its completed parts). A connection the policy refuses lets a
    /// multipart upload stop after its current part and a single PutObject finish. Any change
    /// ends an offline pause at once, and when uploads may run, every backoff wait is dropped.
    public func networkChanged(from before: PauseReason?, to after: PauseReason?) {
        if after == .offline {
            let uploads = engine.live.withLock { Array($0.uploads.values) }.filter { !engine.gate.isForced($0.path) }
            if !uploads.isEmpty {
                logger.notice("offline: stopping uploads in flight; they stay pending", metadata: ["count": "\(uploads.count)"])
            }
            uploads.forEach { $0.cancel() }
        }
        if after == nil {
            do {
                let waiting = try engine.queue.clearRetryWaits()
                if before != nil { logger.notice("uploads resume", metadata: ["was": "\(before!.rawValue)", "waiting": "\(waiting)"]) }
            } catch {
                logger.error("cannot update the upload queue", metadata: ["error": "\(error)"])
            }
        } else if after != before {
            logger.notice("automatic uploads paused: \(engine.gate.pauseDescription ?? after!.rawValue)")
        }
        condition.lock()
        offline = nil
        wakeCount &+= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Stops taking new items and gives uploads in flight `grace` seconds to finish; then cancels
    /// them (they go back to pending without counting an attempt) and waits for them.
    public func stop(grace: TimeInterval) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(grace)
        while (inFlight > 0 || !runnerDone) && condition.wait(until: deadline) {}
        let remaining = inFlight
        condition.unlock()
        if remaining > 0 {
            let uploads = engine.live.withLock { Array($0.uploads.values) }
            logger.notice("stopping: cancelling uploads still running; they stay pending", metadata: ["count": "\(uploads.count)"])
            uploads.forEach { $0.cancel() }
            condition.lock()
            let hardDeadline = Date().addingTimeInterval(10)
            while inFlight > 0 && condition.wait(until: hardDeadline) {}
            condition.unlock()
        }
        engine.wakeUploader.withLock { $0 = nil }
    }

    // MARK: The runner

    private func runLoop() {
        defer {
            condition.lock()
            runnerDone = true
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            if stopping { condition.unlock(); return }
            passes += 1
            let seen = wakeCount
            let free = maxConcurrent - inFlight
            let now = Date()
            var limit = min(Self.batchSize, free)
            var probing = false
            if let offline {
                if now < offline.nextProbe || inFlight > 0 { limit = 0 } else { limit = min(limit, 1); probing = true }
            }
            condition.unlock()

            var started = 0
            let claimedAt = engine.queue.currentTime
            if limit > 0 {
                for record in claimAdmitted(limit: limit) {
                    launch(record, probe: probing)
                    started += 1
                }
            }
            if started > 0 && started == limit { continue }

            if started == 0 && limit > 0 && !probing && engine.gate.policyPauseReason != .offline {
                janitor.run()
            }
            // Retry (and settle) times after the claim: one that came due since is in the past,
            // and the runner looks again at once instead of sleeping over it.
            let due = (try? engine.queue.earliestRetry(after: claimedAt)) ?? nil
            condition.lock()
            var until = min(due ?? .distantFuture, Date().addingTimeInterval(idleWait))
            if let offline, inFlight == 0 { until = min(until, offline.nextProbe) }
            sleepingUntil = until
            while !stopping && wakeCount == seen, let deadline = sleepingUntil, Date() < deadline {
                _ = condition.wait(until: deadline)
            }
            sleepingUntil = nil
            condition.unlock()
        }
    }

    /// Claims what may start under the network and the policy: everything when uploads run;
    /// while paused, the files forced through (`sync-now --force`), and with `auto_sync` off also
    /// the CRITICAL ones (plain `sync-now`).
    private func claimAdmitted(limit: Int) -> [FileRecord] {
        let busy = engine.live.withLock { $0.writing.union($0.held).union($0.uploads.keys) }.map(\.path)
        do {
            guard let pause = engine.gate.policyPauseReason else {
                return try engine.queue.claim(limit: limit, excluding: busy)
            }
            var records = try engine.queue.claim(paths: engine.gate.forcedPaths, limit: limit, excluding: busy)
            if pause.admitsCritical {
                records += try engine.queue.claim(limit: limit - records.count, excluding: busy + records.map(\.path),
                                                  minimumPriority: Priority.critical.rawValue)
            }
            return records
        } catch {
            logger.error("cannot read the upload queue", metadata: ["error": "\(error)"])
            return []
        }
    }

    private func launch(_ record: FileRecord, probe: Bool) {
        condition.lock()
        inFlight += 1
        condition.unlock()
        let thread = WorkerThread { [self] in
            // Uploads are background work: they yield the CPU to the program writing into the
            // mount (and to recsync's own answers to it). Parts the upload starts inherit it.
            _ = recsync_lower_thread_priority(Self.uploadNiceness)
            let outcome = FileUpload(context: self.context, record: record).run()
            // A forced upload is forced once: it ends when the file is synced or failed.
            if engine.gate.isForced(record.path),
               let status = try? engine.queue.record(path: record.path)?.status, status == .synced || status == .failed {
                engine.gate.unforce(record.path)
            }
            self.finished(record.path, outcome: outcome)
        }
        thread.name = "recsync-upload"
        if !thread.start() {
            // No thread for it: the file goes back to pending and is claimed again later.
            logger.error("cannot start an upload thread; the file stays queued", metadata: ["path": "\(record.path)"])
            _ = try? engine.queue.release(path: record.path, generation: record.generation)
            finished(record.path, outcome: .local)
        }
    }

    /// Books the end of one upload and adjusts the offline state.
    private func finished(_ path: String, outcome: UploadOutcome) {
        condition.lock()
        inFlight -= 1
        switch outcome {
        case .unreachable(let reason):
            let interval = min((offline?.interval ?? Self.firstProbeDelay / 2) * 2, Self.maxProbeDelay)
            if offline == nil { logger.warning("endpoint unreachable; uploads paused until it answers", metadata: ["reason": "\(reason)"]) }
            offline = (Date().addingTimeInterval(interval), interval)
            engine.gate.setEndpointUnreachable(reason)
        case .reachedServer:
            if offline != nil { logger.notice("endpoint reachable again; resuming uploads") }
            offline = nil
            engine.gate.setEndpointUnreachable(nil)
        case .local:
            break
        }
        wakeCount &+= 1
        condition.broadcast()
        condition.unlock()
    }
}

/// What one upload attempt tells the runner about the endpoint.
enum UploadOutcome {
    /// The server answered (success or an error of its own).
    case reachedServer
    /// The endpoint could not be reached at all.
    case unreachable(String)
    /// Nothing was sent (the file changed, vanished, or the upload was cancelled before sending).
    case local
}
