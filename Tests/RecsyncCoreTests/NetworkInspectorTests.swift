import Foundation
import XCTest
@testable import RecsyncCore

/// Connection type, online and metered detection over fake sysfs and procfs trees.
final class NetworkInspectorTests: XCTestCase {
    var machine: FakeMachine!
    var runner: FakeRunner!

    override func setUpWithError() throws {
        machine = try FakeMachine()
        runner = FakeRunner()
        try machine.addInterface("lo", kind: .loopback, operstate: "unknown")
    }

    override func tearDown() {
        machine = nil
    }

    func inspect(endpoint: String = "s3.example.com", _ change: (inout NetworkSettings) -> Void = { _ in }) -> NetworkState {
        let addresses = EndpointAddresses(host: endpoint).current()
        return NetworkInspector(settings: machine.settings(change), endpointAddresses: { addresses }, runner: runner).inspect()
    }

    // MARK: Types

    func testWifiByItsWirelessFolder() throws {
        try machine.addInterface("wlp2s0", kind: .wifi)
        try machine.addRoute("0.0.0.0/0", interface: "wlp2s0", metric: 600)
        XCTAssertEqual(inspect(), NetworkState(online: true, interface: "wlp2s0", type: .wifi))
    }

    func testWifiByPhy80211() throws {
        try machine.addInterface("wlan0", kind: .wifi, phy80211: true)
        try machine.addRoute("0.0.0.0/0", interface: "wlan0")
        XCTAssertEqual(inspect().type, .wifi)
    }

    func testWwanIsMobileAndMetered() throws {
        try machine.addInterface("wwan0", kind: .wwan)
        try machine.addRoute("0.0.0.0/0", interface: "wwan0")
        XCTAssertEqual(inspect(), NetworkState(online: true, interface: "wwan0", type: .mobile, metered: true, meteredBy: "mobile"))
        XCTAssertFalse(inspect { $0.mobileIsMetered = false }.metered)
    }

    func testModemDriverAndWwanNameAreMobile() throws {
        try machine.addInterface("enx0c5b8f279a64", kind: .ethernet, driver: "qmi_wwan")
        try machine.addRoute("0.0.0.0/0", interface: "enx0c5b8f279a64")
        XCTAssertEqual(inspect().type, .mobile)
        try machine.removeRoutes()
        try machine.addInterface("wwp0s20f0u6", kind: .ethernet)
        try machine.addRoute("0.0.0.0/0", interface: "wwp0s20f0u6")
        XCTAssertEqual(inspect().type, .ethernet, "only DEVTYPE=wwan, wwan* names and modem drivers make an interface mobile")
    }

    func testModemManagersModemIsMobile() throws {
        try machine.addInterface("usb0", kind: .ethernet)
        try machine.addRoute("0.0.0.0/0", interface: "usb0")
        runner.answer(["mmcli", "-K", "-L"], "modem-list.length : 1\nmodem-list.value[1] : /org/freedesktop/ModemManager1/Modem/0\n")
        runner.answer(["mmcli", "-K", "-m", "0"], "modem.generic.ports.length : 2\nmodem.generic.ports.value[1] : cdc-wdm0 (qmi)\nmodem.generic.ports.value[2] : usb0 (net)\n")
        XCTAssertEqual(inspect().type, .mobile)
    }

    func testEthernet() throws {
        try machine.addInterface("enp3s0", kind: .ethernet, driver: "r8169")
        try machine.addRoute("0.0.0.0/0", interface: "enp3s0", metric: 100)
        XCTAssertEqual(inspect(), NetworkState(online: true, interface: "enp3s0", type: .ethernet))
    }

    func testPhoneTetheringOverUSBIsMobile() throws {
        try machine.addInterface("usb0", kind: .ethernet, driver: "rndis_host")
        try machine.addRoute("0.0.0.0/0", interface: "usb0")
        XCTAssertEqual(inspect(), NetworkState(online: true, interface: "usb0", type: .mobile, metered: true, meteredBy: "mobile"))
        try machine.addInterface("eth1", kind: .ethernet, driver: "ipheth")
        try machine.removeRoutes()
        try machine.addRoute("0.0.0.0/0", interface: "eth1")
        XCTAssertEqual(inspect().type, .mobile)
    }

    func testConfigForcesAType() throws {
        try machine.addInterface("usb0", kind: .ethernet, driver: "cdc_ether")
        try machine.addRoute("0.0.0.0/0", interface: "usb0")
        XCTAssertEqual(inspect().type, .ethernet, "a generic USB Ethernet adapter is Ethernet")
        XCTAssertEqual(inspect { $0.mobileInterfaces = ["usb*"] }.type, .mobile)
        try machine.addInterface("tun0", kind: .tun, operstate: "unknown")
        try machine.removeRoutes()
        try machine.addRoute("0.0.0.0/0", interface: "tun0")
        XCTAssertEqual(inspect().type, .other)
        XCTAssertEqual(inspect { $0.wifiInterfaces = ["tun0"] }.type, .wifi)
        XCTAssertEqual(inspect { $0.ethernetInterfaces = ["tun?"] }.type, .ethernet)
    }

    // MARK: Online

    func testNoDefaultRouteIsOffline() throws {
        try machine.addInterface("eth0", kind: .ethernet)
        try machine.addRoute("192.168.1.0/24", interface: "eth0")
        XCTAssertEqual(inspect(), .offline("no default route"))
    }

    func testDefaultRouteOnAnInterfaceThatIsDownIsOffline() throws {
        try machine.addInterface("eth0", kind: .ethernet, up: false)
        try machine.addRoute("0.0.0.0/0", interface: "eth0")
        XCTAssertEqual(inspect(), .offline("eth0 is down"))
        try machine.setUp("eth0", true)
        XCTAssertTrue(inspect().online)
    }

    func testNoCarrierIsOffline() throws {
        try machine.addInterface("eth0", kind: .ethernet, up: true, operstate: "lowerlayerdown")
        try machine.addRoute("0.0.0.0/0", interface: "eth0")
        XCTAssertEqual(inspect(), .offline("eth0 has no link (lowerlayerdown)"))
    }

    func testRejectRoutesDoNotCount() throws {
        try machine.addInterface("eth0", kind: .ethernet)
        try machine.addRoute("0.0.0.0/0", interface: "eth0", flags: 0x0201)
        // The unreachable IPv6 default the kernel keeps on lo when there is no IPv6 route.
        try machine.addIPv6Route(destination: String(repeating: "0", count: 32), prefix: 0, interface: "lo",
                                 metric: 0xffffffff, flags: 0x00200200)
        XCTAssertFalse(inspect().online)
    }

    func testIPv6DefaultRouteIsOnline() throws {
        try machine.addInterface("wlan0", kind: .wifi)
        try machine.addIPv6Route(destination: "fe800000000000000000000000000000", prefix: 64, interface: "wlan0", metric: 256)
        XCTAssertFalse(inspect().online, "a link-local route is no way out")
        try machine.addIPv6Route(destination: String(repeating: "0", count: 32), prefix: 0, interface: "wlan0", metric: 600)
        XCTAssertEqual(inspect(), NetworkState(online: true, interface: "wlan0", type: .wifi))
    }

    func testTheBestUsableDefaultRouteWins() throws {
        try machine.addInterface("eth0", kind: .ethernet, operstate: "down")
        try machine.addInterface("wwan0", kind: .wwan)
        try machine.addRoute("0.0.0.0/0", interface: "eth0", metric: 100)
        try machine.addRoute("0.0.0.0/0", interface: "wwan0", metric: 700)
        XCTAssertEqual(inspect().interface, "wwan0", "the cable is out, so traffic goes over the modem")
        try machine.setUp("eth0", true)
        XCTAssertEqual(inspect().interface, "eth0")
    }

    func testLocalNetworkEndpointUsesItsOwnRoute() throws {
        try machine.addInterface("eth0", kind: .ethernet)
        try machine.addInterface("wwan0", kind: .wwan)
        try machine.addRoute("192.168.7.0/24", interface: "eth0")
        XCTAssertEqual(inspect(endpoint: "192.168.7.20"), NetworkState(online: true, interface: "eth0", type: .ethernet),
                       "a studio server on the LAN needs no default route")
        try machine.addRoute("0.0.0.0/0", interface: "wwan0")
        XCTAssertEqual(inspect(endpoint: "192.168.7.20").interface, "eth0")
        XCTAssertEqual(inspect(endpoint: "203.0.113.9").interface, "wwan0")
    }

    func testLoopbackEndpointIsAlwaysOnline() throws {
        XCTAssertEqual(inspect(endpoint: "127.0.0.1"), NetworkState(online: true, interface: "lo", type: .loopback))
        XCTAssertEqual(inspect(endpoint: "localhost").type, .loopback)
        XCTAssertEqual(inspect(endpoint: "[::1]").type, .loopback)
    }

    func testEndpointThatDoesNotAnswerIsOfflineWhenChecked() throws {
        try machine.addInterface("eth0", kind: .ethernet)
        try machine.addRoute("0.0.0.0/0", interface: "eth0")
        let inspector = NetworkInspector(settings: machine.settings(), endpointAddresses: { [] }, runner: runner,
                                         probe: { "connection refused" })
        XCTAssertEqual(inspector.inspect(), .offline("the endpoint does not answer: connection refused"))
    }

    // MARK: Metered

    func testNetworkManagersMeteredSetting() throws {
        try machine.addInterface("wlan0", kind: .wifi)
        try machine.addRoute("0.0.0.0/0", interface: "wlan0")
        runner.networkManager("wlan0", metered: "yes")
        XCTAssertEqual(inspect(), NetworkState(online: true, interface: "wlan0", type: .wifi, metered: true, meteredBy: "networkmanager"))
        runner.networkManager("wlan0", metered: "yes (guessed)")
        XCTAssertEqual(inspect().meteredBy, "networkmanager-guess", "a phone hotspot NetworkManager recognised")
        runner.networkManager("wlan0", metered: "no (guessed)")
        XCTAssertFalse(inspect().metered)
        XCTAssertTrue(inspect { $0.meteredInterfaces = ["wlan0"] }.metered, "the config list marks it metered")
    }

    func testNetworkManagerNoOverridesMobileButNotTheUsersList() throws {
        try machine.addInterface("wwan0", kind: .wwan)
        try machine.addRoute("0.0.0.0/0", interface: "wwan0")
        runner.networkManager("wwan0", metered: "no")
        XCTAssertFalse(inspect().metered, "the user told NetworkManager this modem has a flat rate")
        XCTAssertEqual(inspect { $0.meteredInterfaces = ["wwan*"] }.meteredBy, "config")
    }

    func testNetworkManagerNotRunningIsNotAsked() throws {
        try machine.addInterface("wlan0", kind: .wifi)
        try machine.addRoute("0.0.0.0/0", interface: "wlan0")
        runner.answer(["nmcli", "-t", "-f", "RUNNING", "general"], "stopped\n")
        runner.answer(["nmcli", "-t", "-f", "GENERAL.METERED", "device", "show", "wlan0"], "GENERAL.METERED:yes\n")
        XCTAssertFalse(inspect().metered)
        XCTAssertFalse(runner.calls.contains { $0.contains("GENERAL.METERED") })
    }

    func testUnmeteredListWins() throws {
        try machine.addInterface("usb0", kind: .ethernet, driver: "rndis_host")
        try machine.addRoute("0.0.0.0/0", interface: "usb0")
        runner.networkManager("usb0", metered: "yes")
        XCTAssertFalse(inspect { $0.unmeteredInterfaces = ["usb0"] }.metered)
    }

    func testNmcliOutputParsing() {
        XCTAssertEqual(NetworkManagerQuery.parse("GENERAL.METERED:yes\n"), .yes)
        XCTAssertEqual(NetworkManagerQuery.parse("GENERAL.METERED:no (guessed)"), .guessedNo)
        XCTAssertEqual(NetworkManagerQuery.parse("GENERAL.METERED:unknown"), nil)
        XCTAssertEqual(NetworkManagerQuery.parse("Error: Device 'x' not found."), nil)
    }

    // MARK: Routes

    func testRouteTableParsesWhatTheKernelPrints() {
        let v4 = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t0102000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
            eth0\t0000000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
            """
        let routes = RouteTable.parseIPv4(v4)
        XCTAssertEqual(routes.count, 2)
        XCTAssertEqual(routes[1].destination, [10, 0, 0, 0])
        XCTAssertEqual(routes[1].prefixLength, 24)
        let table = RouteTable(routes: routes)
        XCTAssertEqual(table.candidates(for: [10, 0, 0, 7]).map(\.prefixLength), [24, 0])
        XCTAssertEqual(table.candidates(for: [10, 0, 1, 7]).map(\.prefixLength), [0])
        let v6 = "20010db8000000000000000000000000 20 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
        let six = RouteTable.parseIPv6(v6)
        XCTAssertEqual(six.first?.prefixLength, 32)
        XCTAssertEqual(six.first?.interface, "eth0")
        XCTAssertTrue(six.first!.contains(parseIPAddress("2001:db8::1")!))
        XCTAssertFalse(six.first!.contains(parseIPAddress("2001:db9::1")!))
    }
}
