import FoundationEssentials

/// The sizes of a `STREAMING-UNSIGNED-PAYLOAD-TRAILER` body: data chunks of `chunkSize` bytes
/// (the last one shorter), each `hex(size)\r\n<data>\r\n`, then the final chunk and the trailer,
/// `0\r\nx-amz-checksum-crc32c:<base64>\r\n\r\n`.
struct TrailerLayout: Sendable, Equatable {
    let decodedLength: Int64
    let chunkSize: Int

    static let trailerName = "x-amz-checksum-crc32c"
    /// The largest data chunk sent: servers hold a chunk in memory, and MinIO refuses chunks of
    /// more than 16 MiB in such bodies.
    static let maximumChunkSize = 8 << 20

    init(decodedLength: Int64, chunkSize: Int = TrailerLayout.maximumChunkSize) {
        self.decodedLength = decodedLength
        self.chunkSize = max(1, min(chunkSize, Self.maximumChunkSize))
    }

    /// The line before a data chunk of `size` bytes.
    static func chunkHeader(_ size: Int) -> [UInt8] { Array("\(String(size, radix: 16))\r\n".utf8) }

    /// The final chunk and the trailer, for a checksum in base64 (always 8 characters).
    static func ending(checksumBase64: String) -> [UInt8] {
        Array("0\r\n\(trailerName):\(checksumBase64)\r\n\r\n".utf8)
    }

    static let endingLength = ending(checksumBase64: "AAAAAA==").count

    private var fullChunks: Int64 { decodedLength / Int64(chunkSize) }
    private var remainder: Int { Int(decodedLength % Int64(chunkSize)) }
    private var fullFrame: Int64 { Int64(Self.chunkHeader(chunkSize).count + chunkSize + 2) }

    /// The exact `Content-Length` of the body.
    var encodedLength: Int64 {
        var total = fullChunks * fullFrame
        if remainder > 0 { total += Int64(Self.chunkHeader(remainder).count + remainder + 2) }
        return total + Int64(Self.endingLength)
    }

    /// File bytes inside the first `encoded` bytes of the body.
    func decodedBytes(forEncoded encoded: Int64) -> Int64 {
        let frames = min(encoded / fullFrame, fullChunks)
        var decoded = frames * Int64(chunkSize)
        let rest = encoded - frames * fullFrame
        let current = frames < fullChunks ? chunkSize : remainder
        if current > 0 {
            decoded += min(max(rest - Int64(Self.chunkHeader(current).count), 0), Int64(current))
        }
        return min(decoded, decodedLength)
    }
}

/// Sends bytes `[offset, offset + length)` of a file as an aws-chunked body with a CRC-32C
/// trailer. The data of each chunk is read with `pread` straight into libcurl's upload buffer
/// and the CRC-32C is computed over it while it is still in the CPU's cache: the file is read
/// once and copied once. Used by the transfer's thread only.
final class TrailerBodySource: RequestBodySource {
    private let fd: Int32
    private let offset: Int64
    /// A body held in memory instead of the file (the probe's).
    private let bytes: [UInt8]?
    let layout: TrailerLayout
    private let shouldCancel: (@Sendable () -> Bool)?
    /// Sends a checksum that does not match the bytes (the probe of whether the server checks).
    private let corrupt: Bool

    /// Framing bytes waiting to be handed over (a chunk's header, its closing CRLF, the ending).
    private var pending: [UInt8] = []
    private var pendingPosition = 0
    /// Data bytes left in the current chunk.
    private var chunkLeft = 0
    private var endingQueued = false
    private var finished = false

    private var crc = CRC32C()
    /// File bytes handed to curl so far.
    private(set) var sent: Int64 = 0
    private var lastCancelCheck: Int64 = 0
    private(set) var failure: S3Error?
    var contentLength: Int64 { layout.encodedLength }
    var decodedLength: Int64 { layout.decodedLength }

    /// The CRC-32C of the bytes sent, once they all were.
    var checksum: CRC32C? { endingQueued ? crc : nil }
    /// True once the whole body, trailer included, was handed to curl.
    var isComplete: Bool { finished }

    private static let cancelCheckInterval: Int64 = 1 << 20

    init(fd: Int32, offset: Int64, length: Int64, shouldCancel: (@Sendable () -> Bool)?, corrupt: Bool = false,
         chunkSize: Int = TrailerLayout.maximumChunkSize) {
        self.fd = fd
        self.offset = offset
        self.bytes = nil
        self.layout = TrailerLayout(decodedLength: length, chunkSize: chunkSize)
        self.shouldCancel = shouldCancel
        self.corrupt = corrupt
    }

    /// A body of `bytes` in chunks of `chunkSize`; `corrupt`: its trailer names a checksum they
    /// do not have.
    init(bytes: [UInt8], corrupt: Bool, chunkSize: Int) {
        self.fd = -1
        self.offset = 0
        self.bytes = bytes
        self.layout = TrailerLayout(decodedLength: Int64(bytes.count), chunkSize: chunkSize)
        self.shouldCancel = nil
        self.corrupt = corrupt
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        while true {
            if pendingPosition < pending.count {
                let count = min(buffer.count, pending.count - pendingPosition)
                pending.withUnsafeBytes { source in
                    // Safe: count is within both the pending bytes and curl's buffer.
                    buffer.baseAddress!.copyMemory(from: source.baseAddress! + pendingPosition, byteCount: count)
                }
                pendingPosition += count
                // curl stops asking once it has Content-Length bytes: the body is done when
                // the ending's last byte is handed over.
                if endingQueued && pendingPosition == pending.count { finished = true }
                return count
            }
            if finished { return 0 }
            if chunkLeft > 0 { return readData(into: buffer) }
            // Between chunks: the next chunk's header (after the previous one's CRLF), or the end.
            var framing: [UInt8] = sent > 0 ? [UInt8(ascii: "\r"), UInt8(ascii: "\n")] : []
            let left = layout.decodedLength - sent
            if left > 0 {
                chunkLeft = Int(min(Int64(layout.chunkSize), left))
                framing += TrailerLayout.chunkHeader(chunkLeft)
            } else {
                framing += TrailerLayout.ending(checksumBase64: (corrupt ? Self.other(than: crc) : crc).base64)
                endingQueued = true
            }
            pending = framing
            pendingPosition = 0
        }
    }

    /// A CRC-32C that is not `crc`.
    private static func other(than crc: CRC32C) -> CRC32C {
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
        let want = min(buffer.count, chunkLeft)
        let n: Int
        if let bytes {
            let start = Int(sent)
            bytes.withUnsafeBytes { source in
                // Safe: [start, start + want) lies within `bytes` and `want` fits curl's buffer.
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: want)
            }
            n = want
        } else {
            switch FileWindowBodySource.preadOnce(fd, into: buffer, want: want, at: offset + sent, end: offset + layout.decodedLength) {
            case .success(let read): n = read
            case .failure(let error):
                failure = error
                return nil
            }
        }
        // Safe: the first n bytes of the buffer were just filled.
        crc.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        sent += Int64(n)
        chunkLeft -= n
        return n
    }
}
