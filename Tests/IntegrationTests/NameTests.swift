import Foundation
import XCTest

/// Names are bytes: whatever ext4 accepts comes back from the mount byte for byte, and reaches
/// the strict server under a key of its own (docs/SEMANTICS.md, "Names").
final class NameTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    static let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/names.py").path

    func names(_ command: String, _ folder: String) throws -> [String: Any] {
        let run = try Shell.run(["python3", Self.tool, command, folder], timeout: 60)
        XCTAssertTrue(run.succeeded, run.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout)
    }

    func testEveryNameComesBackByteForByteAndReachesRadosgwUnderItsOwnKey() throws {
        fixture = try MountFixture(server: try TestServer.radosgw())
        try fixture.mount()
        let written = try XCTUnwrap(try names("write", fixture.mountpoint.path)["names"] as? [String])

        var files: [String: [String: Any]] = [:]
        let deadline = Date().addingTimeInterval(90)
        while true {
            let result = try names("check", fixture.mountpoint.path)
            XCTAssertEqual(result["listed"] as? [String], written.sorted(), "readdir gives back every name byte for byte")
            files = try XCTUnwrap(result["files"] as? [String: [String: Any]])
            if files.values.allSatisfy({ $0["status"] as? String == "synced" }) { break }
            if Date() > deadline {
                XCTFail("not all synced: \(files.mapValues { $0["status"] ?? "?" })\n\(fixture.log.suffix(3000))")
                return
            }
            Thread.sleep(forTimeInterval: 0.3)
        }
        var keys = Set<[UInt8]>()
        for (hexName, file) in files {
            let key = try XCTUnwrap(file["key"] as? String, hexName)
            XCTAssertTrue(keys.insert(Array(key.utf8)).inserted, "\(hexName): its key \(key.debugDescription) is its own")
            XCTAssertEqual(try fixture.object(key), Data(hex: try XCTUnwrap(file["content"] as? String)), "\(hexName): the object holds its bytes")
        }
        let prefix = "anonymous/\(MountFixture.yearMonth)/"
        XCTAssertEqual(files["caf\u{e9}.wav".latin1Hex]?["key"] as? String, prefix + "caf%E9.wav", "a byte that is not UTF-8 is %HH")
        XCTAssertEqual(files[Data("caf%E9.wav".utf8).hex]?["key"] as? String, prefix + "caf%25E9.wav", "and a real %HH is %25HH")
        XCTAssertEqual(files[Data("cafe\u{301}.wav".utf8).hex]?["key"] as? String, prefix + "cafe\u{301}.wav")
        XCTAssertEqual(Array((files[Data("cafe\u{301}.wav".utf8).hex]?["key"] as? String ?? "").utf8),
                       Array((prefix + "cafe\u{301}.wav").utf8), "no normalization: NFD stays NFD")

        let newline = try XCTUnwrap(files[Data("new\nline.wav".utf8).hex]?["key"] as? String)
        XCTAssertEqual(newline, prefix + "new%0Aline.wav", "control characters are %HH in keys")
        XCTAssertEqual(try fixture.head(newline)?.metadata["original-name"], "new%0Aline.wav")

        // Status names them escaped, so a terminal shows every byte.
        let status = try fixture.recsync(["status", fixture.mountpoint.path])
        XCTAssertTrue(status.succeeded, status.stderr)
        XCTAssertTrue(status.stdout.contains("caf\\xE9.wav"), status.stdout)
        XCTAssertTrue(status.stdout.contains("new\\nline.wav"), status.stdout)
        XCTAssertTrue(status.stdout.contains("tab\\there \\x01 ctrl.wav"), status.stdout)
        XCTAssertFalse(status.stdout.contains("\u{FFFD}"), "no name is replaced: \(status.stdout)")

        // After a restart the scan finds every file unchanged: nothing goes back to the queue.
        try fixture.unmount()
        try fixture.mount()
        let again = try XCTUnwrap(try names("check", fixture.mountpoint.path)["files"] as? [String: [String: Any]])
        for (hexName, file) in again {
            XCTAssertEqual(file["status"] as? String, "synced", "\(hexName) stays synced across a restart")
        }
    }
}

private extension String {
    /// The hex of the string's Latin-1 bytes (one byte per character).
    var latin1Hex: String { Data(unicodeScalars.map { UInt8($0.value) }).hex }
}

private extension Data {
    var hex: String { map { String(format: "%02x", $0) }.joined() }

    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes)
    }
}
