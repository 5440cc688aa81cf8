import Dispatch
import Foundation
import XCTest
@testable import RecsyncStore

/// A list shared between threads.
final class SharedList<Element: Sendable>: @unchecked Sendable {
    // Lock rule: `lock` guards `items`.
    private let lock = NSLock()
    private var items: [Element] = []

    func append(contentsOf new: [Element]) { lock.withLock { items.append(contentsOf: new) } }
    var all: [Element] { lock.withLock { items } }
}

final class QueueConcurrencyTests: QueueTestCase {
    func testConcurrentEnqueueAndClaimClaimsEachItemOnce() throws {
        let queue = try SyncQueue(databasePath: databasePath)   // real clock
        addTeardownBlock { queue.close() }
        let producers = 4, perProducer = 150, consumers = 3
        let total = producers * perProducer
        let claimed = SharedList<String>()
        let errors = SharedList<String>()
        let producersDone = DispatchGroup()
        let everyone = DispatchGroup()
        let finishedProducing = SharedList<Bool>()

        for producer in 0..<producers {
            producersDone.enter()
            everyone.enter()
            Thread.detachNewThread {
                defer { producersDone.leave(); everyone.leave() }
                for index in 0..<perProducer {
                    do {
                        let priority: Priority = index % 3 == 0 ? .high : .normal
                        _ = try queue.enqueue(path: "p\(producer)/take\(index).wav", priority: priority, size: 10,
                                          mtimeNs: 1, createdAt: Date(), candidateKey: "rec/take\(index).wav")
                    } catch {
                        errors.append(contentsOf: ["\(error)"])
                    }
                }
            }
        }
        for _ in 0..<consumers {
            everyone.enter()
            Thread.detachNewThread {
                defer { everyone.leave() }
                while true {
                    do {
                        let done = !finishedProducing.all.isEmpty
                        let batch = try queue.claim(limit: 7)
                        for item in batch {
                            guard try queue.markSynced(path: item.path, generation: item.generation,
                                                       etag: "e", size: item.size, mtimeNs: item.mtimeNs) else {
                                errors.append(contentsOf: ["markSynced did not apply for \(item.path)"])
                                continue
                            }
                        }
                        claimed.append(contentsOf: batch.map(\.path))
                        if batch.isEmpty && done { return }
                    } catch {
                        errors.append(contentsOf: ["\(error)"])
                        return
                    }
                }
            }
        }
        producersDone.wait()
        finishedProducing.append(contentsOf: [true])
        XCTAssertEqual(everyone.wait(timeout: .now() + 120), .success)

        XCTAssertEqual(errors.all, [])
        let paths = claimed.all
        XCTAssertEqual(paths.count, total, "every item is claimed exactly once")
        XCTAssertEqual(Set(paths).count, total)
        XCTAssertEqual(try queue.counts()[.synced], total)
        let keys = try queue.records(under: "").map(\.s3Key)
        XCTAssertEqual(Set(keys).count, total, "keys are unique")
        XCTAssertTrue(keys.contains("rec/take0-4.wav"))
        XCTAssertFalse(keys.contains("rec/take0-5.wav"))
    }

    /// Not an assertion: prints how long one durable enqueue takes on this disk,
    /// which is what a close() after a write waits for.
    func testMeasureEnqueueLatency() throws {
        let queue = try SyncQueue(databasePath: databasePath)
        addTeardownBlock { queue.close() }
        let count = 500
        var samples: [Double] = []
        samples.reserveCapacity(count)
        for index in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try queue.enqueue(path: "bench/take\(index % 100).wav", priority: .normal, size: Int64(index),
                                  mtimeNs: Int64(index), createdAt: Date(), candidateKey: "rec/bench/take\(index % 100).wav")
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
        }
        samples.sort()
        func percentile(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
        print(String(format: "enqueue latency over %d calls (WAL, synchronous=NORMAL): p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms",
                     count, percentile(0.50), percentile(0.90), percentile(0.99), samples.last ?? 0))
        XCTAssertEqual(try queue.counts()[.pending], 100)
    }
}
