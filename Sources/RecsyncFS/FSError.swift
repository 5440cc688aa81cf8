import FoundationEssentials
import Glibc

/// The one error type that crosses the filesystem boundary.
///
/// Every failure the FUSE adapter can see is an `FSError`: it carries the errno the kernel
/// will receive, a message a person can act on, and the underlying cause when there is one.
/// Lower-level errors are mapped to an errno here and nowhere else.
public struct FSError: Error, CustomStringConvertible, @unchecked Sendable {
    // @unchecked: `cause` is only read for messages; the errors we wrap are immutable values.
    public let errno: Int32
    public let message: String
    public let cause: (any Error)?

    public init(_ errno: Int32, _ message: String, cause: (any Error)? = nil) {
        self.errno = errno
        self.message = message
        self.cause = cause
    }

    /// Wraps the current `errno` after a failed system call.
    static func fromErrno(_ operation: String, _ subject: String = "", errnoValue: Int32 = Glibc.errno) -> FSError {
        let reason = String(cString: strerror(errnoValue))
        let what = subject.isEmpty ? operation : "\(operation) \(subject)"
        return FSError(errnoValue, "\(what): \(reason)")
    }

    /// Maps any error to an errno: `FSError` keeps its own, an `ErrnoMappable` error says its
    /// own (the queue on a full disk: ENOSPC), anything else is an I/O error.
    public static func wrap(_ error: any Error, operation: String) -> FSError {
        if let fsError = error as? FSError { return fsError }
        let code = (error as? ErrnoMappable)?.errnoValue ?? EIO
        return FSError(code, "\(operation) failed: \(error); see the recsync log for details",
                       cause: error)
    }

    public var description: String {
        if let cause { return "\(message) (errno \(errno); cause: \(cause))" }
        return "\(message) (errno \(errno))"
    }
}

extension FSError {
    /// The current errno after a failed call, for modules outside the filesystem core.
    public static func fromErrnoPublic(_ operation: String, _ subject: String = "") -> FSError {
        fromErrno(operation, subject)
    }
}

/// An error of a lower layer that knows which errno describes it to a program (a full disk
/// under the queue is ENOSPC, as it would be for the program's own write).
public protocol ErrnoMappable: Error {
    var errnoValue: Int32 { get }
}
