import FoundationEssentials
import RecsyncS3
import RecsyncStore
import Synchronization

/// The shared state of one file's parallel part uploads. Every field is behind the mutex.
final class PartTransfer: @unchecked Sendable {
    private struct State {
        var done: [Int: StoredPart] = [:]
        var inFlight: [Int: Int64] = [:]
        var taken: Set<Int> = []
        var error: (any Error)?
        var cutOff = false
    }
    private let state = Mutex(State())
    private let progress: UploadProgress

    init(plan: PartPlan, done: [StoredPart], progress: UploadProgress) {
        self.progress = progress
        state.withLock { $0.done = Dictionary(uniqueKeysWithValues: done.map { ($0.partNumber, $0) }) }
        progress.noteResumed(done.reduce(Int64(0)) { $0 + $1.size })
        report()
    }

    func part(_ number: Int) -> StoredPart? { state.withLock { $0.done[number] } }
    var partsByNumber: [Int: StoredPart] { state.withLock { $0.done } }
    var error: (any Error)? { state.withLock { $0.error } }
    /// True once a part failed or the whole upload was cancelled: no further part starts (parts
    /// already under way finish unless the upload itself is cancelled).
    var stopped: Bool { progress.isCancelled || state.withLock { $0.error != nil } }
    /// True once parts under way must stop too: the upload was cancelled, or a part failed in a
    /// way that dooms the whole attempt (see `fail`).
    var cutOff: Bool { progress.isCancelled || state.withLock { $0.cutOff } }

    func nextMissing(from missing: [Int]) -> Int? {
        state.withLock { state in
            guard state.error == nil, let next = missing.first(where: { !state.taken.contains($0) }) else { return nil }
            state.taken.insert(next)
            return next
        }
    }

    func sent(_ bytes: Int64, part: Int) {
        state.withLock { $0.inFlight[part] = bytes }
        report()
    }

    func completed(_ part: StoredPart) {
        state.withLock {
            $0.inFlight[part.partNumber] = nil
            $0.done[part.partNumber] = part
        }
        report()
    }

    /// Ends the attempt: no further part starts. Parts already under way finish (the server may
    /// store them, and a stored part the queue never recorded would be sent again), unless
    /// `cutOthers`: the failure dooms every part of this attempt (the server forgot the upload,
    /// refused the credentials, the clock or the bucket; the endpoint is gone; the file changed),
    /// and what they would send is waste.
    func fail(_ error: any Error, cutOthers: Bool = false) {
        state.withLock {
            if $0.error == nil { $0.error = error }
            if cutOthers { $0.cutOff = true }
        }
    }

    private func report() {
        let total = state.withLock { state in
            state.done.values.reduce(Int64(0)) { $0 + $1.size } + state.inFlight.values.reduce(Int64(0), +)
        }
        progress.update(sent: total)
    }
}
