import Dispatch
import FoundationEssentials
import Logging
import RecsyncPrimitives
import Synchronization

/// Keeps the gate and the upload rate in step with `upload_schedule`: applies what the
/// timetable says now, then sleeps on a wall-clock timer until its next boundary (no polling;
/// a suspended laptop wakes to the right answer, since the timer follows the wall clock).
/// ``refresh()`` applies it again at any time, e.g. after a clock or time zone change.
public final class ScheduleFollower: Sendable {
    let schedule: UploadSchedule
    /// `max_upload_rate` in bytes per second; nil: none.
    let maxRate: Int?
    let gate: SyncGate
    let setRate: @Sendable (Int64?) -> Void
    let onChange: @Sendable (PauseReason?, PauseReason?) -> Void
    let now: @Sendable () -> Date
    let logger: Logger
    private let timer = Mutex<DispatchSourceTimer?>(nil)
    private let current = Mutex<UploadSchedule.Limit?>(nil)
    private let stopped = Mutex(false)
    private let queue = DispatchQueue(label: "recsync.schedule")

    /// - Parameters:
    ///   - setRate: takes the rate uploads may use now (nil: no limit).
    ///   - onChange: told the pause reasons before and after a change of window.
    public init(schedule: UploadSchedule, maxRate: Int?, gate: SyncGate, logger: Logger,
                now: @escaping @Sendable () -> Date = { Date() },
                setRate: @escaping @Sendable (Int64?) -> Void,
                onChange: @escaping @Sendable (PauseReason?, PauseReason?) -> Void) {
        self.schedule = schedule
        self.maxRate = maxRate.flatMap { $0 > 0 ? $0 : nil }
        self.gate = gate
        self.logger = logger
        self.now = now
        self.setRate = setRate
        self.onChange = onChange
    }

    /// The rate for a limit: the lower of the window's cap and `max_upload_rate`. While the
    /// window is off, what still uploads (sync-now) goes at `max_upload_rate`.
    func rate(for limit: UploadSchedule.Limit) -> Int? {
        switch limit {
        case .off, .unlimited: return maxRate
        case let .rate(bytes): return min(bytes, maxRate ?? Int.max)
        }
    }

    /// Applies the timetable now and arms the timer for the next boundary.
    public func refresh() {
        queue.sync { apply() }
    }

    /// Stops the timer; an `apply` running now does not arm another.
    public func stop() {
        queue.sync {
            stopped.withLock { $0 = true }
            timer.withLock { timer in
                timer?.cancel()
                timer = nil
            }
        }
    }

    private func apply() {
        guard !stopped.withLock({ $0 }) else { return }
        let moment = now()
        // Read the time zone again, so one changed while recsync runs (`timedatectl
        // set-timezone`) is followed from this refresh on.
        CivilTime.reloadLocalZone()
        let limit = schedule.limit(at: moment)
        let next = schedule.nextChange(after: moment)
        let previous = current.withLock { current in
            defer { current = limit }
            return current
        }
        if previous != limit { setRate(rate(for: limit).map(Int64.init)) }
        let (before, after) = gate.update(outsideWindow: limit == .off, opens: next)
        if previous != limit {
            logger.notice("upload window: \(limit)", metadata: ["until": "\(next.map { SyncGate.windowTime($0) } ?? "always")"])
        }
        if before != after { onChange(before, after) }
        arm(at: next)
    }

    private func arm(at next: Date?) {
        timer.withLock { timer in
            timer?.cancel()
            timer = nil
            guard let next else { return }
            let source = DispatchSource.makeTimerSource(queue: queue)
            // A second late, so the boundary minute has begun on the wall clock.
            let seconds = max(0, next.timeIntervalSince(now())) + 1
            source.schedule(wallDeadline: .now() + seconds, leeway: .milliseconds(200))
            source.setEventHandler { [weak self] in self?.apply() }
            source.resume()
            timer = source
        }
    }
}
