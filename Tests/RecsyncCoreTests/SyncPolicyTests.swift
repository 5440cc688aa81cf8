import XCTest
@testable import RecsyncCore

/// The decision table of `SyncPolicy` (docs/NETWORK.md, "The policy").
final class SyncPolicyTests: XCTestCase {
    let wifi = NetworkState(online: true, interface: "wlan0", type: .wifi)
    let meteredWifi = NetworkState(online: true, interface: "wlan0", type: .wifi, metered: true, meteredBy: "networkmanager")
    let hotspot = NetworkState(online: true, interface: "wlan0", type: .wifi, metered: true, meteredBy: "networkmanager-guess")
    let mobile = NetworkState(online: true, interface: "wwan0", type: .mobile, metered: true, meteredBy: "mobile")
    let mobileMarked = NetworkState(online: true, interface: "wwan0", type: .mobile, metered: true, meteredBy: "config")
    let mobileFlat = NetworkState(online: true, interface: "wwan0", type: .mobile)
    let ethernet = NetworkState(online: true, interface: "eth0", type: .ethernet)
    let offline = NetworkState.offline("no default route")

    func testTheTable() {
        let rows: [(SyncPolicy, NetworkState, PauseReason?)] = [
            // defaults: auto sync on, no mobile data, no metered connections
            (SyncPolicy(), wifi, nil),
            (SyncPolicy(), ethernet, nil),
            (SyncPolicy(), offline, .offline),
            (SyncPolicy(), meteredWifi, .metered),
            (SyncPolicy(), hotspot, .metered),
            (SyncPolicy(), mobile, .mobileData),
            (SyncPolicy(), mobileFlat, .mobileData),
            // mobile data allowed: its implied cost is accepted, a metered mark the user set is not
            (SyncPolicy(syncOnMobileData: true), mobile, nil),
            (SyncPolicy(syncOnMobileData: true), mobileFlat, nil),
            (SyncPolicy(syncOnMobileData: true), mobileMarked, .metered),
            (SyncPolicy(syncOnMobileData: true), meteredWifi, .metered),
            (SyncPolicy(syncOnMobileData: true, syncOnMeteredConnection: true), mobileMarked, nil),
            // metered allowed, mobile data not
            (SyncPolicy(syncOnMeteredConnection: true), meteredWifi, nil),
            (SyncPolicy(syncOnMeteredConnection: true), mobile, .mobileData),
            // auto sync off: the connection reasons come first
            (SyncPolicy(autoSync: false), wifi, .autoSyncOff),
            (SyncPolicy(autoSync: false), offline, .offline),
            (SyncPolicy(autoSync: false), meteredWifi, .metered),
            (SyncPolicy(autoSync: false, syncOnMobileData: true, syncOnMeteredConnection: true), mobileMarked, .autoSyncOff),
        ]
        for (index, row) in rows.enumerated() {
            XCTAssertEqual(row.0.pauseReason(row.1), row.2, "row \(index): \(row.0) on \(row.1.summary)")
        }
    }

    func testOnlyAutoSyncOffLetsPlainSyncNowThrough() {
        XCTAssertTrue(PauseReason.autoSyncOff.admitsCritical)
        XCTAssertFalse(PauseReason.metered.admitsCritical)
        XCTAssertFalse(PauseReason.mobileData.admitsCritical)
        XCTAssertFalse(PauseReason.offline.admitsCritical)
    }

    func testFileErrors() {
        XCTAssertEqual(PauseReason.offline.fileError, "paused: offline")
        XCTAssertEqual(PauseReason.metered.fileError, "paused: metered connection")
        XCTAssertEqual(PauseReason.mobileData.fileError, "paused: mobile data")
    }
}
