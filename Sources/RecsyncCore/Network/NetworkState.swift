import FoundationEssentials
import Glibc

/// The kind of link that carries traffic to the S3 endpoint.
public enum ConnectionType: String, Codable, Sendable, CaseIterable {
    case wifi, mobile, ethernet, loopback, other
    /// No usable route at all.
    case none
}

/// What the network monitor last saw. Built by `NetworkInspector`, read by the policy and shown in
/// `user.sync.summary` and `recsync status`.
public struct NetworkState: Codable, Sendable, Equatable {
    /// A route to the endpoint exists on an interface that is up (and, with `check_endpoint`, the
    /// endpoint answered).
    public var online: Bool
    /// Why the machine counts as offline; nil when online.
    public var offlineReason: String?
    /// The interface carrying the route to the endpoint (the default route for internet endpoints).
    public var interface: String?
    public var type: ConnectionType
    /// Whether the connection costs money per byte, as far as we can tell.
    public var metered: Bool
    /// Who said it is metered: `networkmanager`, `mobile`, `config`; nil when it is not.
    public var meteredBy: String?

    public init(online: Bool, offlineReason: String? = nil, interface: String? = nil, type: ConnectionType,
                metered: Bool = false, meteredBy: String? = nil) {
        self.online = online
        self.offlineReason = offlineReason
        self.interface = interface
        self.type = type
        self.metered = metered
        self.meteredBy = meteredBy
    }

    public static func offline(_ reason: String) -> NetworkState {
        NetworkState(online: false, offlineReason: reason, type: .none)
    }

    /// Assumed before the first look, and when network awareness is off: uploads may run.
    public static let assumedOnline = NetworkState(online: true, type: .other)

    enum CodingKeys: String, CodingKey {
        case online
        case offlineReason = "offline_reason"
        case interface, type, metered
        case meteredBy = "metered_by"
    }

    /// One line for logs and `recsync status`.
    public var summary: String {
        guard online else { return "offline (\(offlineReason ?? "no route"))" }
        var text = "online"
        if let interface { text += " via \(interface)" }
        text += " (\(type.rawValue)"
        if metered { text += ", metered" + (meteredBy.map { " by \($0)" } ?? "") }
        return text + ")"
    }
}

/// The `[network]` settings: how interfaces are classified and which counts as metered.
public struct NetworkSettings: Sendable, Equatable {
    /// Also ask the S3 endpoint (a HEAD request) before calling the machine online. Default false.
    public var checkEndpoint: Bool = false
    /// Mobile data counts as metered. Default true.
    public var mobileIsMetered: Bool = true
    /// Interface names (shell patterns such as `usb*`) that are always metered, or never.
    public var meteredInterfaces: [String] = []
    public var unmeteredInterfaces: [String] = []
    /// Interface names (shell patterns) whose type is forced, for USB tethering, VPNs and the like.
    public var mobileInterfaces: [String] = []
    public var wifiInterfaces: [String] = []
    public var ethernetInterfaces: [String] = []
    /// Where sysfs is mounted (containers and tests point this elsewhere). Default `/sys`.
    public var sysfsRoot: String = "/sys"
    /// Where procfs is mounted (its `net/route` and `net/ipv6_route`). Default `/proc`.
    public var procRoot: String = "/proc"

    public init() {}

    /// The type the user forced for `interface`, if any.
    func forcedType(of interface: String) -> ConnectionType? {
        if Self.matches(interface, mobileInterfaces) { return .mobile }
        if Self.matches(interface, wifiInterfaces) { return .wifi }
        if Self.matches(interface, ethernetInterfaces) { return .ethernet }
        return nil
    }

    static func matches(_ name: String, _ patterns: [String]) -> Bool {
        patterns.contains { fnmatch($0, name, 0) == 0 }
    }
}
