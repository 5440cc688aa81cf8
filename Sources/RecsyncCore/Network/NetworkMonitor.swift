import FoundationEssentials
import Logging
import RecsyncPrimitives

/// Watches the network and tells its listener when the state changes.
///
/// A change arrives as an event (rtnetlink) and is looked at after a short settling time, so a
/// burst of messages (an interface coming up brings a link, an address and several routes) costs
/// one look; the state is re-evaluated within a second of the change. Every `interval` seconds
/// the monitor also looks again and calls `onTick`, as a safety net for changes that send no
/// event (a Metered setting changed in NetworkManager) and for a periodic rescan.
///
/// Locking: `condition` guards every `var`. Listeners are called on the monitor's thread without
/// the lock held.
public final class NetworkMonitor: @unchecked Sendable {
    let inspector: NetworkInspector
    let events: any NetworkEventSource
    let interval: TimeInterval
    let settle: TimeInterval
    let logger: Logger
    /// Called when a look finds the state changed: (old, new).
    public typealias ChangeHandler = @Sendable (NetworkState, NetworkState) -> Void

    private let condition = Condition()
    private var current: NetworkState
    private var lookDue: Date?
    private var stopping = false
    private var stopped = true
    private var checks = 0

    public init(inspector: NetworkInspector, events: any NetworkEventSource, interval: TimeInterval,
                settle: TimeInterval = 0.2, logger: Logger) {
        self.inspector = inspector
        self.events = events
        self.interval = max(1, interval)
        self.settle = settle
        self.logger = logger
        self.current = .assumedOnline
    }

    /// The state of the last look.
    public var state: NetworkState {
        condition.lock()
        defer { condition.unlock() }
        return current
    }

    /// Looks done so far (for tests).
    public var lookCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return checks
    }

    /// Looks once (synchronously, so the first state is known before anything uploads), then
    /// follows events until `stop()`.
    public func start(onChange: @escaping ChangeHandler, onTick: @escaping @Sendable () -> Void = {}) {
        let first = inspector.inspect()
        condition.lock()
        current = first
        checks += 1
        stopped = false
        condition.unlock()
        logger.info("network: \(first.summary)")
        do {
            try events.start { [weak self] in self?.changed() }
        } catch {
            logger.warning("\(error); network changes are noticed only every \(Int(interval)) s")
        }
        let thread = WorkerThread { [self] in run(onChange: onChange, onTick: onTick) }
        thread.name = "recsync-network"
        thread.start()
    }

    /// Something changed (or may have): look again after the settling time.
    public func changed() {
        condition.lock()
        let due = Date().addingTimeInterval(settle)
        if lookDue == nil || lookDue! > due { lookDue = due }
        condition.broadcast()
        condition.unlock()
    }

    public func stop() {
        events.stop()
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func run(onChange: ChangeHandler, onTick: () -> Void) {
        var nextTick = Date().addingTimeInterval(interval)
        while true {
            condition.lock()
            while !stopping {
                let now = Date()
                if let due = lookDue, due <= now { break }
                if nextTick <= now { break }
                _ = condition.wait(until: min(lookDue ?? .distantFuture, nextTick))
            }
            if stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let tick = nextTick <= Date()
            lookDue = nil
            condition.unlock()

            let fresh = inspector.inspect()
            condition.lock()
            let old = current
            current = fresh
            checks += 1
            condition.unlock()
            if fresh != old {
                logger.notice("network changed: \(fresh.summary)")
                onChange(old, fresh)
            }
            if tick {
                nextTick = Date().addingTimeInterval(interval)
                onTick()
            }
        }
    }
}
