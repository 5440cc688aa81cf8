import Foundation
import XCTest

/// The systemd units in mount-helpers/ pass `systemd-analyze verify`, and keep the settings a
/// FUSE mount needs (no systemd runs here, so they are not started).
final class SystemdUnitTests: XCTestCase {
    static var helpers: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("mount-helpers")
    }

    /// The unit as installed for an instance, with ExecStart pointing at the built binary.
    func verify(_ relative: String, instance: String, user: Bool) throws -> String {
        let text = try String(contentsOf: Self.helpers.appendingPathComponent(relative), encoding: .utf8)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-units-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("runtime"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        XCTAssertEqual(chmod(folder.appendingPathComponent("runtime").path, 0o700), 0)
        let unit = folder.appendingPathComponent("recsync@\(instance).service")
        try text.replacingOccurrences(of: "/usr/local/bin/recsync", with: MountFixture.binary).write(to: unit, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_RUNTIME_DIR"] = folder.appendingPathComponent("runtime").path
        let result = try Shell.run(["systemd-analyze", "verify", "--man=no"] + (user ? ["--user"] : []) + [unit.path],
                                   environment: environment)
        XCTAssertTrue(result.succeeded, "\(relative): \(result.stdout)\(result.stderr)")
        XCTAssertEqual(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines), "", "no warnings for \(relative)")
        return text
    }

    func testTheSystemAndUserUnitsVerifyAndSuitAFUSEMount() throws {
        for (relative, user) in [("recsync@.service", false), ("user/recsync@.service", true)] {
            let text = try verify(relative, instance: user ? "home-alice-Recordings" : "srv-recordings", user: user)
            let settings = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
            for expected in ["Type=notify", "NotifyAccess=main", "ExecStart=/usr/local/bin/recsync mount --foreground %f",
                             "Restart=on-failure", "KillSignal=SIGTERM"] {
                XCTAssertTrue(settings.contains(expected), "\(relative) has \(expected)")
            }
            let timeout = settings.first { $0.hasPrefix("TimeoutStopSec=") }.flatMap { Int($0.dropFirst("TimeoutStopSec=".count)) }
            XCTAssertGreaterThan(timeout ?? 0, 60, "\(relative): the stop timeout outlasts a long shutdown_grace")
            // Each of these gives the service a mount namespace of its own: the FUSE mount would
            // be made in it and be seen by nobody else.
            for namespaced in ["ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "ReadWritePaths", "ReadOnlyPaths",
                               "InaccessiblePaths", "ProtectKernelTunables", "ProtectControlGroups", "TemporaryFileSystem",
                               "PrivateMounts", "BindPaths", "DevicePolicy", "DeviceAllow"] {
                XCTAssertFalse(settings.contains { $0.hasPrefix(namespaced + "=") }, "\(relative) must not set \(namespaced)")
            }
        }
    }
}
