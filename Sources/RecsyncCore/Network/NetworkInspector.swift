import FoundationEssentials
import RecsyncPrimitives
import Glibc

/// Looks at the machine once and says whether, how and at what cost the S3 endpoint is reached.
///
/// Online means a route to the endpoint exists on an interface that is up: for an endpoint on the
/// internet that is the default route (IPv4 or IPv6); an endpoint on a local network is reached
/// through its own, more specific route; a loopback endpoint is always reachable. The interface
/// that route uses gives the connection type and whether it is metered.
public struct NetworkInspector: Sendable {
    let settings: NetworkSettings
    /// The endpoint's addresses (numeric, or resolved from its name); empty when unknown, and then
    /// any default route counts.
    let endpointAddresses: @Sendable () -> [[UInt8]]
    let runner: any CommandRunner
    /// A cheap request to the endpoint (with `check_endpoint`): nil when it answered, else why not.
    let probe: (@Sendable () -> String?)?

    public init(settings: NetworkSettings, endpointAddresses: @escaping @Sendable () -> [[UInt8]],
                runner: any CommandRunner = ProcessRunner(), probe: (@Sendable () -> String?)? = nil) {
        self.settings = settings
        self.endpointAddresses = endpointAddresses
        self.runner = runner
        self.probe = probe
    }

    public func inspect() -> NetworkState {
        let addresses = endpointAddresses()
        if !addresses.isEmpty, addresses.allSatisfy(isLoopbackAddress) {
            return NetworkState(online: true, interface: "lo", type: .loopback)
        }
        let routes = RouteTable.read(procRoot: settings.procRoot)
        var classifier = InterfaceClassifier(sysfsRoot: settings.sysfsRoot, settings: settings)
        var candidates: [RouteTable.Route] = []
        for address in addresses {
            candidates += routes.candidates(for: address)
        }
        if addresses.isEmpty { candidates = routes.defaultRoutes }
        guard !candidates.isEmpty else {
            return .offline(routes.defaultRoutes.isEmpty ? "no default route" : "no route to the endpoint")
        }
        var reasons: [String] = []
        guard let route = candidates.first(where: { route in
            if let reason = classifier.unusableReason(route.interface) {
                reasons.append(reason)
                return false
            }
            return true
        }) else {
            return .offline(reasons.first ?? "no usable route")
        }
        if let probe, let failure = probe() {
            return .offline("the endpoint does not answer: \(failure)")
        }
        let interface = route.interface
        classifier.modemInterfaces = ModemManagerQuery(runner: runner).modemInterfaces()
        let type = classifier.type(of: interface)
        var state = NetworkState(online: true, interface: interface, type: type)
        (state.metered, state.meteredBy) = metered(interface, type: type)
        return state
    }

    /// Whether the interface is metered, and who says so: the user's lists first, then
    /// NetworkManager, then "mobile data is metered" (`mobile_is_metered`).
    func metered(_ interface: String, type: ConnectionType) -> (Bool, String?) {
        if NetworkSettings.matches(interface, settings.unmeteredInterfaces) { return (false, nil) }
        if NetworkSettings.matches(interface, settings.meteredInterfaces) { return (true, "config") }
        switch NetworkManagerQuery(runner: runner).metered(interface) {
        case .yes: return (true, "networkmanager")
        case .no: return (false, nil)
        case .guessedYes: return (true, "networkmanager-guess")
        case .guessedNo, nil: break
        }
        if type == .mobile && settings.mobileIsMetered { return (true, "mobile") }
        return (false, nil)
    }
}

/// The endpoint host's addresses: numeric hosts at once, names resolved in the background (so a
/// slow resolver never delays a network check) and again after each network change.
public final class EndpointAddresses: @unchecked Sendable {
    private let host: String
    private let lock = Lock()
    private var addresses: [[UInt8]]
    private var resolving = false

    public init(host: String) {
        self.host = host
        if host == "localhost" {
            addresses = [[127, 0, 0, 1]]
        } else {
            addresses = parseIPAddress(host).map { [$0] } ?? []
        }
    }

    var isNumeric: Bool { host == "localhost" || parseIPAddress(host) != nil }

    public func current() -> [[UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        return addresses
    }

    /// Resolves the name again in the background; `done` is called when it changed the answer.
    public func refresh(done: @escaping @Sendable () -> Void) {
        guard !isNumeric else { return }
        lock.lock()
        if resolving { lock.unlock(); return }
        resolving = true
        lock.unlock()
        WorkerThread.detachNewThread { [self] in
            let resolved = Self.resolve(host)
            lock.lock()
            resolving = false
            let changed = !resolved.isEmpty && resolved != addresses
            if changed { addresses = resolved }
            lock.unlock()
            if changed { done() }
        }
    }

    static func resolve(_ host: String) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var result: [[UInt8]] = []
        var entry = list
        while let info = entry {
            // Safe: getaddrinfo filled ai_addr with a sockaddr of the family it names.
            if info.pointee.ai_family == AF_INET, let raw = info.pointee.ai_addr {
                let address = raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                result.append(withUnsafeBytes(of: address) { Array($0) })
            } else if info.pointee.ai_family == AF_INET6, let raw = info.pointee.ai_addr {
                let address = raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                result.append(withUnsafeBytes(of: address) { Array($0) })
            }
            entry = info.pointee.ai_next
        }
        var unique: [[UInt8]] = []
        for address in result where !unique.contains(address) { unique.append(address) }
        return unique
    }
}
