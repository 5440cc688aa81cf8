import FoundationEssentials
import Glibc

/// A short reason for an error thrown by FoundationEssentials (file reads and writes) or the
/// system, for messages a user reads: `Permission denied`, not a structure dump. Foundation's
/// `localizedDescription` is not available without linking all of Foundation.
public func errorText(_ error: any Error) -> String {
    if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
    if let cocoa = error as? CocoaError {
        if let underlying = cocoa.userInfo["NSUnderlyingError"] as? POSIXError {
            return String(cString: strerror(underlying.code.rawValue))
        }
        switch cocoa.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "No such file or directory"
        case .fileReadNoPermission, .fileWriteNoPermission: return "Permission denied"
        case .fileWriteFileExists: return "File exists"
        case .fileWriteOutOfSpace: return "No space left on device"
        case .fileWriteVolumeReadOnly: return "Read-only file system"
        case .fileReadCorruptFile, .fileReadInapplicableStringEncoding: return "the file is not valid text"
        default: return "error \(cocoa.code.rawValue)"
        }
    }
    return String(describing: error)
}
