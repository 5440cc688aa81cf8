/// Trimming and case folding of protocol text (HTTP headers, ETags, XML values) byte by byte.
///
/// Foundation's `trimmingCharacters(in:)` and `String(format:)` go through NSString and cost tens
/// of microseconds a call; every response header and every ETag of every upload went through
/// them. Protocol text only ever needs ASCII rules, so these work on the UTF-8 bytes and leave
/// any other byte exactly as it was.
public enum ASCIIText {
    /// Space, tab, CR and LF: what HTTP and S3's XML put around a value.
    @inline(__always)
    public static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }

    /// `bytes` without leading and trailing ASCII whitespace, as a String.
    public static func trimmed(_ bytes: UnsafeRawBufferPointer) -> String {
        var start = 0
        var end = bytes.count
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        // Safe: start...end lies within `bytes`.
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// `text` with ASCII letters lowercased and every other byte unchanged.
    public static func lowercased(_ text: some StringProtocol) -> String {
        var bytes = Array(text.utf8)
        for index in bytes.indices where bytes[index] >= 0x41 && bytes[index] <= 0x5A { bytes[index] |= 0x20 }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension StringProtocol {
    /// The text without leading and trailing ASCII spaces, tabs, CRs and LFs.
    public func trimmingASCIIWhitespace() -> String {
        var text = String(self)
        return text.withUTF8 { ASCIIText.trimmed(UnsafeRawBufferPointer($0)) }
    }

    /// An ETag as S3 quotes it, without the quotes: every leading and trailing `"` removed.
    public func unquotedETag() -> String {
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x22 { start += 1 }
        while end > start, bytes[end - 1] == 0x22 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
