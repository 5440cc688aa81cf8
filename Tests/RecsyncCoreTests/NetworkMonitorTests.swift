import Foundation
import Logging
import Synchronization
import XCTest
@testable import RecsyncCore

/// The monitor follows events (not polling), settles bursts into one look, and ticks.
final class NetworkMonitorTests: XCTestCase {
    let logger = Logger(label: "recsync.tests", factory: { _ in SwiftLogNoOpLogHandler() })

    func testChangesArriveAsEventsAndAreSeenWithinASecond() throws {
        let machine = try FakeMachine()
        try machine.addInterface("eth0", kind: .ethernet)
        try machine.addRoute("0.0.0.0/0", interface: "eth0")
        let events = ManualEventSource()
        let inspector = NetworkInspector(settings: machine.settings(), endpointAddresses: { [] }, runner: FakeRunner())
        let monitor = NetworkMonitor(inspector: inspector, events: events, interval: 3600, logger: logger)
        let changes = Mutex<[(NetworkState, NetworkState)]>([])
        monitor.start(onChange: { old, new in changes.withLock { $0.append((old, new)) } })
        defer { monitor.stop() }
        XCTAssertTrue(monitor.state.online)
        XCTAssertEqual(monitor.lookCount, 1)

        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(monitor.lookCount, 1, "no event, no look: nothing polls")

        try machine.setUp("eth0", false)
        let changedAt = Date()
        for _ in 0..<20 { events.fire() }  // a link going down brings a burst of messages
        while changes.withLock({ $0.isEmpty }) && Date().timeIntervalSince(changedAt) < 2 { usleep(5_000) }
        XCTAssertLessThan(Date().timeIntervalSince(changedAt), 1, "re-evaluated within a second")
        XCTAssertEqual(monitor.state, .offline("eth0 is down"))
        Thread.sleep(forTimeInterval: 0.4)
        XCTAssertEqual(monitor.lookCount, 2, "a burst of events costs one look")
        let seen = changes.withLock { $0 }
        XCTAssertEqual(seen.count, 1)
        XCTAssertEqual(seen.first?.0.online, true)
        XCTAssertEqual(seen.first?.1.online, false)

        events.fire()
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(changes.withLock { $0.count }, 1, "a look that finds nothing new reports nothing")
    }

    func testTheIntervalAddsAPeriodicLookAndTick() throws {
        let machine = try FakeMachine()
        let inspector = NetworkInspector(settings: machine.settings(), endpointAddresses: { [] }, runner: FakeRunner())
        let monitor = NetworkMonitor(inspector: inspector, events: ManualEventSource(), interval: 1, logger: logger)
        let ticks = Mutex(0)
        monitor.start(onChange: { _, _ in }, onTick: { ticks.withLock { $0 += 1 } })
        defer { monitor.stop() }
        Thread.sleep(forTimeInterval: 2.5)
        XCTAssertEqual(ticks.withLock { $0 }, 2)
        XCTAssertEqual(monitor.lookCount, 3)
    }

    func testStopEndsTheMonitorPromptly() throws {
        let machine = try FakeMachine()
        let inspector = NetworkInspector(settings: machine.settings(), endpointAddresses: { [] }, runner: FakeRunner())
        let monitor = NetworkMonitor(inspector: inspector, events: RtnetlinkEventSource(), interval: 3600, logger: logger)
        monitor.start(onChange: { _, _ in })
        let started = Date()
        monitor.stop()
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }
}

/// The helper-program runner the daemon uses for nmcli and mmcli.
final class ProcessRunnerTests: XCTestCase {
    func testRunsAProgramAndReturnsItsOutput() {
        let started = Date()
        XCTAssertEqual(ProcessRunner().run(["echo", "GENERAL.METERED:yes"], timeout: 2), "GENERAL.METERED:yes\n")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }

    func testMissingProgramOrFailureIsNil() {
        XCTAssertNil(ProcessRunner().run(["recsync-no-such-program"], timeout: 2))
        XCTAssertNil(ProcessRunner().run(["false"], timeout: 2))
    }

    func testAProgramThatHangsIsGivenUpOn() {
        let started = Date()
        XCTAssertNil(ProcessRunner().run(["sleep", "10"], timeout: 0.5))
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    }

    func testTheProgramGetsNoCredentials() {
        setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak", 1)
        defer { unsetenv("AWS_SECRET_ACCESS_KEY") }
        let environment = ProcessRunner().run(["env"], timeout: 2) ?? ""
        XCTAssertFalse(environment.contains("do-not-leak"))
        XCTAssertTrue(environment.contains("LC_ALL=C"))
    }
}
