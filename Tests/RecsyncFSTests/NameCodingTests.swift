import Foundation
import XCTest
@testable import RecsyncFS

/// Names are bytes: every name ext4 accepts goes through the core and comes back byte for byte.
final class NameCodingTests: PassthroughTestCase {
    /// Names a user can meet, as raw bytes.
    static let oddNames: [[UInt8]] = [
        Array("café.wav".utf8),                                   // NFC
        Array("cafe\u{301}.wav".utf8),                            // NFD: another name
        [0x63, 0x61, 0x66, 0xE9, 0x2E, 0x77, 0x61, 0x76],        // Latin-1 café.wav
        [0xFF, 0xFE, 0x80, 0x41],                                 // bytes never valid in UTF-8
        [0xE2, 0x82, 0x41],                                       // a truncated sequence, then A
        [0xF4, 0x8F, 0xBF, 0xA9, 0x2E, 0x77],                     // a real U+10FFE9 (reserved range)
        Array("tab\there\nnewline\u{1}".utf8),                    // control characters
        Array("\u{301}starts with a combining mark".utf8),
        Array("100% take.wav".utf8),
        Array(repeating: UInt8(ascii: "n"), count: 255),          // the longest name
    ]

    func testTextAndBytesRoundTripEveryByteString() {
        var seen = Set<PathKey>()
        for bytes in Self.oddNames {
            let text = NameCoding.text(bytes)
            XCTAssertEqual(NameCoding.bytes(of: text), bytes, "\(bytes) comes back byte for byte")
            XCTAssertTrue(seen.insert(PathKey(text)).inserted, "\(bytes) is a name of its own")
            NameCoding.withCString(text) { XCTAssertEqual(Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))), bytes) }
        }
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 1...12)).map { _ in UInt8.random(in: 1...255) }
            XCTAssertEqual(NameCoding.bytes(of: NameCoding.text(bytes)), bytes)
        }
        XCTAssertEqual(NameCoding.text(Array("plain.wav".utf8)), "plain.wav", "valid UTF-8 is kept as it is")
        XCTAssertEqual(NameCoding.text(Array("cafe\u{301}".utf8)).unicodeScalars.count, 5, "no normalization")
    }

    func testPathsCompareByBytes() {
        let nfc = "café", nfd = "cafe\u{301}"
        XCTAssertEqual(nfc, nfd, "Swift's == takes them as one, which is why paths never use it")
        XCTAssertFalse(NameCoding.same(nfc, nfd))
        XCTAssertNotEqual(PathKey(nfc), PathKey(nfd))
        XCTAssertFalse(NameCoding.isSameOrInside(nfc + "/x", nfd))
        XCTAssertTrue(NameCoding.isSameOrInside(nfd + "/x", nfd))
        XCTAssertEqual(NameCoding.split("a/\u{301}b").folder, "a", "a / before a combining mark still splits")
        XCTAssertEqual(NameCoding.split("a/\u{301}b").name, "\u{301}b")
        XCTAssertEqual(NameCoding.rebase("a/\u{301}b", from: "a", to: "z"), "z/\u{301}b")
    }

    func testDisplayEscapesWhatATerminalCannotShow() {
        XCTAssertEqual(NameCoding.display(NameCoding.text([0x63, 0x61, 0x66, 0xE9])), "caf\\xE9")
        XCTAssertEqual(NameCoding.display("a\tb\nc\u{1}\\"), "a\\tb\\nc\\x01\\\\")
        XCTAssertEqual(NameCoding.display("café take.wav"), "café take.wav")
        XCTAssertEqual(NameCoding.display("c1\u{85}"), "c1\\xC2\\x85", "a C1 control is its two bytes, never confused with the lone byte 0x85")
        XCTAssertEqual(NameCoding.display(NameCoding.text([0x85])), "\\x85")
    }

    func testOddNamesGoThroughTheCoreByteForByte() throws {
        for (index, bytes) in Self.oddNames.enumerated() {
            let name = NameCoding.text(bytes)
            let (entry, handle) = try fs.create(parent: Self.rootID, name: name, mode: 0o644, flags: O_WRONLY | O_CREAT, caller: nil)
            let payload = Array("file \(index)".utf8)
            _ = try payload.withUnsafeBytes { try fs.write(handle, bytes: $0, offset: 0) }
            try fs.flush(handle)
            fs.release(handle)
            XCTAssertEqual(try fs.lookup(parent: Self.rootID, name: name).inode.id, entry.inode.id)
            XCTAssertEqual(fs.relativePath(of: entry.inode).map(NameCoding.bytes(of:)), bytes, "the path reported to the engine")
        }
        // On the disk, byte for byte.
        let onDisk = Set(try backingNames())
        XCTAssertEqual(onDisk, Set(Self.oddNames))
        // readdir gives the same names back.
        let handle = try fs.opendir(Self.rootID)
        defer { fs.releasedir(handle) }
        var listed: [[UInt8]] = []
        try fs.readdir(handle, offset: 0) { entry in
            if entry.name != "." && entry.name != ".." { listed.append(NameCoding.bytes(of: entry.name)) }
            return true
        }
        XCTAssertEqual(Set(listed), Set(Self.oddNames))
        XCTAssertEqual(listed.count, Self.oddNames.count)
        // Every close was reported under its own path.
        let written = hooks.calls.compactMap { call -> [UInt8]? in
            if case .written(let path, _) = call { return NameCoding.bytes(of: path) }
            return nil
        }
        XCTAssertEqual(Set(written), Set(Self.oddNames))
    }

    func testRenameBetweenNFCAndNFDIsARealRename() throws {
        try makeBackingFile("café.wav", contents: "x")
        try fs.rename(parent: Self.rootID, name: "café.wav", newParent: Self.rootID, newName: "cafe\u{301}.wav", flags: 0)
        XCTAssertEqual(Set(try backingNames()), [Array("cafe\u{301}.wav".utf8)])
        XCTAssertEqual(hooks.calls, [.renamed(from: "café.wav", to: "cafe\u{301}.wav", isDirectory: false)])
    }

    func testSymlinkTargetsAreBytes() throws {
        let target = NameCoding.text([0x2E, 0x2E, 0x2F, 0xE9])
        let entry = try fs.symlink(target: target, parent: Self.rootID, name: "link", caller: nil)
        XCTAssertEqual(NameCoding.bytes(of: try fs.readlink(entry.inode.id)), [0x2E, 0x2E, 0x2F, 0xE9])
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = readlink(backingPath("link"), &buffer, 64)
        XCTAssertEqual(Array(buffer[0..<max(count, 0)]), [0x2E, 0x2E, 0x2F, 0xE9])
    }

    /// The names in the backing root as raw bytes.
    func backingNames() throws -> [[UInt8]] {
        guard let dir = opendir(backingPath("")) else { throw FSError(errno, "opendir") }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if bytes != [0x2E] && bytes != [0x2E, 0x2E] { names.append(bytes) }
        }
        return names
    }
}
