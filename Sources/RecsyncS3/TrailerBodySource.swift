import Foundation

/// The sizes of a `STREAMING-UNSIGNED-PAYLOAD-TRAILER` body holding one data chunk:
/// `hex(length)\r\n<data>\r\n0\r\nx-amz-checksum-crc32c:<base64>\r\n\r\n`.
struct TrailerLayout: Sendable, Equatable {
    let decodedLength: Int64

    static let trailerName = "x-amz-checksum-crc32c"

    var header: [UInt8] { Array("\(String(decodedLength, radix: 16))\r\n".utf8) }

    /// Everything after the data, for a checksum in base64 (always 8 characters for 4 bytes).
    static func footer(checksumBase64: String) -> [UInt8] {
        Array("\r\n0\r\n\(trailerName):\(checksumBase64)\r\n\r\n".utf8)
    }

    static let footerLength = footer(checksumBase64: "AAAAAA==").count

    var encodedLength: Int64 { Int64(header.count) + decodedLength + Int64(Self.footerLength) }

    /// File bytes inside the first `encoded` bytes of the body.
    func decodedBytes(forEncoded encoded: Int64) -> Int64 {
        min(max(encoded - Int64(header.count), 0), decodedLength)
    }
}

/// Sends bytes `[offset, offset + length)` of a file as an aws-chunked body with a CRC-32C
/// trailer. Each of libcurl's read callbacks is one `pread` straight into its upload buffer,
/// and the CRC-32C is computed over those bytes while they are still in the CPU's cache: the
/// file is read once and copied once. Used by the transfer's thread only.
final class TrailerBodySource: RequestBodySource {
    private let fd: Int32
    private let offset: Int64
    /// A body held in memory instead of the file (the probe's).
    private let bytes: [UInt8]?
    private let layout: TrailerLayout
    private let shouldCancel: (@Sendable () -> Bool)?
    /// Sends a checksum that does not match the bytes (the probe of whether the server checks).
    private let corrupt: Bool

    private var pending: [UInt8]
    private var pendingPosition = 0
    private var phase = Phase.header
    private enum Phase { case header, data, footer, done }

    private var crc = CRC32C()
    /// File bytes handed to curl so far.
    private(set) var sent: Int64 = 0
    private var lastCancelCheck: Int64 = 0
    private(set) var failure: S3Error?
    var contentLength: Int64 { layout.encodedLength }

    /// The CRC-32C of the bytes sent, once they all were.
    var checksum: CRC32C? { phase == .footer || phase == .done ? crc : nil }
    /// True once the whole body, trailer included, was handed to curl.
    var isComplete: Bool { phase == .done }

    private static let cancelCheckInterval: Int64 = 1 << 20

    var decodedLength: Int64 { layout.decodedLength }

    init(fd: Int32, offset: Int64, length: Int64, shouldCancel: (@Sendable () -> Bool)?, corrupt: Bool = false) {
        self.fd = fd
        self.offset = offset
        self.bytes = nil
        self.layout = TrailerLayout(decodedLength: length)
        self.shouldCancel = shouldCancel
        self.corrupt = corrupt
        self.pending = layout.header
    }

    /// A body of `bytes`; `corrupt`: its trailer names a checksum they do not have.
    init(bytes: [UInt8], corrupt: Bool) {
        self.fd = -1
        self.offset = 0
        self.bytes = bytes
        self.layout = TrailerLayout(decodedLength: Int64(bytes.count))
        self.shouldCancel = nil
        self.corrupt = corrupt
        self.pending = layout.header
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        while true {
            switch phase {
            case .header, .footer:
                if pendingPosition < pending.count {
                    let count = min(buffer.count, pending.count - pendingPosition)
                    pending.withUnsafeBytes { source in
                        // Safe: count is within both the pending bytes and curl's buffer.
                        buffer.baseAddress!.copyMemory(from: source.baseAddress! + pendingPosition, byteCount: count)
                    }
                    pendingPosition += count
                    // curl stops asking once it has Content-Length bytes: the body is done
                    // when the trailer's last byte is handed over.
                    if phase == .footer && pendingPosition == pending.count { phase = .done }
                    return count
                }
                if phase == .header {
                    phase = .data
                } else {
                    phase = .done
                }
            case .data:
                if sent == layout.decodedLength {
                    var value = crc
                    if corrupt { value = Self.flipped(crc) }
                    pending = TrailerLayout.footer(checksumBase64: value.base64)
                    pendingPosition = 0
                    phase = .footer
                    continue
                }
                return readData(into: buffer)
            case .done:
                return 0
            }
        }
    }

    private static func flipped(_ crc: CRC32C) -> CRC32C {
        var other = CRC32C()
        other.update([UInt8(0x5a)] + crc.bytes)
        return other == crc ? CRC32C() : other
    }

    private func readData(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        if let shouldCancel, sent == 0 || sent - lastCancelCheck >= Self.cancelCheckInterval {
            lastCancelCheck = sent
            if shouldCancel() {
                failure = S3Error(.cancelled)
                return nil
            }
        }
        let want = Int(min(Int64(buffer.count), layout.decodedLength - sent))
        if let bytes {
            let start = Int(sent)
            bytes.withUnsafeBytes { source in
                // Safe: [start, start + want) lies within `bytes` and `want` fits curl's buffer.
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: want)
            }
            crc.update(UnsafeRawBufferPointer(rebasing: buffer[0..<want]))
            sent += Int64(want)
            return want
        }
        switch FileWindowBodySource.preadOnce(fd, into: buffer, want: want, at: offset + sent, end: offset + layout.decodedLength) {
        case .success(let n):
            // Safe: the first n bytes of the buffer were just filled.
            crc.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            sent += Int64(n)
            return n
        case .failure(let error):
            failure = error
            return nil
        }
    }
}
