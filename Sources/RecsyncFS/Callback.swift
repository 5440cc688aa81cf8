/// A closure to keep in a `Mutex`.
///
/// A bare closure stored in a `Mutex` is re-abstracted by every `withLock`: the inout access
/// converts it from the generic representation to its own and back, and each conversion wraps it
/// in one more thunk. A closure read on every close would get a little slower with each call and
/// finally overflow a thread's stack. Inside this struct the closure is stored as it is, and
/// `withLock` moves the struct without touching it.
public struct Callback<Argument>: Sendable {
    private let body: @Sendable (Argument) -> Void

    public init(_ body: @escaping @Sendable (Argument) -> Void) {
        self.body = body
    }

    public func callAsFunction(_ argument: Argument) {
        body(argument)
    }
}

extension Callback where Argument == Void {
    public func callAsFunction() {
        body(())
    }
}
