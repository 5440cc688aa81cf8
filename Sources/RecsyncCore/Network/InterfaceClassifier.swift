import FoundationEssentials
import RecsyncPrimitives

/// Reads what sysfs says about a network interface: whether it can carry traffic, and what kind
/// of link it is. Every path is below `sysfsRoot`, so tests describe any machine with a folder.
struct InterfaceClassifier {
    let sysfsRoot: String
    let settings: NetworkSettings
    /// Interfaces a modem manager reports as modems (see `ModemManagerQuery`).
    var modemInterfaces: Set<String> = []

    /// Drivers of cellular modems that show up as network interfaces.
    static let modemDrivers: Set<String> = ["qmi_wwan", "cdc_mbim", "huawei_cdc_ncm", "sierra_net", "GobiNet", "mhi_net", "rmnet"]
    /// Drivers of phones sharing their mobile data over USB (Android's RNDIS, iPhone's ipheth).
    static let tetheringDrivers: Set<String> = ["rndis_host", "ipheth"]
    /// `ARPHRD_*` values from `linux/if_arp.h`.
    static let arphrdEther = 1
    static let arphrdLoopback = 772

    private func directory(_ interface: String) -> String { sysfsRoot + "/class/net/" + interface }

    private func read(_ interface: String, _ file: String) -> String? {
        (try? String(contentsOfFile: directory(interface) + "/" + file, encoding: .utf8))?
            .trimmingWhitespace()
    }

    private func exists(_ interface: String, _ entry: String) -> Bool {
        FileManager.default.fileExists(atPath: directory(interface) + "/" + entry)
    }

    func exists(_ interface: String) -> Bool { exists(interface, "") }

    /// Nil when the interface can carry traffic; otherwise why not.
    func unusableReason(_ interface: String) -> String? {
        guard exists(interface) else { return "\(interface) does not exist" }
        if let flags = read(interface, "flags").flatMap({ Int($0.replacingBytes(of: "0x", with: ""), radix: 16) }),
           flags & 0x1 == 0 {
            return "\(interface) is down"
        }
        switch read(interface, "operstate") ?? "unknown" {
        case "up", "unknown": return nil
        case "dormant": return "\(interface) is not connected yet (dormant)"
        case let state: return "\(interface) has no link (\(state))"
        }
    }

    /// The kind of link, in this order: the user's lists, loopback, Wi-Fi (`wireless` or
    /// `phy80211` present, or DEVTYPE=wlan), cellular (DEVTYPE=wwan, a `wwan*` name, a modem
    /// driver, a modem the modem manager reports, a phone tethering over USB), Ethernet, other.
    func type(of interface: String) -> ConnectionType {
        if let forced = settings.forcedType(of: interface) { return forced }
        let arphrd = read(interface, "type").flatMap { Int($0) }
        if interface == "lo" || arphrd == Self.arphrdLoopback { return .loopback }
        let devtype = uevent(interface)["DEVTYPE"]
        if exists(interface, "wireless") || exists(interface, "phy80211") || devtype == "wlan" { return .wifi }
        if devtype == "wwan" || interface.hasPrefix("wwan") || modemInterfaces.contains(interface) { return .mobile }
        if let driver = driver(interface), Self.modemDrivers.contains(driver) || Self.tetheringDrivers.contains(driver) {
            return .mobile
        }
        if arphrd == Self.arphrdEther { return .ethernet }
        return .other
    }

    func uevent(_ interface: String) -> [String: String] {
        guard let text = read(interface, "uevent") else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// The kernel driver behind the interface (`device/driver` links to it).
    func driver(_ interface: String) -> String? {
        let link = directory(interface) + "/device/driver"
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link) else { return nil }
        return PathText.lastComponent(target)
    }
}
