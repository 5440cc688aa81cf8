import Foundation
import Synchronization
@testable import RecsyncCore

/// A machine described as folders: `sys/class/net/IF/...` and `proc/net/route`, `ipv6_route`,
/// for the network inspector to read instead of the real ones.
final class FakeMachine {
    let root: URL
    var sysfs: String { root.appendingPathComponent("sys").path }
    var proc: String { root.appendingPathComponent("proc").path }
    private var v4Routes: [String] = []
    private var v6Routes: [String] = []

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-fake-machine-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: root.path + "/sys/class/net", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root.path + "/proc/net", withIntermediateDirectories: true)
        try writeRoutes()
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    enum Kind { case ethernet, wifi, wwan, loopback, tun }

    /// Adds an interface as the kernel shows it. `driver` makes `device/driver` a link to a driver
    /// folder of that name; `up` sets IFF_UP and operstate.
    func addInterface(_ name: String, kind: Kind, up: Bool = true, operstate: String? = nil, driver: String? = nil,
                      phy80211: Bool = false) throws {
        let folder = sysfs + "/class/net/" + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let arphrd: Int
        var uevent = "INTERFACE=\(name)\nIFINDEX=3\n"
        switch kind {
        case .ethernet: arphrd = 1
        case .wifi:
            arphrd = 1
            uevent += "DEVTYPE=wlan\n"
            if phy80211 {
                try FileManager.default.createDirectory(atPath: folder + "/phy80211", withIntermediateDirectories: true)
            } else {
                try FileManager.default.createDirectory(atPath: folder + "/wireless", withIntermediateDirectories: true)
            }
        case .wwan:
            arphrd = 519
            uevent += "DEVTYPE=wwan\n"
        case .loopback: arphrd = 772
        case .tun: arphrd = 65534
        }
        try "\(arphrd)\n".write(toFile: folder + "/type", atomically: true, encoding: .utf8)
        try (up ? "0x1003\n" : "0x1002\n").write(toFile: folder + "/flags", atomically: true, encoding: .utf8)
        try "\(operstate ?? (up ? "up" : "down"))\n".write(toFile: folder + "/operstate", atomically: true, encoding: .utf8)
        try uevent.write(toFile: folder + "/uevent", atomically: true, encoding: .utf8)
        if let driver {
            let driverFolder = sysfs + "/bus/usb/drivers/" + driver
            try FileManager.default.createDirectory(atPath: driverFolder, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: folder + "/device", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: folder + "/device/driver", withDestinationPath: driverFolder)
        }
    }

    /// An IPv4 route (`0.0.0.0/0` for the default one) as /proc/net/route lists it.
    func addRoute(_ cidr: String, interface: String, metric: Int = 0, flags: Int = 0x0003) throws {
        let parts = cidr.split(separator: "/")
        let bytes = parts[0].split(separator: ".").map { UInt32($0)! }
        let prefix = Int(parts[1])!
        // Host-order integers holding network-order bytes, as the kernel prints them on little endian.
        let destination = bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24
        let maskValue: UInt32 = prefix == 0 ? 0 : UInt32.max << (32 - prefix)
        let mask = (maskValue >> 24) | ((maskValue >> 8) & 0xff00) | ((maskValue << 8) & 0xff0000) | (maskValue << 24)
        v4Routes.append(String(format: "%@\t%08X\t0102000A\t%04X\t0\t0\t%d\t%08X\t0\t0\t0", interface, destination, flags, metric, mask))
        try writeRoutes()
    }

    /// A raw /proc/net/ipv6_route line.
    func addIPv6Route(destination: String, prefix: Int, interface: String, metric: Int = 1024, flags: Int = 0x0003) throws {
        v6Routes.append(String(format: "%@ %02x 00000000000000000000000000000000 00 00000000000000000000000000000000 %08x 00000001 00000000 %08x %8@",
                               destination, prefix, metric, flags, interface))
        try writeRoutes()
    }

    func removeRoutes() throws {
        v4Routes = []
        v6Routes = []
        try writeRoutes()
    }

    func setUp(_ name: String, _ up: Bool) throws {
        let folder = sysfs + "/class/net/" + name
        try (up ? "0x1003\n" : "0x1002\n").write(toFile: folder + "/flags", atomically: true, encoding: .utf8)
        try (up ? "up\n" : "down\n").write(toFile: folder + "/operstate", atomically: true, encoding: .utf8)
    }

    private func writeRoutes() throws {
        let header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
        try (header + v4Routes.map { $0 + "\n" }.joined()).write(toFile: proc + "/net/route", atomically: true, encoding: .utf8)
        try v6Routes.map { $0 + "\n" }.joined().write(toFile: proc + "/net/ipv6_route", atomically: true, encoding: .utf8)
    }

    func settings(_ change: (inout NetworkSettings) -> Void = { _ in }) -> NetworkSettings {
        var settings = NetworkSettings()
        settings.sysfsRoot = sysfs
        settings.procRoot = proc
        change(&settings)
        return settings
    }
}

/// Plays NetworkManager's and ModemManager's command-line clients: answers by argument vector.
final class FakeRunner: CommandRunner, @unchecked Sendable {
    private let answers = Mutex<[String: String]>([:])
    private let log = Mutex<[[String]]>([])

    func answer(_ arguments: [String], _ output: String?) {
        answers.withLock { $0[arguments.joined(separator: " ")] = output }
    }

    var calls: [[String]] { log.withLock { $0 } }

    func run(_ arguments: [String], timeout: TimeInterval) -> String? {
        log.withLock { $0.append(arguments) }
        return answers.withLock { $0[arguments.joined(separator: " ")] }
    }

    /// NetworkManager runs and says `value` (`yes`, `no (guessed)`...) of `interface`.
    func networkManager(_ interface: String, metered value: String) {
        answer(["nmcli", "-t", "-f", "RUNNING", "general"], "running\n")
        answer(["nmcli", "-t", "-f", "GENERAL.METERED", "device", "show", interface], "GENERAL.METERED:\(value)\n")
    }
}
