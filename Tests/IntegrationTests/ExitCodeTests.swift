import Foundation
import XCTest

/// The exit codes docs/OPERATIONS.md promises, from the built binary: 0 done, 1 a failure or a
/// problem found, 64 a usage error (arguments, settings, a path outside any mount).
final class ExitCodeTests: XCTestCase {
    func testExitCodesAreTheDocumentedOnes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-exit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
        environment["AWS_SECRET_ACCESS_KEY"] = "not-a-real-secret"
        environment["AWS_PROFILE"] = nil
        environment["RECSYNC_CONFIG"] = nil
        let cases: [(arguments: [String], code: Int32)] = [
            (["version"], 0),
            (["--help"], 0),
            (["mount", "--help"], 0),
            (["no-such-command"], 64),
            // mount.fuse3's form, but the source looks like a misspelt command: refused, not mounted.
            (["moutn", folder.path, "-o", "bucket=b"], 64),
            (["status", "--json", "--watch", folder.path], 64),
            (["status", folder.path], 64),
            (["queue", folder.path], 64),
            (["mount", folder.path, "--endpoint", "http://127.0.0.1:9"], 64),  // no bucket
            (["mount", folder.path, "--bucket", "b", "--path-pattern", "{nope}"], 64),
            // Nothing answers on port 9: doctor finds a problem.
            (["doctor", folder.path, "--bucket", "b", "--endpoint", "http://127.0.0.1:9",
              "--state-dir", folder.appendingPathComponent("state").path], 1),
        ]
        for (arguments, code) in cases {
            let result = try Shell.run([MountFixture.binary] + arguments, environment: environment, timeout: 120)
            XCTAssertEqual(result.status, code, "recsync \(arguments.joined(separator: " ")): \(result.stdout)\(result.stderr)")
            XCTAssertFalse(result.stdout.contains("not-a-real-secret") || result.stderr.contains("not-a-real-secret"))
        }
    }
}
