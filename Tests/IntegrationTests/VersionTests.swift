import Foundation
import XCTest

/// `recsync version` and `--version` name recsync's version and the libraries it runs with.
final class VersionTests: XCTestCase {
    func testVersionNamesRecsyncAndItsLibraries() throws {
        for arguments in [["version"], ["--version"]] {
            let result = try Shell.run([MountFixture.binary] + arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            let lines = result.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.map { $0.split(separator: " ").first.map(String.init) ?? "" },
                           ["recsync", "libfuse", "libcurl", "OpenSSL", "SQLite"], result.stdout)
            for line in lines {
                let version = line.split(separator: " ").dropFirst().first.map(String.init) ?? ""
                XCTAssertTrue(version.first?.isNumber == true, "a version number: \(line)")
            }
            XCTAssertTrue(lines[2].contains("OpenSSL"), "libcurl is the OpenSSL flavour: \(lines[2])")
        }
    }
}
