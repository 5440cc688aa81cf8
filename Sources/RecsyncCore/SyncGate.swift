import FoundationEssentials
import RecsyncFS
import RecsyncStore
import Synchronization
import RecsyncPrimitives

/// Whether uploads may start now, and why not: the network monitor's last state under the user's
/// policy, the uploader's own finding that the endpoint does not answer, and the files the user
/// forced through (`sync-now --force`). Read by the queue runner before each claim, by the
/// attributes (`user.sync.error` says `paused: ...`) and by `recsync status`.
///
/// Safe to share: every field is behind the mutex; nothing is called with it held.
public final class SyncGate: Sendable {
    struct State {
        var network: NetworkState = .assumedOnline
        var policy: SyncPolicy
        /// Set while the endpoint could not be reached at all (the uploader's probes).
        var endpointUnreachable: String?
        /// Files whose next upload ignores the connection rules, once.
        var forced: Set<PathKey> = []
        /// Bumped on every network change, so an upload can tell that the network changed under it.
        var networkGeneration: UInt64 = 0
        /// `upload_schedule` says `off` now; `windowOpens` is when that ends, if ever.
        var outsideWindow = false
        var windowOpens: Date?

        /// The network under the policy, then the upload schedule (after the connection
        /// reasons, before `auto_sync`).
        var policyReason: PauseReason? {
            let reason = policy.pauseReason(network)
            if let reason, reason != .autoSyncOff { return reason }
            return outsideWindow ? .outsideWindow : reason
        }
        /// With the uploader's finding that the endpoint does not answer.
        var reason: PauseReason? { endpointUnreachable != nil ? .offline : policyReason }

        /// `reason` (or `policyReason`) for one file: none for a file forced through, nor for a
        /// CRITICAL one (a plain `sync-now`) when the reason lets those through.
        func reason(for path: String, priority: Int, includingEndpoint: Bool) -> PauseReason? {
            guard let reason = includingEndpoint ? reason : policyReason else { return nil }
            if forced.contains(PathKey(path)) || (reason.admitsCritical && priority >= Priority.critical.rawValue) { return nil }
            return reason
        }
    }
    private let state: Mutex<State>

    public init(policy: SyncPolicy) {
        state = Mutex(State(policy: policy))
    }

    public var policy: SyncPolicy { state.withLock { $0.policy } }
    public var network: NetworkState { state.withLock { $0.network } }
    public var networkGeneration: UInt64 { state.withLock { $0.networkGeneration } }

    /// Why automatic uploads do not run now; nil when they do.
    public var pauseReason: PauseReason? {
        state.withLock { $0.reason }
    }

    /// The network and policy part of `pauseReason`, without the uploader's own probes (the
    /// runner handles those itself).
    var policyPauseReason: PauseReason? {
        state.withLock { $0.policyReason }
    }

    /// The reason with its detail, for logs and `recsync status`: `offline: no default route`,
    /// `metered connection (wlan0, metered by networkmanager)`.
    public var pauseDescription: String? {
        state.withLock { state in
            if let unreachable = state.endpointUnreachable { return "offline: \(unreachable)" }
            guard let reason = state.policyReason else { return nil }
            let network = state.network
            switch reason {
            case .offline: return "offline: \(network.offlineReason ?? "no route")"
            case .mobileData: return "mobile data (\(network.interface ?? "?")); set sync_on_mobile_data = true or use sync-now --force"
            case .metered:
                return "metered connection (\(network.interface ?? "?"), metered by \(network.meteredBy ?? "?")); set sync_on_metered_connection = true or use sync-now --force"
            case .autoSyncOff: return "auto sync is off; use sync-now"
            case .outsideWindow:
                let opens = state.windowOpens.map { " until \(Self.windowTime($0))" } ?? ""
                return "outside upload window\(opens) (upload_schedule); sync-now uploads anyway"
            }
        }
    }

    /// Records a new network state; returns the pause reasons before and after.
    @discardableResult
    public func update(network: NetworkState) -> (before: PauseReason?, after: PauseReason?) {
        state.withLock { state in
            let before = state.reason
            if state.network != network {
                state.networkGeneration &+= 1
                // A new network is worth a new try: forget what the probes found on the old one.
                state.endpointUnreachable = nil
            }
            state.network = network
            let after = state.reason
            return (before, after)
        }
    }

    /// Records what `upload_schedule` says now; returns the pause reasons before and after.
    @discardableResult
    public func update(outsideWindow: Bool, opens: Date?) -> (before: PauseReason?, after: PauseReason?) {
        state.withLock { state in
            let before = state.reason
            state.outsideWindow = outsideWindow
            state.windowOpens = outsideWindow ? opens : nil
            return (before, state.reason)
        }
    }

    /// `Mon 08:00`, in local time.
    static func windowTime(_ date: Date) -> String {
        let time = CivilTime.local(date)
        return "\(time.weekdayName) \(NumberText.padded(time.hour, width: 2)):\(NumberText.padded(time.minute, width: 2))"
    }

    func setEndpointUnreachable(_ reason: String?) {
        state.withLock { $0.endpointUnreachable = reason }
    }

    func force(_ path: String) { _ = state.withLock { $0.forced.insert(PathKey(path)) } }
    func isForced(_ path: String) -> Bool { state.withLock { $0.forced.contains(PathKey(path)) } }
    var forcedPaths: [String] { state.withLock { $0.forced.map(\.path) } }
    func unforce(_ path: String) { _ = state.withLock { $0.forced.remove(PathKey(path)) } }

    /// Two names swapped (RENAME_EXCHANGE): a forced file keeps its flag under its new name.
    func exchangeForced(_ first: String, _ second: String) {
        state.withLock { state in
            state.forced = Set(state.forced.map { key in
                if NameCoding.isSameOrInside(key.path, first) { return PathKey(NameCoding.rebase(key.path, from: first, to: second)) }
                if NameCoding.isSameOrInside(key.path, second) { return PathKey(NameCoding.rebase(key.path, from: second, to: first)) }
                return key
            })
        }
    }

    func renameForced(from: String, to: String) {
        state.withLock { state in
            state.forced = Set(state.forced.map { PathKey(NameCoding.rebase($0.path, from: from, to: to)) })
        }
    }

    /// Why a pending file at `priority` waits now (for `user.sync.error`), or nil.
    func waitReason(path: String, priority: Int) -> PauseReason? {
        state.withLock { $0.reason(for: path, priority: priority, includingEndpoint: true) }
    }

    /// Whether an upload of `path` at `priority` that is running may go on to its next part.
    func admits(path: String, priority: Int) -> Bool {
        state.withLock { $0.reason(for: path, priority: priority, includingEndpoint: false) == nil }
    }
}
