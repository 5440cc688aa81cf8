import XCTest
@testable import RecsyncCore

/// The `[network]` table and the `[sync]` connection rules.
final class NetworkConfigTests: XCTestCase {
    func parse(_ text: String) throws -> RecsyncConfig {
        try RecsyncConfig.parse(bytes: Array(text.utf8), source: "config.toml", environment: ["HOME": "/home/rec"])
    }

    func assertError(_ text: String, line: Int, contains fragment: String, file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: sourceLine) { error in
            guard let error = error as? ConfigError else { return XCTFail("\(error)", file: file, line: sourceLine) }
            XCTAssertEqual(error.line, line, error.message, file: file, line: sourceLine)
            XCTAssertTrue(error.message.contains(fragment), "missing \(fragment.debugDescription) in: \(error.message)",
                          file: file, line: sourceLine)
        }
    }

    func testDefaults() throws {
        let config = try parse("")
        XCTAssertTrue(config.autoSync)
        XCTAssertFalse(config.syncOnMobileData)
        XCTAssertFalse(config.syncOnMeteredConnection)
        XCTAssertEqual(config.network, NetworkSettings())
        XCTAssertFalse(config.network.checkEndpoint)
        XCTAssertTrue(config.network.mobileIsMetered)
        XCTAssertEqual(config.network.sysfsRoot, "/sys")
        XCTAssertEqual(config.network.procRoot, "/proc")
    }

    func testEveryNetworkSetting() throws {
        let config = try parse("""
            [sync]
            sync_on_mobile_data = true
            syncOnMeteredConnection = true
            auto_sync = false
            [network]
            check_endpoint = true
            mobile_is_metered = false
            metered_interfaces = ["wlan1", "tun*"]
            unmetered_interfaces = ["wwan0"]
            mobile_interfaces = ["usb0"]
            wifi_interfaces = ["ath0"]
            ethernet_interfaces = ["enx*"]
            sysfs_root = "/host/sys"
            proc_root = "/host/proc"
            """)
        XCTAssertTrue(config.syncOnMobileData)
        XCTAssertTrue(config.syncOnMeteredConnection)
        XCTAssertFalse(config.autoSync)
        XCTAssertTrue(config.network.checkEndpoint)
        XCTAssertFalse(config.network.mobileIsMetered)
        XCTAssertEqual(config.network.meteredInterfaces, ["wlan1", "tun*"])
        XCTAssertEqual(config.network.unmeteredInterfaces, ["wwan0"])
        XCTAssertEqual(config.network.forcedType(of: "usb0"), .mobile)
        XCTAssertEqual(config.network.forcedType(of: "ath0"), .wifi)
        XCTAssertEqual(config.network.forcedType(of: "enx00e04c680001"), .ethernet)
        XCTAssertNil(config.network.forcedType(of: "eth0"))
        XCTAssertEqual(config.network.sysfsRoot, "/host/sys")
        XCTAssertEqual(config.network.procRoot, "/host/proc")
    }

    func testBadValuesSayWhatToWrite() {
        assertError("[network]\nmetered_interfaces = \"wlan0\"\n", line: 2, contains: "[\"usb0\", \"wwan*\"]")
        assertError("[network]\nmetered_interfaces = [\"wlan 0\"]\n", line: 2, contains: "interface names")
        assertError("[network]\nsysfs_root = \"sys\"\n", line: 2, contains: "absolute path")
        assertError("[network]\ncheck_endpoint = \"yes\"\n", line: 2, contains: "a boolean")
        assertError("metered_interfaces = [\"wlan0\"]\n", line: 1, contains: "[network]")
        assertError("[network]\nmetred_interfaces = []\n", line: 2, contains: "did you mean \"metered_interfaces\"")
        assertError("[netwrk]\n", line: 1, contains: "did you mean [network]")
    }
}
