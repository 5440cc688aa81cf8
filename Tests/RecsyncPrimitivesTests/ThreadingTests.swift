import Foundation
import RecsyncPrimitives
import Synchronization
import XCTest

final class ThreadingTests: XCTestCase {
    func testAWorkerThreadRunsItsBodyUnderItsName() throws {
        let seen = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = WorkerThread {
            let name = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
            seen.withLock { $0 = name?.trimmingCharacters(in: .newlines) }
            done.signal()
        }
        thread.name = "recsync-a-long-thread-name"
        thread.start()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(seen.withLock { $0 }, "recsync-a-long-", "the kernel keeps the first 15 bytes")
    }

    /// Guarded by the condition it is used with.
    final class Flag: @unchecked Sendable { var value = false; var count = 0 }

    func testAConditionWakesItsWaiterAndTimesOut() {
        let condition = Condition()
        let flag = Flag()
        let start = DispatchTime.now()
        condition.lock()
        XCTAssertFalse(condition.wait(seconds: 0.2), "nobody signals: the wait times out")
        let waited = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        XCTAssertGreaterThanOrEqual(waited, 0.19)
        condition.unlock()

        WorkerThread.detachNewThread {
            WorkerThread.sleep(forTimeInterval: 0.05)
            condition.withLock { flag.value = true; condition.broadcast() }
        }
        condition.lock()
        let deadline = Date().addingTimeInterval(10)
        while !flag.value, condition.wait(until: deadline) {}
        let woken = flag.value
        condition.unlock()
        XCTAssertTrue(woken, "the broadcast woke the waiter before its deadline")
    }

    func testALockKeepsCountsWhole() {
        let lock = Lock()
        let counter = Flag()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<10_000 { lock.withLock { counter.count += 1 } }
        }
        XCTAssertEqual(counter.count, 80_000)
    }
}
