import Foundation
import XCTest
@testable import RecsyncFS

/// When a changed file is handed to the sync engine: the contract between the core and
/// `SyncHooks.fileIsBeingWritten`, `fileWasWritten` and `fileWritersReleased`.
final class WriteTrackingTests: PassthroughTestCase {
    // MARK: One writer

    func testCreateWriteCloseQueuesAtFlushAndReportsReleaseAfterwards() throws {
        let (entry, handle) = try createFile("take1.wav")
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take1.wav")])

        try write(handle, "RIFF")
        XCTAssertEqual(hooks.takeCalls(), [], "only the first change is reported")

        try fs.flush(handle)
        XCTAssertEqual(hooks.takeCalls(), [.written("take1.wav", stillOpen: true)])

        fs.release(handle)
        XCTAssertEqual(hooks.takeCalls(), [.writersReleased("take1.wav")])
        XCTAssertEqual(try backingContents("take1.wav"), "RIFF")
        XCTAssertFalse(entry.inode.isDirectory)
    }

    func testBeingWrittenIsReportedOncePerQueueing() throws {
        let (entry, handle) = try createFile("take.wav")
        for index in 0..<5 { try write(handle, "x", at: Int64(index)) }
        try fs.flush(handle)
        fs.release(handle)
        XCTAssertEqual(hooks.takeCalls(), [
            .beingWritten("take.wav"), .written("take.wav", stillOpen: true), .writersReleased("take.wav"),
        ])

        let again = try fs.open(entry.inode.id, flags: O_WRONLY)
        XCTAssertEqual(hooks.takeCalls(), [], "opening for writing is not a change")
        try write(again, "y", at: 5)
        try write(again, "z", at: 6)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav")])
        try fs.flush(again)
        fs.release(again)
        XCTAssertEqual(hooks.takeCalls(), [.written("take.wav", stillOpen: true), .writersReleased("take.wav")])
        XCTAssertEqual(try backingContents("take.wav"), "xxxxxyz")
    }

    func testWriterWithoutChangesQueuesNothing() throws {
        try makeBackingFile("old.wav", contents: "data")
        let inode = try lookupPath("old.wav")
        let handle = try fs.open(inode.id, flags: O_WRONLY)
        try fs.flush(handle)
        fs.release(handle)
        XCTAssertEqual(hooks.calls.filter {
            if case .written = $0 { return true }
            if case .beingWritten = $0 { return true }
            return false
        }, [])
        XCTAssertEqual(try backingContents("old.wav"), "data")
    }

    func testOpenWithTruncateCountsAsAChange() throws {
        try makeBackingFile("old.wav", contents: "previous take")
        let inode = try lookupPath("old.wav")
        let handle = try fs.open(inode.id, flags: O_WRONLY | O_TRUNC)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("old.wav")])
        XCTAssertEqual(try backingSize("old.wav"), 0)
        try fs.flush(handle)
        fs.release(handle)
        XCTAssertEqual(hooks.takeCalls(), [.written("old.wav", stillOpen: true), .writersReleased("old.wav")])
    }

    func testReadOnlyOpenWithTruncateIsAWriter() throws {
        try makeBackingFile("old.wav", contents: "previous take")
        let inode = try lookupPath("old.wav")
        let handle = try fs.open(inode.id, flags: O_RDONLY | O_TRUNC)
        XCTAssertTrue(handle.isWriter)
        XCTAssertEqual(try backingSize("old.wav"), 0)
        try fs.flush(handle)
        fs.release(handle)
        XCTAssertEqual(hooks.takeCalls(), [
            .beingWritten("old.wav"), .written("old.wav", stillOpen: true), .writersReleased("old.wav"),
        ])
    }

    func testReleaseWithoutFlushQueuesAsNoLongerOpen() throws {
        let (_, handle) = try createFile("take.wav")
        try write(handle, "data")
        fs.release(handle)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav"), .written("take.wav", stillOpen: false)],
                       "the release queued the file itself, so no separate writersReleased")
    }

    func testNoteWrittenMarksTheFileChanged() throws {
        try makeBackingFile("spliced.wav", contents: "")
        let inode = try lookupPath("spliced.wav")
        let handle = try fs.open(inode.id, flags: O_WRONLY)
        XCTAssertEqual(pwrite(handle.fd, "abc", 3, 0), 3)
        fs.noteWritten(handle)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("spliced.wav")])
        try fs.flush(handle)
        XCTAssertEqual(hooks.takeCalls(), [.written("spliced.wav", stillOpen: true)])
        fs.release(handle)
    }

    // MARK: Duplicated descriptors (one handle flushed more than once)

    func testWriteBetweenTwoClosesOfADuplicatedDescriptorQueuesAgain() throws {
        let (_, handle) = try createFile("dup.wav")
        try write(handle, "one")
        try fs.flush(handle)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("dup.wav"), .written("dup.wav", stillOpen: true)])

        try write(handle, "two", at: 3)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("dup.wav")])
        try fs.flush(handle)
        XCTAssertEqual(hooks.takeCalls(), [.written("dup.wav", stillOpen: true)])

        fs.release(handle)
        XCTAssertEqual(hooks.takeCalls(), [.writersReleased("dup.wav")])
        XCTAssertEqual(try backingContents("dup.wav"), "onetwo")
    }

    func testWriteAfterEveryCloseOfADuplicatedDescriptorQueuesAtRelease() throws {
        let (_, handle) = try createFile("dup.wav")
        try write(handle, "one")
        try fs.flush(handle)
        try fs.flush(handle)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("dup.wav"), .written("dup.wav", stillOpen: true)],
                       "a second close without new writes queues nothing")

        try write(handle, "two", at: 3)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("dup.wav")])
        fs.release(handle)
        XCTAssertEqual(hooks.takeCalls(), [.written("dup.wav", stillOpen: false)])
    }

    func testWriteAfterFirstCloseOfADuplicatedDescriptorQueuesAtRelease() throws {
        // close(fd1) flushes; fd2 writes and the process exits without a second flush reaching us.
        let (_, handle) = try createFile("dup.wav")
        try write(handle, "one")
        try fs.flush(handle)
        try write(handle, "two", at: 3)
        fs.release(handle)
        XCTAssertEqual(hooks.takeCalls(), [
            .beingWritten("dup.wav"), .written("dup.wav", stillOpen: true),
            .beingWritten("dup.wav"), .written("dup.wav", stillOpen: false),
        ])
    }

    // MARK: Several writers

    func testTwoWritersQueueOnlyWhenBothAreFlushed() throws {
        let (entry, first) = try createFile("shared.wav")
        let second = try fs.open(entry.inode.id, flags: O_WRONLY)
        try write(first, "aa")
        try fs.flush(first)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("shared.wav")], "the second writer is still open")

        try write(second, "bb", at: 2)
        XCTAssertEqual(hooks.takeCalls(), [])
        try fs.flush(second)
        XCTAssertEqual(hooks.takeCalls(), [.written("shared.wav", stillOpen: true)])

        fs.release(first)
        XCTAssertEqual(hooks.takeCalls(), [], "one writer handle is still open")
        fs.release(second)
        XCTAssertEqual(hooks.takeCalls(), [.writersReleased("shared.wav")])
        XCTAssertEqual(try backingContents("shared.wav"), "aabb")
    }

    func testClosingOneHandleTwiceDoesNotCountForTheOtherWriter() throws {
        let (entry, first) = try createFile("shared.wav")
        let second = try fs.open(entry.inode.id, flags: O_WRONLY)
        try write(first, "data")
        try fs.flush(first)
        try fs.flush(first)
        try fs.flush(first)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("shared.wav")],
                       "the second writer was never closed, however often the first one is")
        try fs.flush(second)
        XCTAssertEqual(hooks.takeCalls(), [.written("shared.wav", stillOpen: true)])
        fs.release(first)
        fs.release(second)
        XCTAssertEqual(hooks.takeCalls(), [.writersReleased("shared.wav")])
    }

    func testUnchangedSecondWriterStillHoldsTheQueueing() throws {
        let (entry, first) = try createFile("shared.wav")
        try write(first, "data")
        let idle = try fs.open(entry.inode.id, flags: O_RDWR)
        try fs.flush(first)
        fs.release(first)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("shared.wav")])

        try fs.flush(idle)
        XCTAssertEqual(hooks.takeCalls(), [.written("shared.wav", stillOpen: true)])
        fs.release(idle)
        XCTAssertEqual(hooks.takeCalls(), [.writersReleased("shared.wav")])
    }

    func testWriterReleasedWithoutFlushCountsAsClosed() throws {
        let (entry, first) = try createFile("shared.wav")
        let second = try fs.open(entry.inode.id, flags: O_WRONLY)
        try write(first, "data")
        fs.release(first)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("shared.wav")])
        try fs.flush(second)
        XCTAssertEqual(hooks.takeCalls(), [.written("shared.wav", stillOpen: true)])
        fs.release(second)
        XCTAssertEqual(hooks.takeCalls(), [.writersReleased("shared.wav")])
    }

    func testNewWriterAfterQueueingIsTrackedSeparately() throws {
        let (entry, first) = try createFile("take.wav")
        try write(first, "a")
        try fs.flush(first)
        let second = try fs.open(entry.inode.id, flags: O_WRONLY)
        fs.release(first)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav"), .written("take.wav", stillOpen: true)],
                       "a writer is still open, so no writersReleased yet")
        try write(second, "b", at: 1)
        try fs.flush(second)
        fs.release(second)
        XCTAssertEqual(hooks.takeCalls(), [
            .beingWritten("take.wav"), .written("take.wav", stillOpen: true), .writersReleased("take.wav"),
        ])
    }

    func testConcurrentWritersQueueExactlyOnce() throws {
        let (entry, creator) = try createFile("busy.wav")
        let count = 8
        var handles = [creator]
        for _ in 1..<count { handles.append(try fs.open(entry.inode.id, flags: O_WRONLY)) }
        let writers = handles
        let fs = self.fs!
        let failures = FailureBox()
        DispatchQueue.concurrentPerform(iterations: count) { index in
            do {
                let block = [UInt8](repeating: UInt8(ascii: "a") + UInt8(index), count: 1024)
                for round in 0..<20 {
                    let offset = Int64((round * count + index) * block.count)
                    _ = try block.withUnsafeBytes { try fs.write(writers[index], bytes: $0, offset: offset) }
                }
                try fs.flush(writers[index])
                fs.release(writers[index])
            } catch {
                failures.add("\(error)")
            }
        }
        XCTAssertEqual(failures.all, [])
        // The last flush queues while its own handle is still open; the last release follows it.
        XCTAssertEqual(hooks.takeCalls(), [
            .beingWritten("busy.wav"), .written("busy.wav", stillOpen: true), .writersReleased("busy.wav"),
        ])
        XCTAssertEqual(try backingSize("busy.wav"), Int64(count * 20 * 1024))
    }

    // MARK: Readers

    func testReaderNeverQueuesAnything() throws {
        try makeBackingFile("take.wav", contents: "recorded")
        let inode = try lookupPath("take.wav")
        let reader = try fs.open(inode.id, flags: O_RDONLY)
        XCTAssertFalse(reader.isWriter)
        XCTAssertEqual(try readAll(reader), "recorded")
        try fs.flush(reader)
        try fs.flush(reader)
        fs.release(reader)
        XCTAssertEqual(hooks.calls, [])
    }

    func testReaderDoesNotHoldBackAWritersQueueing() throws {
        let (entry, writer) = try createFile("take.wav")
        let reader = try fs.open(entry.inode.id, flags: O_RDONLY)
        try write(writer, "data")
        try fs.flush(writer)
        fs.release(writer)
        XCTAssertEqual(hooks.takeCalls(), [
            .beingWritten("take.wav"), .written("take.wav", stillOpen: true), .writersReleased("take.wav"),
        ])
        XCTAssertEqual(try readAll(reader), "data")
        try fs.flush(reader)
        fs.release(reader)
        XCTAssertEqual(hooks.calls, [])
    }

    // MARK: Truncate through setattr

    func testTruncateWithoutHandleQueuesAtOnce() throws {
        try makeBackingFile("take.wav", contents: "0123456789")
        let inode = try lookupPath("take.wav")
        var changes = AttributeChanges()
        changes.size = 4
        let st = try fs.setattr(inode.id, changes: changes, handle: nil)
        XCTAssertEqual(st.st_size, 4)
        XCTAssertEqual(try backingContents("take.wav"), "0123")
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav"), .written("take.wav", stillOpen: false)])
    }

    func testTruncateWithoutHandleWhileOnlyAReaderIsOpenQueuesAtOnce() throws {
        try makeBackingFile("take.wav", contents: "0123456789")
        let inode = try lookupPath("take.wav")
        let reader = try fs.open(inode.id, flags: O_RDONLY)
        var changes = AttributeChanges()
        changes.size = 0
        _ = try fs.setattr(inode.id, changes: changes, handle: nil)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav"), .written("take.wav", stillOpen: false)])
        fs.release(reader)
        XCTAssertEqual(hooks.calls, [])
    }

    func testTruncateWithoutHandleWaitsForAnOpenWriter() throws {
        let (entry, writer) = try createFile("take.wav")
        try write(writer, "0123456789")
        var changes = AttributeChanges()
        changes.size = 2
        _ = try fs.setattr(entry.inode.id, changes: changes, handle: nil)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav")])
        try fs.flush(writer)
        fs.release(writer)
        XCTAssertEqual(hooks.takeCalls(), [.written("take.wav", stillOpen: true), .writersReleased("take.wav")])
        XCTAssertEqual(try backingContents("take.wav"), "01")
    }

    func testTruncateWithoutHandleAfterCloseButBeforeReleaseQueuesAsStillOpen() throws {
        let (entry, writer) = try createFile("take.wav")
        try write(writer, "0123456789")
        try fs.flush(writer)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav"), .written("take.wav", stillOpen: true)])
        var changes = AttributeChanges()
        changes.size = 5
        _ = try fs.setattr(entry.inode.id, changes: changes, handle: nil)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav"), .written("take.wav", stillOpen: true)])
        fs.release(writer)
        XCTAssertEqual(hooks.takeCalls(), [.writersReleased("take.wav")])
    }

    func testTruncateThroughHandleQueuesAtClose() throws {
        let (entry, writer) = try createFile("take.wav")
        try write(writer, "0123456789")
        var changes = AttributeChanges()
        changes.size = 3
        let st = try fs.setattr(entry.inode.id, changes: changes, handle: writer)
        XCTAssertEqual(st.st_size, 3)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav")])
        try fs.flush(writer)
        XCTAssertEqual(hooks.takeCalls(), [.written("take.wav", stillOpen: true)])
        fs.release(writer)
        XCTAssertEqual(try backingContents("take.wav"), "012")
    }

    func testSetattrWithoutSizeIsNotAChange() throws {
        try makeBackingFile("take.wav", contents: "data")
        let inode = try lookupPath("take.wav")
        var changes = AttributeChanges()
        changes.mode = 0o600
        changes.modificationTime = .now
        _ = try fs.setattr(inode.id, changes: changes, handle: nil)
        XCTAssertEqual(hooks.calls, [])
    }

    // MARK: Files that move or vanish while open

    func testDeletingAFileOpenForWritingNeverQueuesIt() throws {
        let (_, writer) = try createFile("scratch.wav")
        try write(writer, "data")
        try fs.unlink(parent: Self.rootID, name: "scratch.wav")
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("scratch.wav"), .removed("scratch.wav", isDirectory: false)])
        try write(writer, "more", at: 4)
        try fs.flush(writer)
        fs.release(writer)
        XCTAssertEqual(hooks.calls, [], "nothing may be reported for a path that no longer exists")
    }

    func testDeletingAQueuedFileBeforeAnotherWriteReportsNothingMore() throws {
        let (_, writer) = try createFile("scratch.wav")
        try write(writer, "data")
        try fs.flush(writer)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("scratch.wav"), .written("scratch.wav", stillOpen: true)])
        try fs.unlink(parent: Self.rootID, name: "scratch.wav")
        XCTAssertEqual(hooks.takeCalls(), [.removed("scratch.wav", isDirectory: false)])
        try write(writer, "late", at: 4)
        fs.release(writer)
        XCTAssertEqual(hooks.calls, [])
    }

    func testFileRenamedWhileOpenIsQueuedUnderItsNewName() throws {
        try makeBackingFolder("done")
        let done = try lookupPath("done")
        let (_, writer) = try createFile("recording.tmp")
        try write(writer, "data")
        try fs.rename(parent: Self.rootID, name: "recording.tmp", newParent: done.id, newName: "take.wav", flags: 0)
        try fs.flush(writer)
        fs.release(writer)
        XCTAssertEqual(hooks.calls, [
            .beingWritten("recording.tmp"),
            .renamed(from: "recording.tmp", to: "done/take.wav", isDirectory: false),
            .written("done/take.wav", stillOpen: true),
            .writersReleased("done/take.wav"),
        ])
    }

    func testFileWhoseNameEndsLikeADeletedFileIsQueued() throws {
        let (_, writer) = try createFile("take (deleted)")
        try write(writer, "data")
        try fs.flush(writer)
        fs.release(writer)
        XCTAssertEqual(hooks.calls, [
            .beingWritten("take (deleted)"), .written("take (deleted)", stillOpen: true),
            .writersReleased("take (deleted)"),
        ])
    }

    // MARK: Failing hooks

    func testFailingQueueFailsTheCloseAndTheReleaseRetries() throws {
        let (_, writer) = try createFile("take.wav")
        try write(writer, "data")
        struct DiskFull: Error {}
        hooks.failNextWrite(with: DiskFull())
        XCTAssertThrowsErrno(EIO, try fs.flush(writer), "errors other than FSError become EIO")
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav")])
        fs.release(writer)
        XCTAssertEqual(hooks.takeCalls(), [.written("take.wav", stillOpen: false)],
                       "the file is still changed, so the release queues it")
    }

    func testFailingQueueKeepsTheHooksErrno() throws {
        let (_, writer) = try createFile("take.wav")
        try write(writer, "data")
        hooks.failNextWrite(with: FSError(ENOSPC, "queue database is full"))
        XCTAssertThrowsErrno(ENOSPC, try fs.flush(writer))
        try fs.flush(writer)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav"), .written("take.wav", stillOpen: true)],
                       "a second close retries the queueing")
        fs.release(writer)
        XCTAssertEqual(hooks.takeCalls(), [.writersReleased("take.wav")])
    }

    func testHooksMayCallBackIntoTheFilesystem() throws {
        let (entry, creator) = try createFile("take.wav")
        fs.release(creator)
        _ = hooks.takeCalls()

        let fs = self.fs!
        let id = entry.inode.id
        let seen = FailureBox()
        hooks.onCall { call in
            // Would deadlock if the core held one of its locks while calling the hooks.
            if let st = try? fs.getattr(id) { seen.add("\(call): \(st.st_size)") }
            _ = fs.relativePath(of: entry.inode)
            _ = fs.knownInodeCount
        }
        let writer = try fs.open(id, flags: O_WRONLY)
        let done = expectation(description: "write, flush and release return")
        DispatchQueue.global().async {
            _ = try? [UInt8]("data".utf8).withUnsafeBytes { try fs.write(writer, bytes: $0, offset: 0) }
            try? fs.flush(writer)
            fs.release(writer)
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
        XCTAssertEqual(seen.all, [
            "beingWritten(take.wav): 4",
            "written(take.wav, stillOpen: true): 4",
            "writersReleased(take.wav): 4",
        ])
    }

    // MARK: Reading and writing

    func testWriteAndReadAtOffsets() throws {
        let (_, handle) = try createFile("take.wav", flags: O_RDWR | O_CREAT)
        XCTAssertEqual(try write(handle, "hello"), 5)
        XCTAssertEqual(try write(handle, "HE", at: 0), 2)
        XCTAssertEqual(try write(handle, "!", at: 7), 1)
        XCTAssertEqual(try fs.read(handle, size: 100, offset: 0), Array("HEllo\0\0!".utf8))
        XCTAssertEqual(try readAll(handle, size: 3, offset: 1), "Ell")
        XCTAssertEqual(try fs.read(handle, size: 10, offset: 100), [], "reading past the end returns nothing")
        try fs.fsync(handle, dataOnly: false)
        try fs.fsync(handle, dataOnly: true)
        fs.release(handle)
    }

    func testReadOnWriteOnlyHandleFailsWithoutWritebackCache() throws {
        try makeBackingFile("take.wav", contents: "data")
        let inode = try lookupPath("take.wav")
        let handle = try fs.open(inode.id, flags: O_WRONLY)
        XCTAssertThrowsErrno(EBADF, try fs.read(handle, size: 4, offset: 0))
        fs.release(handle)
    }

    func testWritebackCacheOpensWriteOnlyFilesReadable() throws {
        try makeBackingFile("take.wav", contents: "data")
        let inode = try lookupPath("take.wav")
        let handle = try fs.open(inode.id, flags: O_WRONLY, writebackCache: true)
        XCTAssertTrue(handle.isWriter)
        XCTAssertEqual(try readAll(handle), "data")
        fs.release(handle)
    }

    func testAppendIsHonouredWithoutWritebackCache() throws {
        try makeBackingFile("log.txt", contents: "abc")
        let inode = try lookupPath("log.txt")
        let handle = try fs.open(inode.id, flags: O_WRONLY | O_APPEND)
        try write(handle, "XY", at: 0)
        fs.release(handle)
        XCTAssertEqual(try backingContents("log.txt"), "abcXY")
    }

    func testAppendIsLeftToTheKernelWithWritebackCache() throws {
        try makeBackingFile("log.txt", contents: "abc")
        let inode = try lookupPath("log.txt")
        let handle = try fs.open(inode.id, flags: O_WRONLY | O_APPEND, writebackCache: true)
        try write(handle, "XY", at: 3)
        try write(handle, "Z", at: 0)
        fs.release(handle)
        XCTAssertEqual(try backingContents("log.txt"), "ZbcXY", "the core writes at the offset the kernel chose")
    }

    func testCreateWithExclusiveOnExistingFileFailsAndLeavesNoWriterBehind() throws {
        try makeBackingFile("take.wav", contents: "keep")
        XCTAssertThrowsErrno(EEXIST, try createFile("take.wav", flags: O_WRONLY | O_CREAT | O_EXCL))
        XCTAssertEqual(hooks.calls, [])
        XCTAssertEqual(try backingContents("take.wav"), "keep")

        let inode = try lookupPath("take.wav")
        let handle = try fs.open(inode.id, flags: O_WRONLY)
        try write(handle, "K")
        try fs.flush(handle)
        XCTAssertEqual(hooks.takeCalls(), [.beingWritten("take.wav"), .written("take.wav", stillOpen: true)],
                       "the failed create must not count as an open writer")
        fs.release(handle)
    }

    func testCreateInNestedFolderReportsTheRelativePath() throws {
        try makeBackingFolder("2024/session 1")
        let folder = try lookupPath("2024/session 1")
        let (_, handle) = try createFile("take 1.wav", in: folder.id)
        try fs.flush(handle)
        fs.release(handle)
        XCTAssertEqual(hooks.calls, [
            .beingWritten("2024/session 1/take 1.wav"),
            .written("2024/session 1/take 1.wav", stillOpen: true),
            .writersReleased("2024/session 1/take 1.wav"),
        ])
        XCTAssertTrue(backingExists("2024/session 1/take 1.wav"))
    }

    func testOpenOfAFolderIsEISDIR() throws {
        try makeBackingFolder("sub")
        let folder = try lookupPath("sub")
        XCTAssertThrowsErrno(EISDIR, try fs.open(folder.id, flags: O_RDONLY))
        XCTAssertThrowsErrno(EISDIR, try fs.open(Self.rootID, flags: O_WRONLY))
    }

    func testCreateGivesTheFileToTheCaller() throws {
        try XCTSkipUnless(geteuid() == 0, "changing owners needs root")
        let caller = PassthroughFS.Caller(uid: 4321, gid: 8765)
        let (_, handle) = try fs.create(parent: Self.rootID, name: "theirs.wav", mode: 0o640,
                                        flags: O_WRONLY | O_CREAT, caller: caller)
        fs.release(handle)
        var st = stat()
        XCTAssertEqual(lstat(backingPath("theirs.wav"), &st), 0)
        XCTAssertEqual(st.st_uid, 4321)
        XCTAssertEqual(st.st_gid, 8765)
    }
}

/// Collects strings from several threads.
final class FailureBox: @unchecked Sendable {
    // Lock rule: `lock` guards `items`.
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
