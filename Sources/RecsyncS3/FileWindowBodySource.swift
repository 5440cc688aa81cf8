import FoundationEssentials
import Glibc

/// Sends bytes `[offset, offset + length)` of a file descriptor as a plain request body: each
/// call of libcurl's read callback is one `pread` straight into curl's upload buffer, so the
/// bytes are copied once on their way to the socket and no chunk is held in memory. Used by the
/// transfer's thread only.
final class FileWindowBodySource: RequestBodySource {
    private let fd: Int32
    private let offset: Int64
    private let length: Int64
    private let shouldCancel: (@Sendable () -> Bool)?
    /// Bytes handed to curl so far.
    private(set) var sent: Int64 = 0
    private var lastCancelCheck: Int64 = 0
    private(set) var failure: S3Error?
    var contentLength: Int64 { length }
    /// True once every byte of the window was handed to curl.
    var isComplete: Bool { sent == length }

    /// How many bytes may go between two `shouldCancel` polls.
    private static let cancelCheckInterval: Int64 = 1 << 20

    init(fd: Int32, offset: Int64, length: Int64, shouldCancel: (@Sendable () -> Bool)?) {
        self.fd = fd
        self.offset = offset
        self.length = length
        self.shouldCancel = shouldCancel
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let want = Int(min(Int64(buffer.count), length - sent))
        guard want > 0 else { return 0 }
        if let shouldCancel, sent == 0 || sent - lastCancelCheck >= Self.cancelCheckInterval {
            lastCancelCheck = sent
            if shouldCancel() {
                failure = S3Error(.cancelled)
                return nil
            }
        }
        switch Self.preadOnce(fd, into: buffer, want: want, at: offset + sent, end: offset + length) {
        case .success(let n):
            sent += Int64(n)
            return n
        case .failure(let error):
            failure = error
            return nil
        }
    }

    /// One `pread` of up to `want` (at most `buffer.count`) bytes at `position` of `fd` into
    /// `buffer`, again after EINTR: the count read, or why not (a read error, or the file ends
    /// before `end`, the offset the body was to reach).
    static func preadOnce(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, want: Int, at position: Int64,
                          end: Int64) -> Result<Int, S3Error> {
        while true {
            // Safe: `want` is at most `buffer.count`, the writable bytes curl handed over.
            let n = pread(fd, buffer.baseAddress, want, off_t(position))
            if n > 0 { return .success(n) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let code = errno
                return .failure(S3Error(.io(errno: code, message: "reading the file at offset \(position) failed: \(String(cString: strerror(code)))")))
            }
            return .failure(S3Error(.io(errno: 0, message: "the file is shorter than the \(end) bytes expected (only \(position) could be read); it was truncated while uploading")))
        }
    }
}
