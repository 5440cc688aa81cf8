import CSysShims
import Foundation
import XCTest
@testable import RecsyncFS

/// Creating, linking, renaming and removing names, and the paths reported for them.
final class NamespaceTests: PassthroughTestCase {
    // MARK: Lookup

    func testLookupOfAMissingNameIsENOENT() throws {
        XCTAssertThrowsErrno(ENOENT, try fs.lookup(parent: Self.rootID, name: "missing.wav"))
        try makeBackingFolder("sub")
        let sub = try lookupPath("sub")
        XCTAssertThrowsErrno(ENOENT, try fs.lookup(parent: sub.id, name: "missing.wav"))
        XCTAssertEqual(fs.knownInodeCount, 2, "a failed lookup adds no inode")
    }

    func testLookupInsideAFileIsENOTDIR() throws {
        try makeBackingFile("take.wav")
        let file = try lookupPath("take.wav")
        XCTAssertThrowsErrno(ENOTDIR, try fs.lookup(parent: file.id, name: "x"))
    }

    func testLookupReturnsTheBackingAttributes() throws {
        try makeBackingFile("sub/take.wav", contents: "12345")
        let folder = try fs.lookup(parent: Self.rootID, name: "sub")
        XCTAssertTrue(folder.inode.isDirectory)
        XCTAssertEqual(folder.attributes.st_mode & S_IFMT, S_IFDIR)
        let file = try fs.lookup(parent: folder.inode.id, name: "take.wav")
        XCTAssertFalse(file.inode.isDirectory)
        XCTAssertEqual(file.attributes.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(file.attributes.st_size, 5)
        XCTAssertEqual(try fs.getattr(file.inode.id).st_ino, file.attributes.st_ino)
    }

    // MARK: mkdir, mknod, symlink, link

    func testMkdirCreatesAFolderWithoutTellingTheEngine() throws {
        let entry = try fs.mkdir(parent: Self.rootID, name: "session", mode: 0o755, caller: nil)
        XCTAssertTrue(entry.inode.isDirectory)
        XCTAssertEqual(entry.attributes.st_mode & S_IFMT, S_IFDIR)
        var st = stat()
        XCTAssertEqual(lstat(backingPath("session"), &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFDIR)
        XCTAssertEqual(fs.relativePath(of: entry.inode), "session")
        XCTAssertEqual(try lookupPath("session").id, entry.inode.id)
        XCTAssertEqual(hooks.calls, [])
    }

    func testMkdirOfAnExistingNameIsEEXIST() throws {
        try makeBackingFile("taken")
        XCTAssertThrowsErrno(EEXIST, try fs.mkdir(parent: Self.rootID, name: "taken", mode: 0o755, caller: nil))
        XCTAssertEqual(hooks.calls, [])
    }

    func testMkdirGivesTheFolderToTheCallerAndFollowsASetgidParent() throws {
        try XCTSkipUnless(geteuid() == 0, "changing owners needs root")
        let caller = PassthroughFS.Caller(uid: 4321, gid: 8765)
        _ = try fs.mkdir(parent: Self.rootID, name: "plain", mode: 0o755, caller: caller)
        var st = stat()
        XCTAssertEqual(lstat(backingPath("plain"), &st), 0)
        XCTAssertEqual(st.st_uid, 4321)
        XCTAssertEqual(st.st_gid, 8765)

        try makeBackingFolder("shared")
        XCTAssertEqual(chown(backingPath("shared"), 0, 555), 0)
        XCTAssertEqual(chmod(backingPath("shared"), 0o2775), 0)
        let shared = try lookupPath("shared")
        _ = try fs.mkdir(parent: shared.id, name: "inner", mode: 0o755, caller: caller)
        XCTAssertEqual(lstat(backingPath("shared/inner"), &st), 0)
        XCTAssertEqual(st.st_uid, 4321)
        XCTAssertEqual(st.st_gid, 555, "a setgid folder passes its group on")
    }

    func testSpecialFilesAreCreatedAndNeverQueued() throws {
        let made = [("fifo", S_IFIFO | 0o620, dev_t(0)), ("null", S_IFCHR | 0o644, dev_t(0x103)),
                    ("disk", S_IFBLK | 0o600, dev_t(0x800)), ("sock", S_IFSOCK | 0o755, dev_t(0))]
        for (name, mode, rdev) in made {
            let entry = try fs.mknod(parent: Self.rootID, name: name, mode: mode, rdev: rdev, caller: nil)
            XCTAssertEqual(entry.attributes.st_mode, mode, "\(name): type and mode exactly as asked (no umask of the daemon)")
            XCTAssertEqual(entry.attributes.st_rdev, rdev, name)
            var st = stat()
            XCTAssertEqual(lstat(backingPath(name), &st), 0, "\(name) is on the backing disk")
            XCTAssertEqual(st.st_mode, mode, name)
            XCTAssertEqual(try fs.listxattr(entry.inode.id), [], "\(name): no user.* attributes, as on ext4")
        }
        XCTAssertEqual(hooks.calls, [], "special files are never queued")
    }

    func testTheDaemonsUmaskNeverAppliesAndIsRestoredAfterwards() throws {
        let before = umask(0o027)
        defer { umask(before) }
        let (entry, handle) = try fs.create(parent: Self.rootID, name: "g-w.wav", mode: 0o620, flags: O_WRONLY | O_CREAT, caller: nil)
        fs.release(handle)
        XCTAssertEqual(entry.attributes.st_mode & 0o7777, 0o620, "the mode the kernel sent, exactly")
        _ = try fs.mkdir(parent: Self.rootID, name: "shared", mode: 0o1775 | S_IFDIR, caller: nil)
        var st = stat()
        XCTAssertEqual(lstat(backingPath("shared"), &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o1775)
        XCTAssertEqual(umask(0o027), 0o027, "the thread's umask is back once the call returns")
    }

    func testSetGroupIDIsDroppedOnlyForAWriterOutsideTheGroup() throws {
        func file(_ name: String, mode: mode_t) throws -> Inode {
            try makeBackingFile(name, contents: "x")
            XCTAssertEqual(chown(backingPath(name), 4321, 555), 0)
            XCTAssertEqual(chmod(backingPath(name), mode), 0)
            return try lookupPath(name)
        }
        func mode(_ name: String) -> mode_t {
            var st = stat()
            _ = lstat(backingPath(name), &st)
            return st.st_mode & 0o7777
        }
        let stranger = PassthroughFS.Caller(uid: 777, gid: 777, groups: { [777] })
        let member = PassthroughFS.Caller(uid: 777, gid: 777, groups: { [777, 555] })
        let unknown = PassthroughFS.Caller(uid: 777, gid: 777, groups: { nil })
        let written = try file("written", mode: 0o2666)
        _ = try fs.setattr(written.id, changes: AttributeChanges(), handle: nil, caller: member)
        XCTAssertEqual(mode("written"), 0o2666, "a member of the group keeps the bit")
        _ = try fs.setattr(written.id, changes: AttributeChanges(), handle: nil, caller: unknown)
        XCTAssertEqual(mode("written"), 0o2666, "groups that cannot be read decide nothing")
        _ = try fs.setattr(written.id, changes: AttributeChanges(), handle: nil, caller: stranger)
        XCTAssertEqual(mode("written"), 0o666, "a write by someone outside the group drops it, as on ext4")

        let readOnly = try file("read-only", mode: 0o2644)
        _ = try fs.setattr(readOnly.id, changes: AttributeChanges(), handle: nil, caller: stranger)
        XCTAssertEqual(mode("read-only"), 0o2644, "chown(-1, -1) by someone who may not write changes nothing")

        let truncated = try file("truncated", mode: 0o2666)
        var shorter = AttributeChanges()
        shorter.size = 0
        _ = try fs.setattr(truncated.id, changes: shorter, handle: nil, caller: stranger)
        XCTAssertEqual(mode("truncated"), 0o666)
        XCTAssertEqual(try backingSize("truncated"), 0)
    }

    func testMknodOfARegularFileCreatesAndQueuesIt() throws {
        try makeBackingFolder("sub")
        let sub = try lookupPath("sub")
        let entry = try fs.mknod(parent: sub.id, name: "empty.wav", mode: S_IFREG | 0o644, rdev: 0, caller: nil)
        XCTAssertEqual(entry.attributes.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(try backingSize("sub/empty.wav"), 0)
        XCTAssertEqual(hooks.calls, [.beingWritten("sub/empty.wav"), .written("sub/empty.wav", stillOpen: false)])
    }

    func testMknodOfAnExistingNameIsEEXIST() throws {
        try makeBackingFile("take.wav", contents: "keep")
        XCTAssertThrowsErrno(EEXIST, try fs.mknod(parent: Self.rootID, name: "take.wav", mode: S_IFREG | 0o644, rdev: 0, caller: nil))
        XCTAssertEqual(try backingContents("take.wav"), "keep")
        XCTAssertEqual(hooks.calls, [])
    }

    func testSymlinkIsCreatedAndNotFollowed() throws {
        let entry = try fs.symlink(target: "elsewhere/take.wav", parent: Self.rootID, name: "link", caller: nil)
        XCTAssertEqual(entry.attributes.st_mode & S_IFMT, S_IFLNK)
        XCTAssertFalse(entry.inode.isDirectory)
        XCTAssertEqual(try fs.readlink(entry.inode.id), "elsewhere/take.wav")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: backingPath("link")), "elsewhere/take.wav")
        XCTAssertEqual(hooks.calls, [])
    }

    func testLookupOfASymlinkToAFolderDoesNotFollowIt() throws {
        try makeBackingFolder("real")
        try FileManager.default.createSymbolicLink(atPath: backingPath("alias"), withDestinationPath: "real")
        let entry = try fs.lookup(parent: Self.rootID, name: "alias")
        XCTAssertEqual(entry.attributes.st_mode & S_IFMT, S_IFLNK)
        XCTAssertFalse(entry.inode.isDirectory)
        XCTAssertNotEqual(entry.inode.id, try lookupPath("real").id)
    }

    func testHardLinkSharesTheInode() throws {
        try makeBackingFile("a.wav", contents: "shared")
        try makeBackingFolder("sub")
        let original = try lookupPath("a.wav")
        let sub = try lookupPath("sub")
        let linked = try fs.link(original.id, newParent: sub.id, newName: "b.wav")
        XCTAssertEqual(linked.inode.id, original.id)
        XCTAssertEqual(linked.attributes.st_nlink, 2)
        XCTAssertEqual(try backingContents("sub/b.wav"), "shared")
        XCTAssertEqual(hooks.calls, [])
        XCTAssertThrowsErrno(EEXIST, try fs.link(original.id, newParent: sub.id, newName: "b.wav"))
    }

    // MARK: unlink and rmdir

    func testUnlinkRemovesTheFileAndReportsItsPath() throws {
        try makeBackingFile("sub/x.wav", contents: "data")
        let sub = try lookupPath("sub")
        try fs.unlink(parent: sub.id, name: "x.wav")
        XCTAssertFalse(backingExists("sub/x.wav"))
        XCTAssertEqual(hooks.calls, [.removed("sub/x.wav", isDirectory: false)])
    }

    func testUnlinkAtTheRootReportsAPathWithoutSlash() throws {
        try makeBackingFile("x.wav")
        try fs.unlink(parent: Self.rootID, name: "x.wav")
        XCTAssertEqual(hooks.calls, [.removed("x.wav", isDirectory: false)])
    }

    func testUnlinkOfAMissingFileIsENOENTAndReportsNothing() throws {
        XCTAssertThrowsErrno(ENOENT, try fs.unlink(parent: Self.rootID, name: "missing.wav"))
        XCTAssertEqual(hooks.calls, [])
    }

    func testUnlinkOfAFolderFailsAndReportsNothing() throws {
        try makeBackingFolder("sub")
        XCTAssertThrowsErrno(EISDIR, try fs.unlink(parent: Self.rootID, name: "sub"))
        XCTAssertTrue(backingExists("sub"))
        XCTAssertEqual(hooks.calls, [])
    }

    func testUnlinkOfASymlinkRemovesOnlyTheLink() throws {
        try makeBackingFile("target.wav", contents: "keep")
        try FileManager.default.createSymbolicLink(atPath: backingPath("link"), withDestinationPath: "target.wav")
        try fs.unlink(parent: Self.rootID, name: "link")
        XCTAssertFalse(backingExists("link"))
        XCTAssertEqual(try backingContents("target.wav"), "keep")
        XCTAssertEqual(hooks.calls, [.removed("link", isDirectory: false)])
    }

    func testUnlinkHookFailureIsReportedAfterTheFileIsGone() throws {
        try makeBackingFile("x.wav")
        hooks.failNextRemove(with: FSError(EIO, "queue unavailable"))
        XCTAssertThrowsErrno(EIO, try fs.unlink(parent: Self.rootID, name: "x.wav"))
        XCTAssertFalse(backingExists("x.wav"))
        XCTAssertEqual(hooks.calls, [.removed("x.wav", isDirectory: false)])
    }

    func testRmdirRemovesAnEmptyFolderAndReportsIt() throws {
        try makeBackingFolder("a/b")
        let a = try lookupPath("a")
        try fs.rmdir(parent: a.id, name: "b")
        XCTAssertFalse(backingExists("a/b"))
        try fs.rmdir(parent: Self.rootID, name: "a")
        XCTAssertFalse(backingExists("a"))
        XCTAssertEqual(hooks.calls, [.removed("a/b", isDirectory: true), .removed("a", isDirectory: true)])
    }

    func testRmdirOfANonEmptyFolderIsENOTEMPTY() throws {
        try makeBackingFile("sub/take.wav")
        XCTAssertThrowsErrno(ENOTEMPTY, try fs.rmdir(parent: Self.rootID, name: "sub"))
        XCTAssertTrue(backingExists("sub/take.wav"))
        XCTAssertEqual(hooks.calls, [])
    }

    func testRmdirOfAFileIsENOTDIR() throws {
        try makeBackingFile("take.wav")
        XCTAssertThrowsErrno(ENOTDIR, try fs.rmdir(parent: Self.rootID, name: "take.wav"))
        XCTAssertThrowsErrno(ENOENT, try fs.rmdir(parent: Self.rootID, name: "missing"))
        XCTAssertTrue(backingExists("take.wav"))
        XCTAssertEqual(hooks.calls, [])
    }

    // MARK: rename

    func testRenameInTheSameFolder() throws {
        try makeBackingFile("sub/a.wav", contents: "A")
        let sub = try lookupPath("sub")
        try fs.rename(parent: sub.id, name: "a.wav", newParent: sub.id, newName: "b.wav", flags: 0)
        XCTAssertFalse(backingExists("sub/a.wav"))
        XCTAssertEqual(try backingContents("sub/b.wav"), "A")
        XCTAssertEqual(hooks.calls, [.renamed(from: "sub/a.wav", to: "sub/b.wav", isDirectory: false)])
    }

    func testRenameAcrossFolders() throws {
        try makeBackingFile("in/a.wav", contents: "A")
        try makeBackingFolder("out/deep")
        let source = try lookupPath("in")
        let target = try lookupPath("out/deep")
        try fs.rename(parent: source.id, name: "a.wav", newParent: target.id, newName: "a.wav", flags: 0)
        XCTAssertEqual(try backingContents("out/deep/a.wav"), "A")
        try fs.rename(parent: target.id, name: "a.wav", newParent: Self.rootID, newName: "top.wav", flags: 0)
        XCTAssertEqual(hooks.calls, [
            .renamed(from: "in/a.wav", to: "out/deep/a.wav", isDirectory: false),
            .renamed(from: "out/deep/a.wav", to: "top.wav", isDirectory: false),
        ])
    }

    func testRenameOfAFolderReportsADirectoryAndMovesItsChildren() throws {
        try makeBackingFile("2024/take.wav", contents: "A")
        let child = try lookupPath("2024/take.wav")
        XCTAssertEqual(fs.relativePath(of: child), "2024/take.wav")
        try fs.rename(parent: Self.rootID, name: "2024", newParent: Self.rootID, newName: "archive", flags: 0)
        XCTAssertEqual(hooks.calls, [.renamed(from: "2024", to: "archive", isDirectory: true)])
        XCTAssertEqual(fs.relativePath(of: child), "archive/take.wav")
    }

    func testRenameOverAnExistingFileReplacesIt() throws {
        try makeBackingFile("new.wav", contents: "new")
        try makeBackingFile("old.wav", contents: "old")
        try fs.rename(parent: Self.rootID, name: "new.wav", newParent: Self.rootID, newName: "old.wav", flags: 0)
        XCTAssertEqual(try backingContents("old.wav"), "new")
        XCTAssertFalse(backingExists("new.wav"))
        XCTAssertEqual(hooks.calls, [.renamed(from: "new.wav", to: "old.wav", isDirectory: false)])
    }

    func testRenameNoReplaceRefusesAnExistingTarget() throws {
        try makeBackingFile("new.wav", contents: "new")
        try makeBackingFile("old.wav", contents: "old")
        let noReplace = UInt32(recsync_RENAME_NOREPLACE)
        XCTAssertThrowsErrno(EEXIST, try fs.rename(parent: Self.rootID, name: "new.wav", newParent: Self.rootID,
                                                    newName: "old.wav", flags: noReplace))
        XCTAssertEqual(try backingContents("new.wav"), "new")
        XCTAssertEqual(try backingContents("old.wav"), "old")
        XCTAssertEqual(hooks.calls, [])

        try fs.rename(parent: Self.rootID, name: "new.wav", newParent: Self.rootID, newName: "free.wav", flags: noReplace)
        XCTAssertEqual(try backingContents("free.wav"), "new")
        XCTAssertEqual(hooks.calls, [.renamed(from: "new.wav", to: "free.wav", isDirectory: false)])
    }

    func testRenameExchangeSwapsTheTwoNamesAndReportsBoth() throws {
        try makeBackingFile("a.wav", contents: "A")
        try makeBackingFolder("sub")
        try makeBackingFile("sub/b.wav", contents: "B")
        let sub = try lookupPath("sub")
        try fs.rename(parent: Self.rootID, name: "a.wav", newParent: sub.id, newName: "b.wav", flags: UInt32(recsync_RENAME_EXCHANGE))
        XCTAssertEqual(try backingContents("a.wav"), "B")
        XCTAssertEqual(try backingContents("sub/b.wav"), "A")
        XCTAssertEqual(hooks.calls, [.exchanged("a.wav", "sub/b.wav")])
        XCTAssertEqual(hooks.reportsOutsideNamespaceChange, [])
        XCTAssertThrowsErrno(ENOENT, try fs.rename(parent: Self.rootID, name: "a.wav", newParent: Self.rootID,
                                                    newName: "missing.wav", flags: UInt32(recsync_RENAME_EXCHANGE)))
    }

    func testRenameOfAMissingSourceIsENOENT() throws {
        XCTAssertThrowsErrno(ENOENT, try fs.rename(parent: Self.rootID, name: "missing.wav", newParent: Self.rootID,
                                                    newName: "b.wav", flags: 0))
        XCTAssertFalse(backingExists("b.wav"))
        XCTAssertEqual(hooks.calls, [])
    }

    func testRenameOfAFolderOverANonEmptyFolderIsENOTEMPTY() throws {
        try makeBackingFolder("a")
        try makeBackingFile("b/keep.wav")
        XCTAssertThrowsErrno(ENOTEMPTY, try fs.rename(parent: Self.rootID, name: "a", newParent: Self.rootID,
                                                       newName: "b", flags: 0))
        XCTAssertTrue(backingExists("b/keep.wav"))
        XCTAssertEqual(hooks.calls, [])
    }

    func testRenameOntoItselfReportsNothing() throws {
        try makeBackingFile("a.wav", contents: "A")
        try fs.rename(parent: Self.rootID, name: "a.wav", newParent: Self.rootID, newName: "a.wav", flags: 0)
        XCTAssertEqual(try backingContents("a.wav"), "A")
        XCTAssertEqual(hooks.calls, [])
    }

    func testNamesChangeInsideTheEnginesNamespaceLock() throws {
        try makeBackingFile("sub/a.wav")
        try makeBackingFolder("empty")
        let sub = try lookupPath("sub")
        try fs.rename(parent: sub.id, name: "a.wav", newParent: sub.id, newName: "b.wav", flags: 0)
        try fs.unlink(parent: sub.id, name: "b.wav")
        try fs.rmdir(parent: Self.rootID, name: "empty")
        XCTAssertEqual(hooks.calls, [
            .renamed(from: "sub/a.wav", to: "sub/b.wav", isDirectory: false),
            .removed("sub/b.wav", isDirectory: false),
            .removed("empty", isDirectory: true),
        ])
        XCTAssertEqual(hooks.namespaceChanges, 3)
        XCTAssertEqual(hooks.reportsOutsideNamespaceChange, [],
                       "the system call and its report must happen under one namespaceChange")
    }

    // MARK: relativePath

    func testRelativePathOfTheRootIsEmpty() {
        XCTAssertEqual(fs.relativePath(of: fs.root), "")
    }

    func testRelativePathOfNestedItems() throws {
        try makeBackingFile("a/b/c.wav")
        XCTAssertEqual(fs.relativePath(of: try lookupPath("a")), "a")
        XCTAssertEqual(fs.relativePath(of: try lookupPath("a/b")), "a/b")
        XCTAssertEqual(fs.relativePath(of: try lookupPath("a/b/c.wav")), "a/b/c.wav")
    }

    func testRelativePathFollowsRenames() throws {
        try makeBackingFile("a/b/c.wav")
        let file = try lookupPath("a/b/c.wav")
        let b = try lookupPath("a/b")
        try fs.rename(parent: b.id, name: "c.wav", newParent: Self.rootID, newName: "d.wav", flags: 0)
        XCTAssertEqual(fs.relativePath(of: file), "d.wav")
        XCTAssertEqual(try lookupPath("d.wav").id, file.id, "a renamed file keeps its inode")
    }

    func testRelativePathOfADeletedItemIsNil() throws {
        try makeBackingFile("a/b/c.wav")
        let file = try lookupPath("a/b/c.wav")
        let folder = try lookupPath("a/b")
        try fs.unlink(parent: folder.id, name: "c.wav")
        XCTAssertNil(fs.relativePath(of: file))
        try fs.rmdir(parent: try lookupPath("a").id, name: "b")
        XCTAssertNil(fs.relativePath(of: folder))
    }

    func testRelativePathOfANameThatEndsLikeADeletedFile() throws {
        try makeBackingFile("take (deleted)")
        let file = try lookupPath("take (deleted)")
        XCTAssertEqual(fs.relativePath(of: file), "take (deleted)")
        try fs.unlink(parent: Self.rootID, name: "take (deleted)")
        XCTAssertNil(fs.relativePath(of: file))
    }

    func testRelativePathOfADeletedFileIgnoresADifferentFileNamedLikeTheMarker() throws {
        try makeBackingFile("take")
        let file = try lookupPath("take")
        try fs.unlink(parent: Self.rootID, name: "take")
        try makeBackingFile("take (deleted)")
        XCTAssertNil(fs.relativePath(of: file))
    }

    func testRelativePathKeepsSpacesAndUnicode() throws {
        try makeBackingFile("Séance 1/take (2).wav")
        XCTAssertEqual(fs.relativePath(of: try lookupPath("Séance 1/take (2).wav")), "Séance 1/take (2).wav")
    }

    func testRootOpenedWithOPathWorks() throws {
        let other = try makeTemporaryDirectory(self)
        let otherHooks = RecordingHooks()
        let pathFS = try makeFS(rootURL: other, hooks: otherHooks, flags: recsync_O_PATH | recsync_O_DIRECTORY)
        let (entry, handle) = try pathFS.create(parent: 1, name: "take.wav", mode: 0o644, flags: O_WRONLY | O_CREAT, caller: nil)
        XCTAssertEqual(pathFS.relativePath(of: entry.inode), "take.wav")
        try pathFS.flush(handle)
        pathFS.release(handle)
        XCTAssertEqual(otherHooks.calls, [
            .beingWritten("take.wav"), .written("take.wav", stillOpen: true), .writersReleased("take.wav"),
        ])
        XCTAssertTrue(FileManager.default.fileExists(atPath: other.appendingPathComponent("take.wav").path))
    }
}
