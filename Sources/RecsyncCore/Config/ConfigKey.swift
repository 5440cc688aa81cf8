/// The settings a config file may contain, with their spellings and tables.
enum ConfigKey: String, CaseIterable, Sendable {
    case bucket
    case region
    case endpoint
    case pathStyle = "path_style"
    case pathPattern = "path_pattern"
    case userId = "user_id"
    case stateDir = "state_dir"
    case logLevel = "log_level"
    case allowOther = "allow_other"
    case allowPlainHTTP = "allow_plain_http"
    case autoSync = "auto_sync"
    case syncOnMobileData = "sync_on_mobile_data"
    case syncOnMeteredConnection = "sync_on_metered_connection"
    case maxConcurrentUploads = "max_concurrent_uploads"
    case chunkSize = "chunk_size"
    case retryAttempts = "retry_attempts"
    case syncInterval = "sync_interval"
    case shutdownGrace = "shutdown_grace"
    case stallTimeout = "stall_timeout"
    case maxUploadRate = "max_upload_rate"
    case onEvent = "on_event"
    case settleDelay = "settle_delay"
    case mirrorDeletes = "mirror_deletes"
    case ignorePatterns = "ignore_patterns"
    case checkEndpoint = "check_endpoint"
    case mobileIsMetered = "mobile_is_metered"
    case meteredInterfaces = "metered_interfaces"
    case unmeteredInterfaces = "unmetered_interfaces"
    case mobileInterfaces = "mobile_interfaces"
    case wifiInterfaces = "wifi_interfaces"
    case ethernetInterfaces = "ethernet_interfaces"
    case sysfsRoot = "sysfs_root"
    case procRoot = "proc_root"

    /// The `[sync]` table: uploads and their timing.
    static let syncTable = "sync"
    /// The `[hooks]` table: programs run on events.
    static let hooksTable = "hooks"
    /// The `[network]` table: how connections are classified.
    static let networkTable = "network"
    /// Every table a config file may have.
    static let tables = [syncTable, hooksTable, networkTable]

    /// The table the key belongs in; nil for the top level.
    var table: String? {
        switch self {
        case .bucket, .region, .endpoint, .pathStyle, .pathPattern, .userId, .stateDir, .logLevel, .allowOther, .allowPlainHTTP:
            return nil
        case .autoSync, .syncOnMobileData, .syncOnMeteredConnection, .maxConcurrentUploads,
             .chunkSize, .retryAttempts, .syncInterval, .shutdownGrace, .stallTimeout, .maxUploadRate,
             .settleDelay, .mirrorDeletes, .ignorePatterns:
            return Self.syncTable
        case .onEvent:
            return Self.hooksTable
        case .checkEndpoint, .mobileIsMetered, .meteredInterfaces, .unmeteredInterfaces, .mobileInterfaces,
             .wifiInterfaces, .ethernetInterfaces, .sysfsRoot, .procRoot:
            return Self.networkTable
        }
    }

    /// The camelCase spelling accepted as an alias, e.g. `pathStyle`.
    var alias: String {
        let parts = rawValue.split(separator: "_")
        return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.capitalized }.joined()
    }

    /// The key with this spelling, in either form.
    init?(spelling: String) {
        guard let key = Self.allCases.first(where: { $0.rawValue == spelling || $0.alias == spelling }) else { return nil }
        self = key
    }

    /// The keys of one table (nil: the top level), canonical spellings.
    static func names(inTable table: String?) -> [String] {
        allCases.filter { $0.table == table }.map(\.rawValue)
    }

    /// Whether a key or table name looks like it holds a credential, which
    /// must never be written to the config file.
    static func looksLikeCredential(_ name: String) -> Bool {
        let normalized = name.lowercased().filter { $0.isLetter || $0.isNumber }
        return ["secret", "password", "passwd", "accesskey", "sessiontoken", "credential", "apikey", "token"]
            .contains { normalized.contains($0) }
    }
}
