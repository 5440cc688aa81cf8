import Foundation
import XCTest
@testable import RecsyncFS

/// getattr, setattr and statfs pass through to the backing file.
final class AttributeTests: PassthroughTestCase {
    func testGetattrReflectsTheBackingFile() throws {
        try makeBackingFile("take.wav", contents: "123456")
        XCTAssertEqual(chmod(backingPath("take.wav"), 0o640), 0)
        let inode = try lookupPath("take.wav")
        let st = try fs.getattr(inode.id)
        XCTAssertEqual(st.st_size, 6)
        XCTAssertEqual(st.st_mode & 0o7777, 0o640)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)

        try Data("1234567890".utf8).write(to: rootURL.appendingPathComponent("take.wav"))
        XCTAssertEqual(try fs.getattr(inode.id).st_size, 10, "getattr is not cached")
    }

    func testGetattrOfTheRootIsAFolder() throws {
        let st = try fs.getattr(Self.rootID)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFDIR)
        var backing = stat()
        XCTAssertEqual(lstat(rootURL.path, &backing), 0)
        XCTAssertEqual(st.st_ino, backing.st_ino)
    }

    func testGetattrOfAnUnknownInodeIsESTALE() {
        XCTAssertThrowsErrno(ESTALE, try fs.getattr(12345))
    }

    func testGetattrOfASymlinkDescribesTheLink() throws {
        try makeBackingFile("target.wav", contents: "1234")
        try FileManager.default.createSymbolicLink(atPath: backingPath("link"), withDestinationPath: "target.wav")
        let link = try lookupPath("link")
        XCTAssertEqual(try fs.getattr(link.id).st_mode & S_IFMT, S_IFLNK)
    }

    func testChmodWithAndWithoutAHandle() throws {
        let (entry, handle) = try createFile("take.wav", mode: 0o644)
        var changes = AttributeChanges()
        changes.mode = 0o600
        XCTAssertEqual(try fs.setattr(entry.inode.id, changes: changes, handle: handle).st_mode & 0o7777, 0o600)
        fs.release(handle)
        changes.mode = 0o444
        XCTAssertEqual(try fs.setattr(entry.inode.id, changes: changes, handle: nil).st_mode & 0o7777, 0o444)
        var st = stat()
        XCTAssertEqual(lstat(backingPath("take.wav"), &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o444)
    }

    func testChownChangesOnlyWhatWasAsked() throws {
        try XCTSkipUnless(geteuid() == 0, "changing owners needs root")
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        var changes = AttributeChanges()
        changes.uid = 1234
        var st = try fs.setattr(inode.id, changes: changes, handle: nil)
        XCTAssertEqual(st.st_uid, 1234)
        XCTAssertEqual(st.st_gid, 0)
        changes = AttributeChanges()
        changes.gid = 5678
        st = try fs.setattr(inode.id, changes: changes, handle: nil)
        XCTAssertEqual(st.st_uid, 1234)
        XCTAssertEqual(st.st_gid, 5678)
        XCTAssertEqual(hooks.calls, [])
    }

    func testTheKernelWritingBackTheCurrentModificationTimeLeavesTheFileUntouched() throws {
        let (entry, handle) = try createFile("take.wav")
        var changes = AttributeChanges()
        changes.modificationTime = .at(timespec(tv_sec: 1_000_000_000, tv_nsec: 5))
        let set = try fs.setattr(entry.inode.id, changes: changes, handle: handle)
        usleep(20_000)
        let again = try fs.setattr(entry.inode.id, changes: changes, handle: nil)
        XCTAssertEqual(again.st_ctim.tv_sec, set.st_ctim.tv_sec)
        XCTAssertEqual(again.st_ctim.tv_nsec, set.st_ctim.tv_nsec, "the same time again changes nothing, not even ctime")
        changes.modificationTime = .at(timespec(tv_sec: 1_000_000_001, tv_nsec: 5))
        let moved = try fs.setattr(entry.inode.id, changes: changes, handle: nil)
        XCTAssertEqual(moved.st_mtim.tv_sec, 1_000_000_001)
        XCTAssertTrue(moved.st_ctim.tv_sec > set.st_ctim.tv_sec || moved.st_ctim.tv_nsec != set.st_ctim.tv_nsec)
    }

    func testExplicitTimesAreSetWithAndWithoutAHandle() throws {
        let (entry, handle) = try createFile("take.wav")
        var changes = AttributeChanges()
        changes.modificationTime = .at(timespec(tv_sec: 1_000_000_000, tv_nsec: 123_456_789))
        var st = try fs.setattr(entry.inode.id, changes: changes, handle: handle)
        XCTAssertEqual(st.st_mtim.tv_sec, 1_000_000_000)
        XCTAssertEqual(st.st_mtim.tv_nsec, 123_456_789)
        XCTAssertEqual(st.mtimeNanoseconds, 1_000_000_000_123_456_789)
        fs.release(handle)

        changes = AttributeChanges()
        changes.accessTime = .at(timespec(tv_sec: 1_500_000_000, tv_nsec: 0))
        st = try fs.setattr(entry.inode.id, changes: changes, handle: nil)
        XCTAssertEqual(st.st_atim.tv_sec, 1_500_000_000)
        XCTAssertEqual(st.st_mtim.tv_sec, 1_000_000_000, "an omitted time is left alone")
    }

    func testTimeNowUsesTheCurrentTime() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        var changes = AttributeChanges()
        changes.modificationTime = .at(timespec(tv_sec: 100, tv_nsec: 0))
        _ = try fs.setattr(inode.id, changes: changes, handle: nil)
        changes.modificationTime = .now
        let before = time(nil)
        let st = try fs.setattr(inode.id, changes: changes, handle: nil)
        XCTAssertGreaterThanOrEqual(st.st_mtim.tv_sec, before - 1)
    }

    func testTimesOfASymlinkWithoutHandleLeaveTheTargetAlone() throws {
        try makeBackingFile("target.wav")
        try FileManager.default.createSymbolicLink(atPath: backingPath("link"), withDestinationPath: "target.wav")
        var target = stat()
        XCTAssertEqual(lstat(backingPath("target.wav"), &target), 0)
        let link = try lookupPath("link")
        var changes = AttributeChanges()
        changes.modificationTime = .at(timespec(tv_sec: 100, tv_nsec: 0))
        _ = try fs.setattr(link.id, changes: changes, handle: nil)
        var after = stat()
        XCTAssertEqual(lstat(backingPath("target.wav"), &after), 0)
        XCTAssertEqual(after.st_mtim.tv_sec, target.st_mtim.tv_sec)
    }

    func testTruncateToLargerSizeExtendsWithZeros() throws {
        try makeBackingFile("take.wav", contents: "ab")
        let inode = try lookupPath("take.wav")
        var changes = AttributeChanges()
        changes.size = 5
        XCTAssertEqual(try fs.setattr(inode.id, changes: changes, handle: nil).st_size, 5)
        XCTAssertEqual(try backingContents("take.wav"), "ab\0\0\0")
    }

    func testTruncateOfAFolderFailsAndQueuesNothing() throws {
        try makeBackingFolder("sub")
        let folder = try lookupPath("sub")
        var changes = AttributeChanges()
        changes.size = 0
        XCTAssertThrowsErrno(EISDIR, try fs.setattr(folder.id, changes: changes, handle: nil))
        XCTAssertEqual(hooks.calls, [])
    }

    func testStatfsDescribesTheBackingFilesystem() throws {
        let result = try fs.statfs(Self.rootID)
        var expected = statvfs()
        XCTAssertEqual(statvfs(rootURL.path, &expected), 0)
        XCTAssertGreaterThan(result.f_bsize, 0)
        XCTAssertEqual(result.f_bsize, expected.f_bsize)
        XCTAssertEqual(result.f_blocks, expected.f_blocks)
        XCTAssertThrowsErrno(ESTALE, try fs.statfs(777))
    }
}
