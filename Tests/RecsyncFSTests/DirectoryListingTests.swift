import Foundation
import XCTest
@testable import RecsyncFS

/// opendir/readdir/releasedir, including a reply buffer that fills up part way.
final class DirectoryListingTests: PassthroughTestCase {
    func testReaddirReturnsEveryEntryWithItsType() throws {
        try makeBackingFile("take.wav", contents: "x")
        try makeBackingFolder("sub")
        try FileManager.default.createSymbolicLink(atPath: backingPath("link"), withDestinationPath: "take.wav")

        let handle = try fs.opendir(Self.rootID)
        defer { fs.releasedir(handle) }
        var entries: [String: DirEntry] = [:]
        try fs.readdir(handle, offset: 0) { entry in
            XCTAssertNil(entries[entry.name], "\(entry.name) listed twice")
            entries[entry.name] = entry
            return true
        }
        XCTAssertEqual(Set(entries.keys), [".", "..", "take.wav", "sub", "link"])
        XCTAssertEqual(entries["take.wav"]?.type, UInt8(DT_REG))
        XCTAssertEqual(entries["sub"]?.type, UInt8(DT_DIR))
        XCTAssertEqual(entries["link"]?.type, UInt8(DT_LNK))
        var st = stat()
        XCTAssertEqual(lstat(backingPath("take.wav"), &st), 0)
        XCTAssertEqual(entries["take.wav"]?.inode, UInt64(st.st_ino), "readdir reports the backing inode number")
        XCTAssertEqual(hooks.calls, [])
    }

    func testReaddirOfAnEmptyFolderHasOnlyDotEntries() throws {
        try makeBackingFolder("empty")
        let folder = try lookupPath("empty")
        XCTAssertEqual(try listNames(folder.id), [])
        let handle = try fs.opendir(folder.id)
        defer { fs.releasedir(handle) }
        var names: [String] = []
        try fs.readdir(handle, offset: 0) { names.append($0.name); return true }
        XCTAssertEqual(names.sorted(), [".", ".."])
    }

    func testAFullReplyBufferResumesWithTheEntryThatDidNotFit() throws {
        let expected = (0..<150).map { String(format: "take-%03d.wav", $0) }
        for name in expected { try makeBackingFile(name) }

        let handle = try fs.opendir(Self.rootID)
        defer { fs.releasedir(handle) }
        var listed: [String] = []
        var offset: Int64 = 0
        var calls = 0
        while true {
            calls += 1
            XCTAssertLessThan(calls, 200, "readdir does not make progress")
            if calls >= 200 { break }
            var accepted = 0
            try fs.readdir(handle, offset: offset) { entry in
                guard accepted < 7 else { return false }
                accepted += 1
                listed.append(entry.name)
                offset = entry.nextOffset
                return true
            }
            if accepted == 0 { break }
        }
        XCTAssertEqual(listed.count, expected.count + 2, "every entry exactly once")
        XCTAssertEqual(Set(listed), Set(expected + [".", ".."]))
        XCTAssertEqual(listed.count, Set(listed).count, "no entry listed twice")
    }

    func testTheRejectedEntryComesFirstOnTheNextCall() throws {
        for index in 0..<20 { try makeBackingFile("f\(index).wav") }
        let handle = try fs.opendir(Self.rootID)
        defer { fs.releasedir(handle) }

        var offset: Int64 = 0
        var listed: [String] = []
        var rejected: String?
        for _ in 0..<100 {
            var delivered: [String] = []
            var accepted = 0
            try fs.readdir(handle, offset: offset) { entry in
                delivered.append(entry.name)
                guard accepted < 3 else { return false }
                accepted += 1
                listed.append(entry.name)
                offset = entry.nextOffset
                return true
            }
            if let previous = rejected {
                XCTAssertEqual(delivered.first, previous, "the entry that did not fit must come again first")
            }
            if delivered.count > accepted {
                XCTAssertEqual(delivered.count, accepted + 1, "readdir stops at the first refused entry")
                rejected = delivered.last
            } else {
                rejected = nil
            }
            if delivered.isEmpty { break }
        }
        XCTAssertEqual(listed.count, 22)
        XCTAssertEqual(Set(listed).count, 22)
    }

    func testRefusingTheVeryFirstEntryReturnsItAgain() throws {
        try makeBackingFile("only.wav")
        let handle = try fs.opendir(Self.rootID)
        defer { fs.releasedir(handle) }
        var first: String?
        try fs.readdir(handle, offset: 0) { entry in
            first = entry.name
            return false
        }
        var all: [String] = []
        try fs.readdir(handle, offset: 0) { entry in
            all.append(entry.name)
            return true
        }
        XCTAssertEqual(all.first, first)
        XCTAssertEqual(Set(all), [".", "..", "only.wav"])
        XCTAssertEqual(all.count, 3)
    }

    func testReaddirSeeksToTheOffsetItIsGiven() throws {
        for index in 0..<10 { try makeBackingFile("f\(index).wav") }
        let handle = try fs.opendir(Self.rootID)
        defer { fs.releasedir(handle) }
        var full: [DirEntry] = []
        try fs.readdir(handle, offset: 0) { full.append($0); return true }
        XCTAssertEqual(full.count, 12)

        var atEnd: [String] = []
        try fs.readdir(handle, offset: full.last!.nextOffset) { atEnd.append($0.name); return true }
        XCTAssertEqual(atEnd, [], "nothing after the last entry")

        var again: [String] = []
        try fs.readdir(handle, offset: 0) { again.append($0.name); return true }
        XCTAssertEqual(again, full.map(\.name), "offset 0 rewinds")

        var fromMiddle: [String] = []
        try fs.readdir(handle, offset: full[4].nextOffset) { fromMiddle.append($0.name); return true }
        XCTAssertEqual(fromMiddle, full[5...].map(\.name), "an earlier offset seeks back")
    }

    func testNewEntriesAppearInAFreshListing() throws {
        try makeBackingFolder("sub")
        let sub = try lookupPath("sub")
        XCTAssertEqual(try listNames(sub.id), [])
        let (_, handle) = try createFile("new.wav", in: sub.id)
        fs.release(handle)
        _ = try fs.mkdir(parent: sub.id, name: "inner", mode: 0o755, caller: nil)
        XCTAssertEqual(try listNames(sub.id), ["inner", "new.wav"])
        try fs.unlink(parent: sub.id, name: "new.wav")
        XCTAssertEqual(try listNames(sub.id), ["inner"])
    }

    func testOpendirOfAFileIsENOTDIR() throws {
        try makeBackingFile("take.wav")
        let file = try lookupPath("take.wav")
        XCTAssertThrowsErrno(ENOTDIR, try fs.opendir(file.id))
    }

    func testOpendirOfAnUnknownInodeIsESTALE() {
        XCTAssertThrowsErrno(ESTALE, try fs.opendir(9999))
    }

    func testFsyncdirSucceeds() throws {
        let handle = try fs.opendir(Self.rootID)
        try fs.fsyncdir(handle, dataOnly: false)
        try fs.fsyncdir(handle, dataOnly: true)
        fs.releasedir(handle)
    }
}
