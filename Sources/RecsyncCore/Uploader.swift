import Foundation
import Logging
import RecsyncS3
import RecsyncStore

/// Background workers that take due items from the queue, highest priority first, and upload them.
///
/// Locking: `condition` guards `stopping`, `wakeCount` and `running`. Workers never hold it
/// while talking to the queue or the network.
public final class Uploader: @unchecked Sendable {
    let engine: SyncEngine
    let s3: any S3Client
    let logger: Logger
    let workerCount: Int
    /// The longest a worker sleeps without a wake-up, as a safety net.
    let idleWait: TimeInterval = 30

    private let condition = NSCondition()
    private var stopping = false
    private var wakeCount: UInt64 = 0
    private var running = 0

    public init(engine: SyncEngine, s3: any S3Client, logger: Logger) {
        self.engine = engine
        self.s3 = s3
        self.logger = logger
        self.workerCount = max(1, engine.settings.maxConcurrentUploads)
    }

    public func start() {
        engine.wakeUploader.withLock { $0 = { [weak self] in self?.wake() } }
        condition.lock()
        running = workerCount
        condition.unlock()
        for index in 0..<workerCount {
            let thread = Thread { [self] in self.workerLoop() }
            thread.name = "recsync-upload-\(index)"
            thread.start()
        }
    }

    /// Something was queued: let an idle worker look now.
    public func wake() {
        condition.lock()
        wakeCount &+= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Stops taking new items and gives uploads in flight `grace` seconds to finish; then cancels
    /// them (they go back to pending without counting an attempt) and waits for the workers.
    public func stop(grace: TimeInterval) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(grace)
        while running > 0 && condition.wait(until: deadline) {}
        let stillRunning = running
        condition.unlock()
        if stillRunning > 0 {
            let inFlight = engine.live.withLock { Array($0.uploads.values) }
            logger.notice("cancelling uploads still running at shutdown; they stay pending", metadata: ["count": "\(inFlight.count)"])
            inFlight.forEach { $0.cancel() }
            condition.lock()
            let hardDeadline = Date().addingTimeInterval(10)
            while running > 0 && condition.wait(until: hardDeadline) {}
            condition.unlock()
        }
        engine.wakeUploader.withLock { $0 = nil }
    }

    private func workerLoop() {
        defer {
            condition.lock()
            running -= 1
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            let seen = wakeCount
            let stop = stopping
            condition.unlock()
            if stop { return }

            if engine.settings.autoSync, let record = claimOne() {
                upload(record)
                continue
            }
            let due = (try? engine.queue.earliestRetry()) ?? nil
            let until = min(due ?? .distantFuture, Date().addingTimeInterval(idleWait))
            condition.lock()
            if !stopping && wakeCount == seen { _ = condition.wait(until: until) }
            condition.unlock()
        }
    }

    private func claimOne() -> FileRecord? {
        let busy = engine.live.withLock { $0.writing.union($0.held).union($0.uploads.keys) }
        do {
            return try engine.queue.claim(limit: 1, excluding: busy).first
        } catch {
            logger.error("cannot read the upload queue", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
