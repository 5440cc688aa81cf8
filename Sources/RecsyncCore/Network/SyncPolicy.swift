/// Why automatic uploads are not running. The order of the cases is the order of precedence
/// when several apply.
public enum PauseReason: String, Codable, Sendable, Equatable, CaseIterable {
    /// No route to the endpoint, or the endpoint does not answer.
    case offline
    /// The connection is mobile data and `sync_on_mobile_data` is false.
    case mobileData = "mobile data"
    /// The connection is metered and `sync_on_metered_connection` is false.
    case metered = "metered connection"
    /// `upload_schedule` says `off` now.
    case outsideWindow = "outside upload window"
    /// `auto_sync` is false: only what the user asks for uploads.
    case autoSyncOff = "auto sync is off"

    /// What `user.sync.error` says while a file waits for this reason.
    public var fileError: String { "paused: \(rawValue)" }

    /// Whether a plain `sync-now` (CRITICAL) request goes through anyway. `auto_sync` off and
    /// the upload schedule let it: they are about when uploads run by themselves. The connection
    /// rules are about cost and need `--force`.
    public var admitsCritical: Bool { self == .autoSyncOff || self == .outsideWindow }
}

/// The user's rules for when uploads run by themselves. Pure: the decision table is
/// unit-tested on its own (see docs/NETWORK.md).
public struct SyncPolicy: Sendable, Equatable {
    public var autoSync: Bool
    public var syncOnMobileData: Bool
    public var syncOnMeteredConnection: Bool

    public init(autoSync: Bool = true, syncOnMobileData: Bool = false, syncOnMeteredConnection: Bool = false) {
        self.autoSync = autoSync
        self.syncOnMobileData = syncOnMobileData
        self.syncOnMeteredConnection = syncOnMeteredConnection
    }

    /// Nil when automatic uploads may run on this network; else the first reason they may not.
    ///
    /// A mobile connection is governed by `sync_on_mobile_data`. It is also metered (when
    /// `mobile_is_metered`, or when NetworkManager guessed so), but a user who allowed mobile
    /// data has accepted that cost: only a metered mark the user set (NetworkManager's Metered
    /// = yes, or `metered_interfaces`) then still needs `sync_on_metered_connection`.
    public func pauseReason(_ network: NetworkState) -> PauseReason? {
        if !network.online { return .offline }
        if network.type == .mobile && !syncOnMobileData { return .mobileData }
        if network.metered && !syncOnMeteredConnection {
            let implied = network.type == .mobile && (network.meteredBy == "mobile" || network.meteredBy == "networkmanager-guess")
            if !implied { return .metered }
        }
        if !autoSync { return .autoSyncOff }
        return nil
    }
}
