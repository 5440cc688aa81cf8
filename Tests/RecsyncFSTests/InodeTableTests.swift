import Foundation
import XCTest
@testable import RecsyncFS

/// Inode numbers, lookup counts and forget.
final class InodeTableTests: PassthroughTestCase {
    func testAFreshCoreKnowsOnlyTheRoot() throws {
        XCTAssertEqual(fs.knownInodeCount, 1)
        XCTAssertEqual(fs.root.id, 1)
        XCTAssertTrue(fs.root.isDirectory)
        XCTAssertTrue(try fs.inode(1) === fs.root)
    }

    func testLookingUpTheSameFileTwiceGivesTheSameInode() throws {
        try makeBackingFile("take.wav")
        let first = try fs.lookup(parent: Self.rootID, name: "take.wav")
        let second = try fs.lookup(parent: Self.rootID, name: "take.wav")
        XCTAssertEqual(first.inode.id, second.inode.id)
        XCTAssertTrue(first.inode === second.inode)
        XCTAssertNotEqual(first.inode.id, Self.rootID)
        XCTAssertEqual(fs.knownInodeCount, 2)
        XCTAssertEqual(first.inode.lookupCount, 2)
    }

    func testDifferentFilesGetDifferentInodes() throws {
        try makeBackingFile("a.wav")
        try makeBackingFile("b.wav")
        let a = try lookupPath("a.wav")
        let b = try lookupPath("b.wav")
        XCTAssertNotEqual(a.id, b.id)
        XCTAssertEqual(fs.knownInodeCount, 3)
    }

    func testForgetDropsTheInodeWhenItsCountReachesZero() throws {
        try makeBackingFile("take.wav")
        let id = try fs.lookup(parent: Self.rootID, name: "take.wav").inode.id
        _ = try fs.lookup(parent: Self.rootID, name: "take.wav")
        _ = try fs.lookup(parent: Self.rootID, name: "take.wav")

        fs.forget(id, count: 2)
        XCTAssertEqual(fs.knownInodeCount, 2, "one lookup reference remains")
        XCTAssertEqual(try fs.inode(id).lookupCount, 1)
        XCTAssertNoThrow(try fs.getattr(id))

        fs.forget(id, count: 1)
        XCTAssertEqual(fs.knownInodeCount, 1)
        XCTAssertThrowsErrno(ESTALE, try fs.inode(id))
        XCTAssertThrowsErrno(ESTALE, try fs.getattr(id))
        XCTAssertThrowsErrno(ESTALE, try fs.open(id, flags: O_RDONLY))
    }

    func testForgetClosesTheBackingDescriptor() throws {
        try makeBackingFile("take.wav")
        let inode = try lookupPath("take.wav")
        XCTAssertNotEqual(fcntl(inode.fd, F_GETFD), -1)
        fs.forget(inode.id, count: 1)
        XCTAssertEqual(fcntl(inode.fd, F_GETFD), -1, "the O_PATH descriptor must be closed")
        XCTAssertEqual(errno, EBADF)
    }

    func testLookupAfterForgetGivesAFreshInode() throws {
        try makeBackingFile("take.wav")
        let old = try lookupPath("take.wav")
        fs.forget(old.id, count: 1)
        let new = try lookupPath("take.wav")
        XCTAssertNotEqual(new.id, old.id, "inode numbers are not reused while the kernel may still hold the old one")
        XCTAssertEqual(new.lookupCount, 1)
        XCTAssertEqual(fs.relativePath(of: new), "take.wav")
    }

    func testForgettingTheRootIsIgnored() throws {
        fs.forget(Self.rootID, count: 1)
        XCTAssertEqual(fs.knownInodeCount, 1)
        XCTAssertTrue(try fs.inode(Self.rootID) === fs.root)
        XCTAssertNoThrow(try fs.getattr(Self.rootID))
    }

    func testForgettingAnUnknownInodeIsHarmless() throws {
        fs.forget(999, count: 1)
        XCTAssertEqual(fs.knownInodeCount, 1)
    }

    func testUnknownInodeIsESTALEEverywhere() {
        XCTAssertThrowsErrno(ESTALE, try fs.inode(0))
        XCTAssertThrowsErrno(ESTALE, try fs.lookup(parent: 55, name: "x"))
        XCTAssertThrowsErrno(ESTALE, try fs.create(parent: 55, name: "x", mode: 0o644, flags: O_WRONLY, caller: nil))
        XCTAssertThrowsErrno(ESTALE, try fs.mkdir(parent: 55, name: "x", mode: 0o755, caller: nil))
        XCTAssertThrowsErrno(ESTALE, try fs.unlink(parent: 55, name: "x"))
        XCTAssertThrowsErrno(ESTALE, try fs.rmdir(parent: 55, name: "x"))
        XCTAssertThrowsErrno(ESTALE, try fs.rename(parent: 55, name: "x", newParent: 1, newName: "y", flags: 0))
        XCTAssertThrowsErrno(ESTALE, try fs.setattr(55, changes: AttributeChanges(), handle: nil))
        XCTAssertEqual(hooks.calls, [])
    }

    func testEveryCallThatReturnsAnEntryTakesOneReference() throws {
        let (created, handle) = try createFile("take.wav")
        fs.release(handle)
        let folder = try fs.mkdir(parent: Self.rootID, name: "sub", mode: 0o755, caller: nil)
        let node = try fs.mknod(parent: Self.rootID, name: "empty.wav", mode: S_IFREG | 0o644, rdev: 0, caller: nil)
        let link = try fs.symlink(target: "take.wav", parent: Self.rootID, name: "link", caller: nil)
        for entry in [created, folder, node, link] {
            XCTAssertEqual(entry.inode.lookupCount, 1, "\(fs.relativePath(of: entry.inode) ?? "?")")
        }
        XCTAssertEqual(fs.knownInodeCount, 5)

        let hardLink = try fs.link(created.inode.id, newParent: folder.inode.id, newName: "again.wav")
        XCTAssertTrue(hardLink.inode === created.inode)
        XCTAssertEqual(created.inode.lookupCount, 2)
        XCTAssertEqual(fs.knownInodeCount, 5)

        for entry in [created, folder, node, link] { fs.forget(entry.inode.id, count: entry.inode.lookupCount) }
        XCTAssertEqual(fs.knownInodeCount, 1)
    }

    func testRenamedFileKeepsItsInode() throws {
        try makeBackingFile("a.wav")
        try makeBackingFolder("sub")
        let file = try lookupPath("a.wav")
        let sub = try lookupPath("sub")
        try fs.rename(parent: Self.rootID, name: "a.wav", newParent: sub.id, newName: "b.wav", flags: 0)
        XCTAssertTrue(try lookupPath("sub/b.wav") === file)
        XCTAssertEqual(file.lookupCount, 2)
    }

    func testAnOpenHandleOutlivesForget() throws {
        // The kernel may forget an inode while a handle to it is still open (after unlink).
        let (entry, handle) = try createFile("take.wav", flags: O_RDWR | O_CREAT)
        try write(handle, "data")
        try fs.unlink(parent: Self.rootID, name: "take.wav")
        fs.forget(entry.inode.id, count: 1)
        XCTAssertEqual(fs.knownInodeCount, 1)
        XCTAssertEqual(try readAll(handle), "data")
        try fs.flush(handle)
        fs.release(handle)
        XCTAssertEqual(hooks.calls, [.beingWritten("take.wav"), .removed("take.wav", isDirectory: false)])
    }

    func testConcurrentLookupsAgreeOnOneInode() throws {
        try makeBackingFile("take.wav")
        let fs = self.fs!
        let ids = FailureBox()
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            for _ in 0..<50 {
                do { ids.add(String(try fs.lookup(parent: 1, name: "take.wav").inode.id)) } catch { ids.add("error \(error)") }
            }
        }
        XCTAssertEqual(Set(ids.all).count, 1, "\(Set(ids.all))")
        XCTAssertEqual(ids.all.count, 800)
        let inode = try lookupPath("take.wav")
        XCTAssertEqual(inode.lookupCount, 801)
        XCTAssertEqual(fs.knownInodeCount, 2)
        fs.forget(inode.id, count: 801)
        XCTAssertEqual(fs.knownInodeCount, 1)
    }
}
