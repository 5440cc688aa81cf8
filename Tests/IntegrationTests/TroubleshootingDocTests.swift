import Foundation
import XCTest

/// docs/TROUBLESHOOTING.md has every message recsync can show a user: Tests/docs/check_troubleshooting.py
/// finds the messages in Sources/ (error values, doctor findings, user.sync.error texts, warnings
/// in the log) and names each one the document lacks, so a new message comes with its entry.
final class TroubleshootingDocTests: XCTestCase {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testEveryMessageIsInTheTroubleshootingDocument() throws {
        let result = try Shell.sh("cd \(Shell.quote(Self.repository.path)) && python3 Tests/docs/check_troubleshooting.py")
        let output = result.stdout + result.stderr
        XCTAssertEqual(result.status, 0, "document these messages in docs/TROUBLESHOOTING.md "
                       + "(Tests/docs/check_troubleshooting.py --list shows every message found):\n\(output)")
        XCTAssertTrue(result.stdout.contains(" documented, 0 missing"), output)
    }
}
