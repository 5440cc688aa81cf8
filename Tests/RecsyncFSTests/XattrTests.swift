import CSysShims
import Foundation
import XCTest
@testable import RecsyncFS

/// `user.sync.*` attributes belong to the sync engine; every other name is the backing file's.
final class XattrTests: PassthroughTestCase {
    /// Reads an attribute straight from the backing file, bypassing the core.
    func backingAttribute(_ relative: String, _ name: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = CSysShims.getxattr(backingPath(relative), name, &buffer, buffer.count)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    func setBackingAttribute(_ relative: String, _ name: String, _ value: String) throws {
        let bytes = Array(value.utf8)
        guard CSysShims.setxattr(backingPath(relative), name, bytes, bytes.count, 0) == 0 else {
            throw XCTSkip("the temporary folder does not support user extended attributes (errno \(errno))")
        }
    }

    /// Splits a listxattr result into its names.
    func names(_ list: [UInt8]) -> [String] {
        XCTAssertTrue(list.isEmpty || list.last == 0, "every name must be NUL-terminated")
        return list.split(separator: 0, omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
    }

    // MARK: user.sync.*

    func testSyncAttributesAreAnsweredByTheHooks() throws {
        try makeBackingFile("sub/take.wav")
        hooks.setAttribute("user.sync.status", "synced", for: "sub/take.wav")
        let inode = try lookupPath("sub/take.wav")
        XCTAssertEqual(try fs.getxattr(inode.id, name: "user.sync.status"), Array("synced".utf8))
        XCTAssertEqual(hooks.calls, [.getAttribute("sub/take.wav", name: "user.sync.status", isDirectory: false)])
        XCTAssertNil(backingAttribute("sub/take.wav", "user.sync.status"), "nothing is stored on the backing file")
    }

    func testSyncAttributesOfFoldersAndTheRoot() throws {
        try makeBackingFolder("sub")
        hooks.setAttribute("user.sync.status", "3 pending", for: "sub")
        hooks.setAttribute("user.sync.status", "all synced", for: "")
        let folder = try lookupPath("sub")
        XCTAssertEqual(try fs.getxattr(folder.id, name: "user.sync.status"), Array("3 pending".utf8))
        XCTAssertEqual(try fs.getxattr(Self.rootID, name: "user.sync.status"), Array("all synced".utf8))
        XCTAssertEqual(hooks.calls, [
            .getAttribute("sub", name: "user.sync.status", isDirectory: true),
            .getAttribute("", name: "user.sync.status", isDirectory: true),
        ])
    }

    func testMissingSyncAttributeIsENODATA() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        XCTAssertThrowsErrno(ENODATA, try fs.getxattr(inode.id, name: "user.sync.nothing"))
        XCTAssertEqual(hooks.calls, [.getAttribute("take.wav", name: "user.sync.nothing", isDirectory: false)])
    }

    func testSettingASyncAttributeGoesToTheHooks() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        try fs.setxattr(inode.id, name: "user.sync.priority", value: Array("high".utf8), flags: 0)
        XCTAssertEqual(hooks.calls, [.setAttribute("take.wav", name: "user.sync.priority", value: Array("high".utf8))])
        XCTAssertEqual(hooks.attribute("user.sync.priority", for: "take.wav"), "high")
        XCTAssertNil(backingAttribute("take.wav", "user.sync.priority"))
        XCTAssertEqual(try fs.getxattr(inode.id, name: "user.sync.priority"), Array("high".utf8))
    }

    func testRefusalFromTheHooksKeepsItsErrno() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        XCTAssertThrowsErrno(EPERM, try fs.setxattr(inode.id, name: "user.sync.status", value: Array("synced".utf8), flags: 0))
        XCTAssertNil(hooks.attribute("user.sync.status", for: "take.wav"))
    }

    func testRemovingASyncAttributeIsEPERM() throws {
        try makeBackingFile("take.wav")
        hooks.setAttribute("user.sync.priority", "high", for: "take.wav")
        let inode = try lookupPath("take.wav")
        XCTAssertThrowsErrno(EPERM, try fs.removexattr(inode.id, name: "user.sync.priority"))
        XCTAssertEqual(hooks.attribute("user.sync.priority", for: "take.wav"), "high")
        XCTAssertEqual(hooks.calls, [])
    }

    func testSyncAttributesOfADeletedFileAreENOENT() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        try fs.unlink(parent: Self.rootID, name: "take.wav")
        _ = hooks.takeCalls()
        XCTAssertThrowsErrno(ENOENT, try fs.getxattr(inode.id, name: "user.sync.status"))
        XCTAssertThrowsErrno(ENOENT, try fs.setxattr(inode.id, name: "user.sync.priority", value: [1], flags: 0))
        XCTAssertEqual(hooks.calls, [])
    }

    func testOnlyTheExactPrefixIsReserved() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        try fs.setxattr(inode.id, name: "user.syncing", value: Array("yes".utf8), flags: 0)
        XCTAssertEqual(backingAttribute("take.wav", "user.syncing"), "yes")
        XCTAssertEqual(hooks.calls, [])
    }

    // MARK: Other attributes pass through

    func testOtherAttributesAreStoredOnTheBackingFile() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        try fs.setxattr(inode.id, name: "user.comment", value: Array("good take".utf8), flags: 0)
        XCTAssertEqual(backingAttribute("take.wav", "user.comment"), "good take")
        XCTAssertEqual(try fs.getxattr(inode.id, name: "user.comment"), Array("good take".utf8))
        XCTAssertEqual(hooks.calls, [])
    }

    func testBackingAttributesAreVisibleThroughTheCore() throws {
        try makeBackingFile("take.wav")
        try setBackingAttribute("take.wav", "user.origin", "studio B")
        let inode = try lookupPath("take.wav")
        XCTAssertEqual(try fs.getxattr(inode.id, name: "user.origin"), Array("studio B".utf8))
        try setBackingAttribute("take.wav", "user.empty", "")
        XCTAssertEqual(try fs.getxattr(inode.id, name: "user.empty"), [])
    }

    func testLargeBackingAttributeIsReadWhole() throws {
        try makeBackingFile("take.wav")
        let value = String(repeating: "0123456789", count: 300)
        try setBackingAttribute("take.wav", "user.notes", value)
        let inode = try lookupPath("take.wav")
        XCTAssertEqual(try fs.getxattr(inode.id, name: "user.notes"), Array(value.utf8))
    }

    func testMissingBackingAttributeIsENODATA() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        XCTAssertThrowsErrno(ENODATA, try fs.getxattr(inode.id, name: "user.nothing"))
        XCTAssertEqual(hooks.calls, [])
    }

    func testSetxattrFlagsPassThrough() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        XCTAssertThrowsErrno(ENODATA, try fs.setxattr(inode.id, name: "user.comment", value: [1], flags: Int32(XATTR_REPLACE)))
        try fs.setxattr(inode.id, name: "user.comment", value: Array("one".utf8), flags: Int32(XATTR_CREATE))
        XCTAssertThrowsErrno(EEXIST, try fs.setxattr(inode.id, name: "user.comment", value: [2], flags: Int32(XATTR_CREATE)))
        try fs.setxattr(inode.id, name: "user.comment", value: Array("two".utf8), flags: Int32(XATTR_REPLACE))
        XCTAssertEqual(backingAttribute("take.wav", "user.comment"), "two")
    }

    func testRemovingAnOtherAttributeRemovesItFromTheBackingFile() throws {
        try makeBackingFile("take.wav")
        try setBackingAttribute("take.wav", "user.comment", "x")
        let inode = try lookupPath("take.wav")
        try fs.removexattr(inode.id, name: "user.comment")
        XCTAssertNil(backingAttribute("take.wav", "user.comment"))
        XCTAssertThrowsErrno(ENODATA, try fs.removexattr(inode.id, name: "user.comment"))
    }

    func testFolderAttributesPassThrough() throws {
        try makeBackingFolder("sub")
        let folder = try lookupPath("sub")
        try fs.setxattr(folder.id, name: "user.label", value: Array("session".utf8), flags: 0)
        XCTAssertEqual(backingAttribute("sub", "user.label"), "session")
        XCTAssertEqual(try fs.getxattr(folder.id, name: "user.label"), Array("session".utf8))
    }

    // MARK: listxattr

    func testListxattrMergesBackingAndSyncNames() throws {
        try makeBackingFile("take.wav")
        try setBackingAttribute("take.wav", "user.comment", "x")
        try setBackingAttribute("take.wav", "user.origin", "y")
        hooks.setAttribute("user.sync.status", "pending", for: "take.wav")
        hooks.setAttribute("user.sync.key", "rec/take.wav", for: "take.wav")
        let inode = try lookupPath("take.wav")
        let listed = names(try fs.listxattr(inode.id))
        XCTAssertEqual(Set(listed), ["user.comment", "user.origin", "user.sync.key", "user.sync.status"])
        XCTAssertEqual(listed.count, 4)
        XCTAssertEqual(hooks.calls, [.listAttributes("take.wav", isDirectory: false)])
    }

    func testListxattrWithoutAnyAttributes() throws {
        try makeBackingFolder("sub")
        let folder = try lookupPath("sub")
        XCTAssertEqual(try fs.listxattr(folder.id), [])
        XCTAssertEqual(hooks.calls, [.listAttributes("sub", isDirectory: true)])
    }

    func testListxattrOfADeletedFileHasNoSyncNames() throws {
        try makeBackingFile("take.wav")
        try setBackingAttribute("take.wav", "user.comment", "x")
        hooks.setAttribute("user.sync.status", "pending", for: "take.wav")
        let inode = try lookupPath("take.wav")
        try fs.unlink(parent: Self.rootID, name: "take.wav")
        _ = hooks.takeCalls()
        XCTAssertEqual(names(try fs.listxattr(inode.id)), ["user.comment"])
        XCTAssertEqual(hooks.calls, [])
    }

    // MARK: Symlinks

    func testSymlinksListNoAttributes() throws {
        try makeBackingFile("target.wav")
        try setBackingAttribute("target.wav", "user.comment", "target's")
        try FileManager.default.createSymbolicLink(atPath: backingPath("link"), withDestinationPath: "target.wav")
        hooks.setAttribute("user.sync.status", "ignored", for: "link")
        let link = try lookupPath("link")
        XCTAssertThrowsErrno(ENOTSUP, try fs.getxattr(link.id, name: "user.comment"), "the target's attributes must not leak")
        XCTAssertThrowsErrno(ENOTSUP, try fs.setxattr(link.id, name: "user.comment", value: [1], flags: 0))
        XCTAssertThrowsErrno(ENOTSUP, try fs.removexattr(link.id, name: "user.comment"))
        XCTAssertEqual(backingAttribute("target.wav", "user.comment"), "target's")
        XCTAssertEqual(names(try fs.listxattr(link.id)), [], "the kernel allows no user.* attributes on symlinks")
    }

    func testUnknownInodeIsESTALE() {
        XCTAssertThrowsErrno(ESTALE, try fs.getxattr(4242, name: "user.sync.status"))
        XCTAssertThrowsErrno(ESTALE, try fs.listxattr(4242))
        XCTAssertThrowsErrno(ESTALE, try fs.setxattr(4242, name: "user.comment", value: [], flags: 0))
        XCTAssertThrowsErrno(ESTALE, try fs.removexattr(4242, name: "user.comment"))
    }
}
