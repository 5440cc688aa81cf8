import Foundation
import XCTest
@testable import RecsyncCore

/// Run as root, recsync reads only config files that root owns and nobody else can write.
final class ConfigOwnerTests: XCTestCase {
    func stat(uid: uid_t, mode: mode_t) -> Glibc.stat {
        var info = Glibc.stat()
        info.st_uid = uid
        info.st_mode = S_IFREG | mode
        return info
    }

    func testRootRefusesAConfigOthersCouldHaveWritten() {
        XCTAssertNoThrow(try RecsyncConfig.checkOwner(stat(uid: 0, mode: 0o644), path: "/etc/recsync/config.toml", asRoot: true))
        XCTAssertNoThrow(try RecsyncConfig.checkOwner(stat(uid: 0, mode: 0o600), path: "/etc/recsync/config.toml", asRoot: true))
        for (uid, mode): (uid_t, mode_t) in [(1000, 0o644), (0, 0o664), (0, 0o666), (1000, 0o600)] {
            XCTAssertThrowsError(try RecsyncConfig.checkOwner(stat(uid: uid, mode: mode), path: "/home/ana/.config/recsync/config.toml", asRoot: true)) { error in
                XCTAssertEqual((error as? ConfigError)?.kind, .unsafeFile)
                XCTAssertTrue("\(error)".contains("chown root:root /home/ana/.config/recsync/config.toml && chmod go-w"), "\(error)")
            }
        }
        XCTAssertNoThrow(try RecsyncConfig.checkOwner(stat(uid: 1000, mode: 0o664), path: "x", asRoot: false), "a user's own config is theirs to keep")
    }

    func testLoadingAsRootChecksTheFileItOpened() throws {
        guard geteuid() == 0 else { return }  // the rule applies to root only; CI runs as root
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("config.toml").path
        try "[sync]\nsettle_delay = 0\n".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(file, 0o644), 0)
        XCTAssertNoThrow(try RecsyncConfig.load(path: file))
        XCTAssertEqual(chown(file, 1000, 1000), 0)
        XCTAssertThrowsError(try RecsyncConfig.load(path: file)) { XCTAssertEqual(($0 as? ConfigError)?.kind, .unsafeFile) }
    }
}
