import FoundationEssentials
import RecsyncStore

/// The state of a whole mount at a glance: `user.sync.summary` on the mount's root folder (JSON)
/// and the closing lines of `recsync status`.
public struct SyncSummary: Codable, Sendable, Equatable {
    /// Queued files by status (`local` counts only files being written now).
    public var counts: [String: Int]
    /// Bytes of pending and syncing files.
    public var bytesWaiting: Int64
    public var network: NetworkState
    /// Why automatic uploads are paused (`offline`, `metered connection`, `mobile data`,
    /// `auto sync is off`); nil while they run.
    public var paused: String?
    /// The same with its detail and what to do.
    public var pausedDetail: String?
    public var autoSync: Bool
    /// Something recsync did at start that the user should know (a damaged queue replaced).
    public var notice: String?

    enum CodingKeys: String, CodingKey {
        case counts
        case bytesWaiting = "bytes_waiting"
        case network, paused
        case pausedDetail = "paused_detail"
        case autoSync = "auto_sync"
        case notice
    }

    /// One line of JSON with sorted keys, so the attribute is stable to read and compare.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension SyncEngine {
    public static let summaryAttribute = "user.sync.summary"

    public func summary() throws -> SyncSummary {
        var counts = Dictionary(uniqueKeysWithValues: SyncStatus.allCases.map { ($0.rawValue, 0) })
        for (status, count) in try queue.counts() { counts[status.rawValue] = count }
        counts[SyncStatus.local.rawValue] = live.withLock { $0.writing.count }
        return SyncSummary(counts: counts, bytesWaiting: try queue.pendingBytes(), network: gate.network,
                           paused: gate.pauseReason?.rawValue, pausedDetail: gate.pauseDescription,
                           autoSync: settings.autoSync, notice: notice.withLock { $0 })
    }
}
