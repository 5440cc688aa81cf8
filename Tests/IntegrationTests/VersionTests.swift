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

/// The daemon imports FoundationEssentials only (docs/DEVELOPMENT.md, RecsyncPrimitives): the rest
/// of Foundation would bring ICU and CoreFoundation, 7 MiB of resident memory.
final class FoundationFreeTests: XCTestCase {
    func testTheBinaryLinksNoFoundationBeyondEssentials() throws {
        let dynamic = try Shell.run(["readelf", "--dynamic", "--wide", MountFixture.binary])
        XCTAssertEqual(dynamic.status, 0, dynamic.stderr)
        let needed = dynamic.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        XCTAssertFalse(needed.isEmpty, "readelf lists the libraries the binary needs")
        for line in needed {
            XCTAssertFalse(line.contains("libFoundation.so") || line.contains("libFoundationInternationalization")
                           || line.contains("_FoundationICU") || line.contains("libicu"), String(line))
        }
        // A binary with the Swift libraries linked in (`make`) would hold ICU's data table.
        let icu = try Shell.run(["sh", "-c", "nm '\(MountFixture.binary)' 2>/dev/null | grep -c icudt || true"])
        XCTAssertEqual(icu.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0", "no ICU data linked in")
    }

    func testNoDaemonSourceImportsFoundation() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let daemonModules = ["recsync", "RecsyncCore", "RecsyncFS", "RecsyncFUSE", "RecsyncMetrics", "RecsyncPrimitives",
                             "RecsyncS3", "RecsyncStore"]
        var checked = 0
        for module in daemonModules {
            let folder = sources.appendingPathComponent(module)
            guard let files = FileManager.default.enumerator(atPath: folder.path) else { XCTFail("no \(folder.path)"); continue }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = try String(contentsOfFile: folder.appendingPathComponent(file).path, encoding: .utf8)
                checked += 1
                for line in text.split(separator: "\n") where line.range(of: #"^\s*(@\w+\s+)*(public\s+|internal\s+|@_exported\s+)?import\s+Foundation\s*$"#, options: .regularExpression) != nil {
                    XCTFail("\(module)/\(file): \(line) (import FoundationEssentials; see docs/DEVELOPMENT.md)")
                }
            }
        }
        XCTAssertGreaterThan(checked, 150, "the daemon's sources were found")
    }
}
