import Glibc

/// Text to standard output or standard error, written whole (short writes and EINTR retried),
/// unbuffered: what `FileHandle.standardError.write` did, without Foundation.
public enum StandardStream {
    public static func output(_ text: String) { write(text, to: STDOUT_FILENO) }

    public static func error(_ text: String) { write(text, to: STDERR_FILENO) }

    /// Writes `text`; false when the stream is closed or broken (nothing more can be done then).
    @discardableResult
    public static func write(_ text: String, to fd: Int32) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }
}
