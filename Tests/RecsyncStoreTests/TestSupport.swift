import Foundation
import XCTest
@testable import RecsyncStore

/// A clock tests move by hand.
final class TestClock: @unchecked Sendable {
    // Lock rule: `lock` guards `current`.
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = Date(timeIntervalSince1970: 1_700_000_000)) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }

    var function: @Sendable () -> Date { { [self] in self.now } }
}

/// A fresh temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("recsync-store-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

extension SyncQueue {
    /// Enqueue with defaults that keep tests short.
    @discardableResult
    func add(
        _ path: String, _ priority: Priority = .normal, size: Int64 = 100, key: String? = nil,
        newKey: Bool = false
    ) throws -> FileRecord {
        try enqueue(path: path, priority: priority, size: size, mtimeNs: 1_000, createdAt: Date(timeIntervalSince1970: 1_600_000_000),
                    candidateKey: key ?? "rec/\(path)", newKey: newKey)
    }

    /// Claims and confirms `path`, failing the test if it was not claimable.
    @discardableResult
    func upload(_ path: String, etag: String = "\"etag\"", file: StaticString = #filePath, line: UInt = #line) throws -> FileRecord {
        let claimed = try claim(limit: 1_000).filter { $0.path == path }
        guard let item = claimed.first else {
            XCTFail("\(path) was not claimable", file: file, line: line)
            throw StoreError.invalidPath(path, reason: "not claimable")
        }
        // Give back everything else we claimed on the way.
        for other in try records(under: "") where other.status == .syncing && other.path != path {
            try release(path: other.path, generation: other.generation)
        }
        XCTAssertTrue(try markSynced(path: path, generation: item.generation, etag: etag, size: item.size, mtimeNs: item.mtimeNs),
                      file: file, line: line)
        return try XCTUnwrap(record(path: path), file: file, line: line)
    }
}

class QueueTestCase: XCTestCase {
    var directory: URL!
    var clock: TestClock!
    var databasePath: String { directory.appendingPathComponent("state/queue.sqlite").path }

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory(self)
        clock = TestClock()
    }

    func openQueue() throws -> SyncQueue {
        let queue = try SyncQueue(databasePath: databasePath, now: clock.function)
        addTeardownBlock { queue.close() }
        return queue
    }
}
