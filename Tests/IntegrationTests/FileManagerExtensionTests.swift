import Foundation
import XCTest

/// The file-manager extension (mount-helpers/file-manager) against a real mount, with Debian's
/// Nautilus, Nemo and Caja bindings: emblems, the status column and the menu items checked
/// against the files' attributes, "Upload Now" and "Retry Upload" carried out, and Nautilus
/// itself under Xvfb with screenshots in .build/test-artifacts/file-manager.
/// The checks are in Tests/file-manager/ (Python, as the extension is).
final class FileManagerExtensionTests: XCTestCase {
    func testTheExtensionShowsWhatTheAttributesSayAndItsMenuReachesRecsync() throws {
        let repository = InstallTests.repository
        let artifacts = repository.appendingPathComponent(".build/test-artifacts/file-manager")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["RECSYNC_TEST_ARTIFACTS"] = artifacts.path
        let result = try Shell.run([repository.appendingPathComponent("Tests/file-manager/run").path, MountFixture.binary],
                                   environment: environment, timeout: 300)
        let output = result.stdout + result.stderr
        XCTAssertEqual(result.status, 0, String(output.suffix(6000)))
        let summary = output.split(separator: "\n").last { $0.hasPrefix("file-manager: ") }.map(String.init)
        XCTAssertNotNil(summary, "the test printed its summary:\n\(output.suffix(3000))")
        XCTAssertTrue(summary?.hasSuffix(" 0 failed") ?? false, summary ?? "")
        let passed = summary.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        XCTAssertGreaterThan(passed, 50, "the checks ran: \(summary ?? "")")
    }
}
