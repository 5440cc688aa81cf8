import FoundationEssentials
import Prometheus
import RecsyncCore
import RecsyncStore
import Synchronization

/// What the metrics read at each scrape: the queue, the network and the gate.
public struct MetricsSnapshot: Sendable {
    public var queue: QueueShape
    public var bytesWaiting: Int64
    public var uploadsInFlight: Int
    public var network: NetworkState
    public var paused: PauseReason?
    public var now: Date

    public init(queue: QueueShape, bytesWaiting: Int64, uploadsInFlight: Int, network: NetworkState, paused: PauseReason?, now: Date = Date()) {
        self.queue = queue
        self.bytesWaiting = bytesWaiting
        self.uploadsInFlight = uploadsInFlight
        self.network = network
        self.paused = paused
        self.now = now
    }
}

/// recsync's Prometheus metrics (docs/METRICS.md): counters and a histogram fed by every upload
/// attempt, and gauges set from a ``MetricsSnapshot`` when they are read. No label holds a path
/// or a key: the metrics say how the mount is doing, not what is in it.
public final class RecsyncMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let uploadBytes: Counter
    let syncedFiles: Counter
    let duration: DurationHistogram
    let bytesWaiting: Gauge
    let oldestWaiting: Gauge
    let inFlight: Gauge
    let online: Gauge
    let metered: Gauge
    let uploadsPaused: Gauge
    /// The info gauge of the network last seen, replaced when its labels change.
    private let networkInfo = Mutex<(labels: [String], gauge: Gauge)?>(nil)

    /// Upload duration buckets: recordings take from a second to an hour to upload.
    static let durationBuckets: [Duration] = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600].map { .milliseconds(Int64($0 * 1000)) }
    static let priorities: [Priority] = [.cleanup, .low, .normal, .high, .critical]
    static let attemptOutcomes = ["synced", "pending", "failed", "local", "requeued", "gone"]
    static let failureClasses = ["transient", "unreachable", "permanent", "clock_skew", "expired_credentials", "cancelled",
                                 "local_change", "local_file"]

    public init(version: String) {
        registry.makeGauge(name: "recsync_build_info", labels: [("version", version)], help: "Always 1; the version of recsync running.").set(to: 1)
        uploadBytes = registry.makeCounter(name: "recsync_upload_bytes_total", help: "Request-body bytes sent by upload attempts (PutObject and UploadPart).")
        syncedFiles = registry.makeCounter(name: "recsync_synced_files_total", help: "Upload attempts that ended with the file synced.")
        duration = registry.makeDurationHistogram(name: "recsync_upload_duration_seconds", buckets: Self.durationBuckets,
                                                  help: "How long upload attempts took, whatever their outcome.")
        bytesWaiting = registry.makeGauge(name: "recsync_bytes_waiting", help: "Bytes of pending and syncing files.")
        oldestWaiting = registry.makeGauge(name: "recsync_oldest_waiting_seconds", help: "Age of the longest-waiting pending or syncing file since it was queued; 0 when none waits.")
        inFlight = registry.makeGauge(name: "recsync_uploads_in_flight", help: "Files being uploaded now.")
        online = registry.makeGauge(name: "recsync_network_online", help: "1 when recsync sees a route to the endpoint, else 0.")
        metered = registry.makeGauge(name: "recsync_network_metered", help: "1 when the connection counts as metered, else 0.")
        uploadsPaused = registry.makeGauge(name: "recsync_uploads_paused", help: "1 when automatic uploads are paused, for whatever reason, else 0.")
        // Every series a dashboard or an alert may name exists from the start, at 0.
        for outcome in Self.attemptOutcomes { _ = attempts(outcome) }
        for name in Self.failureClasses { _ = failures(name) }
        for reason in PauseReason.allCases { _ = paused(reason) }
        for status in SyncStatus.allCases { for priority in Self.priorities { _ = queued(status, priority.rawValue) } }
    }

    func attempts(_ outcome: String) -> Counter {
        registry.makeCounter(name: "recsync_upload_attempts_total", labels: [("outcome", outcome)],
                             help: "Upload attempts by the file's status after them (synced, pending: will retry, failed, local: stopped, requeued: changed meanwhile, gone).")
    }

    func failures(_ name: String) -> Counter {
        registry.makeCounter(name: "recsync_upload_failures_total", labels: [("class", name)],
                             help: "Failed upload attempts by error class (transient, unreachable, permanent, clock_skew, expired_credentials, cancelled, local_change, local_file).")
    }

    func paused(_ reason: PauseReason) -> Gauge {
        registry.makeGauge(name: "recsync_paused", labels: [("reason", reason.rawValue)],
                           help: "1 for the reason automatic uploads are paused now, 0 for the others.")
    }

    func queued(_ status: SyncStatus, _ priority: Int) -> Gauge {
        let name = Priority(rawValue: priority).map { "\($0)" } ?? String(priority)
        return registry.makeGauge(name: "recsync_queue_files", labels: [("status", status.rawValue), ("priority", name)],
                                  help: "Files in the upload queue by status and priority.")
    }

    /// Counts one upload attempt.
    public func record(_ report: UploadAttemptReport) {
        let outcome = report.outcome == "queued again" ? "requeued" : report.outcome
        attempts(outcome).increment()
        if outcome == "synced" { syncedFiles.increment() }
        if let failure = report.failureClass, outcome != "synced" { failures(failure).increment() }
        uploadBytes.increment(by: report.bytesSent)
        duration.record(report.duration)
    }

    /// Sets the gauges from `snapshot` and returns the exposition text.
    public func render(_ snapshot: MetricsSnapshot) -> String {
        update(snapshot)
        return registry.emitToString()
    }

    func update(_ snapshot: MetricsSnapshot) {
        for status in SyncStatus.allCases {
            let byPriority = snapshot.queue.counts[status] ?? [:]
            for priority in Set(Self.priorities.map(\.rawValue)).union(byPriority.keys) {
                queued(status, priority).set(to: Double(byPriority[priority] ?? 0))
            }
        }
        bytesWaiting.set(to: Double(snapshot.bytesWaiting))
        oldestWaiting.set(to: snapshot.queue.oldestWaitingSince.map { max(0, snapshot.now.timeIntervalSince($0)) } ?? 0)
        inFlight.set(to: Double(snapshot.uploadsInFlight))
        online.set(to: snapshot.network.online ? 1 : 0)
        metered.set(to: snapshot.network.metered ? 1 : 0)
        uploadsPaused.set(to: snapshot.paused == nil ? 0 : 1)
        for reason in PauseReason.allCases { paused(reason).set(to: reason == snapshot.paused ? 1 : 0) }
        let labels = [snapshot.network.type.rawValue, snapshot.network.interface ?? ""]
        networkInfo.withLock { current in
            guard current?.labels != labels else { return }
            if let old = current?.gauge { registry.unregisterGauge(old) }
            let gauge = registry.makeGauge(name: "recsync_network_info", labels: [("type", labels[0]), ("interface", labels[1])],
                                           help: "Always 1; the connection recsync uploads over now.")
            gauge.set(to: 1)
            current = (labels, gauge)
        }
    }
}
