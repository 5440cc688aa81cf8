import Foundation
import Synchronization
import XCTest
@testable import RecsyncFS

/// A closure kept in a `Mutex` is read on every close (the status handler, the uploader's wake-up).
/// Stored bare, each `withLock` wrapped it in another thunk, so the millionth call ran through
/// two million of them and a long-running daemon ended with a stack overflow. `Callback` keeps
/// one closure, called directly however often it is read.
final class CallbackTests: XCTestCase {
    func testACallbackReadAMillionTimesIsCalledOnASmallStack() {
        let count = Mutex(0)
        let stored = Mutex<Callback<Int>?>(nil)
        stored.withLock { $0 = Callback { step in count.withLock { $0 += step } } }
        let reads = 1_000_000
        let done = expectation(description: "the calls ran")
        // A bare closure would be two million thunks deep by the end: far more than 256 KiB.
        let thread = Thread {
            for _ in 0..<reads { stored.withLock { $0 }?(1) }
            done.fulfill()
        }
        thread.stackSize = 256 << 10
        thread.start()
        wait(for: [done], timeout: 120)
        XCTAssertEqual(count.withLock { $0 }, reads)
    }

    func testAVoidCallbackIsCalled() {
        let called = Mutex(false)
        let stored = Mutex<Callback<Void>?>(Callback { called.withLock { $0 = true } })
        stored.withLock { $0 }?()
        XCTAssertTrue(called.withLock { $0 })
    }
}
