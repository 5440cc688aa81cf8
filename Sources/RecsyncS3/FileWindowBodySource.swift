import Foundation

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
        let position = offset + sent
        while true {
            // Safe: curl handed us `buffer.count` writable bytes and `want` is at most that.
            let n = pread(fd, buffer.baseAddress, want, off_t(position))
            if n > 0 {
                sent += Int64(n)
                return n
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let code = errno
                failure = S3Error(.io(errno: code, message: "reading the file at offset \(position) failed: \(String(cString: strerror(code)))"))
            } else {
                failure = S3Error(.io(errno: 0, message: "the file is shorter than the \(offset + length) bytes expected (only \(position) could be read); it was truncated while uploading"))
            }
            return nil
        }
    }
}
