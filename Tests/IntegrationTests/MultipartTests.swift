import Foundation
import XCTest

/// Long recordings go up as multipart uploads of `chunk_size` parts (5 MiB here); files of 5 MiB
/// and less as one PutObject. Every test mounts through the fault proxy, whose request log shows
/// what reached the server.
final class MultipartTests: ProxiedMountTestCase {
    override func tearDown() {
        super.tearDown()
        removeServerData()
    }

    // MARK: Part counts and ETags

    func testLongRecordingsReachRadosgwInParts() throws {
        try uploadRecordingsAroundTheThreshold(to: try TestServer.radosgw())
    }

    func testLongRecordingsReachMotoInParts() throws {
        try uploadRecordingsAroundTheThreshold(to: try TestServer.moto())
    }

    /// A 40 MiB take (8 parts), exactly 5 MiB (one PutObject: not above the threshold), 5 MiB + 1
    /// byte (a 5 MiB part and a 1-byte part), an empty file, and a minute of 48 kHz 24-bit stereo
    /// from sox (about 16.5 MiB, 4 parts).
    private func uploadRecordingsAroundTheThreshold(to server: TestServer, file: StaticString = #filePath, line: UInt = #line) throws {
        let started = Date()
        try mountThroughProxy(server: server, config: Self.multipartConfig)
        try write([.random("long-take.raw", bytes: 40 << 20), .random("exactly-5MiB.raw", bytes: 5 << 20),
                   .random("5MiB-and-1-byte.raw", bytes: (5 << 20) + 1)])
        let touch = try Shell.run(["touch", fixture.path("empty.raw")])
        XCTAssertTrue(touch.succeeded, touch.stderr)
        let sox = try Shell.run(["sox", "-n", "-r", "48000", "-c", "2", "-b", "24", fixture.path("minute.wav"),
                                 "synth", "60", "sine", "440"])
        XCTAssertTrue(sox.succeeded, sox.stderr)
        let expectedParts: [String: Int?] = [
            "long-take.raw": 8, "exactly-5MiB.raw": nil, "5MiB-and-1-byte.raw": 2, "empty.raw": nil, "minute.wav": 4,
        ]
        // Each file is checked on its own, so that one that does not arrive hides nothing about the others.
        let deadline = Date().addingTimeInterval(50)
        for name in expectedParts.keys.sorted() {
            do {
                try waitUntilSynced(name, deadline: deadline, file: file, line: line)
                try checkUpload(name, parts: expectedParts[name] ?? nil, file: file, line: line)
            } catch is TestFailure {
                continue  // reported already
            }
        }
        print(String(format: "MultipartTests (%@): five recordings checked in %.1f s", server.name,
                     Date().timeIntervalSince(started)))
    }

    /// Compares the object with the file and checks how it went up: `parts` UploadParts and one
    /// CompleteMultipartUpload, or (nil) one PutObject.
    private func checkUpload(_ name: String, parts: Int?, file: StaticString, line: UInt) throws {
        let partSize = Self.partSize
        let local = try fixture.backingContents(name)
        let key = try key(of: name, file: file, line: line)
        let object = try fixture.object(key)
        XCTAssertTrue(object == local, "\(name): the object's bytes differ from the file's", file: file, line: line)
        let head = try XCTUnwrap(try fixture.head(key), "\(name): no object under \(key)", file: file, line: line)
        let requests = try proxy.requests(bucket: fixture.bucket, key: key)
        let timeline = "\n  " + requests.map(\.summary).joined(separator: "\n  ")
        XCTAssertEqual(head.size, Int64(local.count), "\(name): object size", file: file, line: line)
        XCTAssertEqual(try fixture.attribute("user.sync.etag", of: name)?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")),
                       head.etag, "\(name): user.sync.etag is the server's ETag", file: file, line: line)
        let uploadParts = requests.filter(\.isUploadPart)
        let creates = requests.filter(\.isCreateMultipartUpload)
        let completes = requests.filter(\.isCompleteMultipartUpload)
        let puts = requests.filter(\.isPutObject)
        if let parts {
            XCTAssertEqual((local.count + partSize - 1) / partSize, parts, "\(name): \(local.count) bytes", file: file, line: line)
            XCTAssertTrue(head.etag.hasSuffix("-\(parts)"), "\(name): multipart ETag of \(parts) parts, got \(head.etag)",
                          file: file, line: line)
            XCTAssertEqual(head.etag, try MD5.multipartETag(local, partSize: partSize),
                           "\(name): the ETag is the MD5 of the MD5s of \(partSize)-byte parts", file: file, line: line)
            XCTAssertEqual(uploadParts.count, parts, "\(name): UploadParts:\(timeline)", file: file, line: line)
            XCTAssertEqual(uploadParts.filter { $0.status == 200 }.count, parts, "\(name): UploadParts answered 200:\(timeline)",
                           file: file, line: line)
            XCTAssertEqual(Set(uploadParts.compactMap(\.partNumber)), Set(1...parts), "\(name): part numbers:\(timeline)",
                           file: file, line: line)
            for part in uploadParts {
                // Each body is exactly its part's bytes (plus the request line and headers).
                let number = part.partNumber ?? 0
                let length = min(partSize, local.count - (number - 1) * partSize)
                XCTAssertTrue(part.requestBytes >= length && part.requestBytes < length + 4096,
                              "\(name): part \(number) should carry \(length) bytes, sent \(part.requestBytes)", file: file, line: line)
            }
            XCTAssertEqual(creates.count, 1, "\(name): CreateMultipartUploads:\(timeline)", file: file, line: line)
            XCTAssertEqual(completes.count, 1, "\(name): CompleteMultipartUploads:\(timeline)", file: file, line: line)
            XCTAssertEqual(completes.first?.status, 200, "\(name): CompleteMultipartUpload:\(timeline)", file: file, line: line)
            XCTAssertEqual(puts.count, 0, "\(name): no PutObject for a multipart file:\(timeline)", file: file, line: line)
        } else {
            XCTAssertFalse(head.etag.contains("-"), "\(name): single PutObject ETag, got \(head.etag)", file: file, line: line)
            XCTAssertEqual(head.etag, try MD5.hex(local), "\(name): the ETag is the MD5 of the bytes", file: file, line: line)
            XCTAssertEqual(puts.count, 1, "\(name): PutObjects:\(timeline)", file: file, line: line)
            XCTAssertEqual(puts.first?.status, 200, "\(name): PutObject:\(timeline)", file: file, line: line)
            XCTAssertEqual(uploadParts.count + creates.count + completes.count, 0,
                           "\(name): no multipart calls for a file of \(local.count) bytes:\(timeline)", file: file, line: line)
        }
    }

    // MARK: A file that grows while it uploads

    /// 20 MiB written and closed; while its parts go up through a slow server, 5 MiB are appended
    /// with `>>`. The file is never `synced` while the server holds anything but the final 25 MiB.
    func testFileGrowingDuringItsUploadIsNeverSyncedWithTheOldBytes() throws {
        let started = Date()
        try mountThroughProxy(server: try TestServer.radosgw(), rules: [FaultRule(mode: .slow, rate: 2 << 20)],
                              config: Self.twoTransfersMultipartConfig)
        let name = "growing.raw"
        let tail = fixture.root.appendingPathComponent("tail.raw").path
        try Recording.random("tail.raw", bytes: 5 << 20).write(to: tail)
        try Recording.random(name, bytes: 20 << 20).write(to: fixture.path(name))
        let key = try key(of: name)

        try eventually("the 20 MiB upload under way", timeout: 15) {
            guard try fixture.status(name) == "syncing", let progress = try progress(name) else { return false }
            // SENT counts bytes handed to the socket, which runs ahead of the slow wire: the two
            // first parts can be all in the socket buffers (exactly 10 MiB) while they go up.
            return progress.sent > 0 && progress.sent <= Int64(10 << 20)
        }
        let progressAtAppend = try progress(name)
        XCTAssertNil(try fixture.head(key), "no object yet when the append starts")

        let appended = Shared<CommandResult?>(nil)
        let script = "cat \(Shell.quote(tail)) >> \(Shell.quote(fixture.path(name)))"
        Thread.detachNewThread {
            appended.value = (try? Shell.sh(script)) ?? CommandResult(status: -1, stdout: "", stderr: "could not run \(script)")
        }

        // Watch the status closely; every time it says synced, ask the server what it holds.
        var syncedWhile: [(appendDone: Bool, size: Int64?, etag: String?)] = []
        var statuses: [String] = []
        let deadline = Date().addingTimeInterval(50)
        while Date() < deadline {
            let done = appended.value != nil
            let status = try fixture.status(name) ?? "none"
            if statuses.last != status { statuses.append(status) }
            if status == "synced" {
                let head = try fixture.head(key)
                syncedWhile.append((done, head?.size, head?.etag))
                if done { break }
            }
            usleep(20_000)
        }
        let append = try XCTUnwrap(appended.value, "the append did not finish")
        XCTAssertTrue(append.succeeded, "append: \(append.stderr)")
        try waitUntilSynced(name, deadline: Date().addingTimeInterval(5))

        let final = try fixture.backingContents(name)
        XCTAssertEqual(final.count, 25 << 20)
        let object = try fixture.object(key)
        XCTAssertTrue(object == final, "the object is the final 25 MiB (it has \(object.count) bytes)")
        let finalETag = try MD5.multipartETag(final, partSize: Self.partSize)
        XCTAssertEqual(try fixture.head(key)?.etag, finalETag)
        let wrong = syncedWhile.filter { $0.size != Int64(final.count) || $0.etag != finalETag }
        XCTAssertTrue(wrong.isEmpty, "synced while the server held other bytes than the final file: "
                      + wrong.map { "[append \($0.appendDone ? "done" : "running"), object \($0.size.map(String.init) ?? "none") bytes, ETag \($0.etag ?? "-")]" }
                      .joined(separator: " ") + "; statuses seen: \(statuses.joined(separator: " -> ")); progress at the append: "
                      + "\(progressAtAppend.map { "\($0.sent)/\($0.total)" } ?? "-")\n  \(timeline(key))\n--- recsync log ---\n\(fixture.log.suffix(3000))")
        print(String(format: "MultipartTests: growing file synced in %.1f s; statuses %@", Date().timeIntervalSince(started),
                     statuses.joined(separator: " -> ")))
    }

    // MARK: Integrity

    /// radosgw checks every chunk signature: the first part, with one byte flipped on the way, is
    /// refused; the retry sends it again and the object's MD5 is the file's.
    func testCorruptedPartIsRejectedByRadosgwAndTheRetrySucceeds() throws {
        let started = Date()
        // The only PUTs of a multipart file are its UploadParts: the first PUT is the first part
        // (SHA-256 set, so no checksum probe comes first).
        try mountThroughProxy(server: try TestServer.radosgw(), rules: [FaultRule(mode: .corrupt, method: "PUT", count: 1)],
                              config: Self.multipartConfig + "upload_checksum = \"sha256\"\n")
        let name = "interview.raw"
        try write([.random(name, bytes: 12 << 20)])
        try assertSyncedByteForByte([name], timeout: 40)

        let key = try key(of: name)
        let requests = try proxy.requests(bucket: fixture.bucket, key: key)
        let corrupted = requests.filter { $0.fault == "corrupt" }
        XCTAssertEqual(corrupted.count, 1, "one corrupted request:\n  \(timeline(key))")
        let first = try XCTUnwrap(corrupted.first)
        XCTAssertTrue(first.isUploadPart, "the corrupted request is an UploadPart (PUT ?partNumber=): \(first.summary)")
        XCTAssertTrue((400..<500).contains(first.upstreamStatus ?? 0),
                      "radosgw must reject the corrupted part: \(first.summary)\n  \(timeline(key))")
        let log = fixture.log
        XCTAssertTrue(log.contains("XAmzContentSHA256Mismatch") || log.contains("SignatureDoesNotMatch"),
                      "the log names radosgw's rejection\n--- recsync log ---\n\(log.suffix(3000))")
        // The part went up again, and every part was stored in the end.
        let stored = Set(requests.filter { $0.isUploadPart && $0.status == 200 }.compactMap(\.partNumber))
        XCTAssertEqual(stored, Set(1...3), "every part stored:\n  \(timeline(key))")
        XCTAssertTrue(requests.contains { $0.isUploadPart && $0.partNumber == first.partNumber && $0.status == 200 && $0.time > first.end },
                      "part \(first.partNumber ?? 0) sent again after the rejection:\n  \(timeline(key))")
        XCTAssertEqual(requests.filter { $0.isCompleteMultipartUpload && $0.status == 200 }.count, 1, timeline(key))

        let object = try fixture.object(key)
        XCTAssertEqual(try MD5.hex(object), try MD5.hex(ofFile: fixture.path(name)), "the object's MD5 is the file's")
        print(String(format: "MultipartTests: corrupted part rejected and retried, synced in %.1f s", Date().timeIntervalSince(started)))
    }

    /// A part fails while its sibling is still on its way: the sibling is finished and kept, and
    /// only the failed part goes up again. Part 1's answer is held for 2 s after the server stored
    /// it; part 2 is answered 503 at once. A part cut off because its sibling failed would be
    /// stored on the server but unknown to the queue, and would be sent a second time.
    func testAPartInFlightWhenItsSiblingFailsIsKeptAndNotSentAgain() throws {
        let started = Date()
        let rules = [FaultRule(mode: .slow, method: "PUT", query: "(^|&)partNumber=1(&|$)", count: 1, rate: 1 << 30, delay: 2),
                     FaultRule(mode: .serviceUnavailable, method: "PUT", query: "(^|&)partNumber=2(&|$)", count: 1)]
        try mountThroughProxy(server: try TestServer.moto(), rules: rules,
                              config: Self.twoTransfersMultipartConfig + "upload_checksum = \"sha256\"\n")
        let name = "two-parts.raw"
        try write([.random(name, bytes: 2 * Self.partSize)])
        try assertSyncedByteForByte([name], timeout: 40)

        let key = try key(of: name)
        // The proxy logs a request when it is done with it: the held one, cut off by recsync or
        // not, is logged once its 2 s are over.
        try eventually("the proxy is done with the held part", timeout: 10) {
            try proxy.requests(bucket: fixture.bucket, key: key).contains { $0.isUploadPart && $0.fault == "slow" }
        }
        let requests = try proxy.requests(bucket: fixture.bucket, key: key)
        let first = requests.filter { $0.isUploadPart && $0.partNumber == 1 }
        let second = requests.filter { $0.isUploadPart && $0.partNumber == 2 }
        let refused = try XCTUnwrap(second.first { $0.fault == "503" }, "part 2 met its fault:\n  \(timeline(key))")
        let held = try XCTUnwrap(first.first, "part 1 was sent:\n  \(timeline(key))")
        XCTAssertTrue(refused.end < held.end && held.fault == "slow",
                      "part 2 failed while part 1 was still in flight:\n  \(timeline(key))")
        XCTAssertEqual(first.count, 1, "part 1, stored by the server, is sent once:\n  \(timeline(key))")
        XCTAssertEqual(held.status, 200, "part 1's answer reached recsync:\n  \(timeline(key))")
        XCTAssertEqual(second.map(\.status), [503, 200], "part 2 is sent again once:\n  \(timeline(key))")
        XCTAssertEqual(requests.filter(\.isCreateMultipartUpload).count, 1, "one multipart upload:\n  \(timeline(key))")
        XCTAssertEqual(requests.filter { $0.isCompleteMultipartUpload && $0.status == 200 }.count, 1, timeline(key))
        print(String(format: "MultipartTests: a part in flight when its sibling failed was kept; synced in %.1f s",
                     Date().timeIntervalSince(started)))
    }

    // MARK: Progress

    /// During a slow multipart upload `user.sync.progress` counts the bytes sent: TOTAL is the file
    /// size, SENT moves at least once a second and never goes back within one attempt.
    ///
    /// SENT counts the bytes handed to the socket, which runs up to about 1.5 MiB ahead of the wire
    /// on loopback; at the end of each part it stands until the server answered. At 4 MiB/s per
    /// part that wait is well under a second (at 1 MiB/s it is about two).
    func testProgressCountsUpWhileThePartsGoUp() throws {
        let started = Date()
        try mountThroughProxy(server: try TestServer.radosgw(), rules: [FaultRule(mode: .slow, rate: 4 << 20)],
                              config: Self.twoTransfersMultipartConfig)
        let name = "long-interview.raw"
        let size = 60 << 20
        try write([.random(name, bytes: size)])
        try eventually("the upload under way", timeout: 15) {
            try fixture.status(name) == "syncing" && (try progress(name)?.sent ?? 0) > 0
        }

        // Every 250 ms for 5 s. Attempts only grow: the same count at both ends means one attempt throughout.
        let attemptsBefore = try fixture.attribute("user.sync.attempts", of: name)
        var samples: [(time: Date, progress: SyncProgress?, text: String?)] = []
        let start = Date()
        for index in 0..<20 {
            let due = start.addingTimeInterval(Double(index) * 0.25)
            if due > Date() { usleep(UInt32(due.timeIntervalSinceNow * 1_000_000)) }
            let text = try fixture.attribute("user.sync.progress", of: name)
            samples.append((Date(), SyncProgress(text), text))
        }
        let statusAfter = try fixture.status(name)
        let attemptsAfter = try fixture.attribute("user.sync.attempts", of: name)
        let listing = samples.map { String(format: "%.2f ", $0.time.timeIntervalSince(start)) + ($0.text ?? "-") }
            .joined(separator: "\n  ")
        XCTAssertEqual(statusAfter, "syncing", "still uploading after the samples:\n  \(listing)")
        XCTAssertEqual(attemptsBefore, attemptsAfter, "one attempt while sampled:\n  \(listing)")
        XCTAssertTrue(samples.allSatisfy { $0.progress?.total == Int64(size) }, "progress is SENT/\(size):\n  \(listing)")
        var lastChange = samples[0].time
        var longestStill = 0.0
        for (previous, sample) in zip(samples, samples.dropFirst()) {
            guard let before = previous.progress, let now = sample.progress else { continue }
            XCTAssertGreaterThanOrEqual(now.sent, before.sent, "progress went back within one attempt:\n  \(listing)")
            if now.sent != before.sent { lastChange = sample.time }
            longestStill = max(longestStill, sample.time.timeIntervalSince(lastChange))
            // Sampled every 250 ms: a change within a second shows by the fifth sample at the latest.
            XCTAssertLessThanOrEqual(sample.time.timeIntervalSince(lastChange), 1.3, "progress stood still for over a second:\n  \(listing)")
        }
        XCTAssertLessThan(samples.last?.progress?.sent ?? .max, Int64(size), "the upload was still running:\n  \(listing)")

        // Let the rest go at full speed; once synced the progress is complete.
        try proxy.setRules([])
        try assertSyncedByteForByte([name], timeout: 40)
        XCTAssertEqual(try progress(name), SyncProgress("\(size)/\(size)"))
        print(String(format: "MultipartTests: progress sampled %d times, stood still for %.2f s at most; synced in %.1f s",
                     samples.count, longestStill, Date().timeIntervalSince(started)))
    }

    // MARK: Abort

    /// Deleting a file while its parts go up cancels the upload and aborts it on the server: no
    /// multipart upload and no object stay behind under its key.
    func testDeletingAFileDuringItsUploadAbortsTheMultipartUpload() throws {
        let started = Date()
        try mountThroughProxy(server: try TestServer.moto(), rules: [FaultRule(mode: .slow, rate: 1 << 20)],
                              config: Self.multipartConfig)
        let name = "discarded.raw"
        try write([.random(name, bytes: 30 << 20)])
        let key = try key(of: name)
        let client = try fixture.client()
        // The whole (fresh) bucket is listed: moto refuses the signature of a ListMultipartUploads
        // whose prefix holds a '/' (boto3's as well).
        func openUploads() throws -> [String] {
            try client.listMultipartUploads(bucket: fixture.bucket, prefix: "").map(\.key).filter { $0 == key }
        }
        try eventually("a multipart upload open on the server with parts going up", timeout: 15) {
            try !openUploads().isEmpty && (try progress(name)?.sent ?? 0) > 0
        }

        let removed = try Shell.run(["rm", fixture.path(name)])
        XCTAssertTrue(removed.succeeded, removed.stderr)
        let deleted = Date()
        try eventually("no multipart upload left under \(key)", timeout: 5) { try openUploads().isEmpty }
        let aborted = Date().timeIntervalSince(deleted)
        // Nothing completes late: after a while there is still neither an upload nor an object.
        usleep(2_000_000)
        XCTAssertEqual(try openUploads(), [],
                       "multipart uploads under \(key)\n  \(timeline(key))")
        XCTAssertNil(try fixture.head(key), "no object for the deleted file\n  \(timeline(key))")
        XCTAssertFalse(try fixture.keys().contains(key))
        let requests = try proxy.requests(bucket: fixture.bucket, key: key)
        XCTAssertEqual(requests.filter(\.isCompleteMultipartUpload).count, 0, "no CompleteMultipartUpload:\n  \(timeline(key))")
        XCTAssertTrue(requests.contains { $0.isAbortMultipartUpload && (200..<300).contains($0.status ?? 0) },
                      "an AbortMultipartUpload went through the mount's endpoint:\n  \(timeline(key))")
        print(String(format: "MultipartTests: upload aborted %.1f s after the delete; test took %.1f s", aborted,
                     Date().timeIntervalSince(started)))
    }
}
