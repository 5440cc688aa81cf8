import FoundationEssentials
import Glibc

/// Produces an aws-chunked body from a window of a file descriptor as libcurl asks for data.
///
/// Each chunk is read with `pread` straight into the frame buffer after the space reserved for
/// its header, hashed once, signed (chained from the previous signature), and handed to curl.
/// Memory use is one chunk, whatever the file size. Used by the transfer's thread only.
final class AwsChunkedBodySource: RequestBodySource {
    private let fd: Int32
    /// Where the window starts in the file.
    private let offset: Int64
    private let layout: AwsChunkedLayout
    private let signer: SigV4Signer
    private let amzDate: String
    private let scope: String
    private let shouldCancel: (@Sendable () -> Bool)?
    private var previousSignature: String

    // Safe: allocated here with room for the largest frame, only accessed through the bounds
    // below, and freed in deinit.
    private let frame: UnsafeMutableRawBufferPointer
    private var frameLength = 0
    private var framePosition = 0
    /// Bytes of the window read so far.
    private var consumed: Int64 = 0
    private var sentFinalChunk = false
    private var hasher = SHA256Hasher()

    private(set) var failure: S3Error?
    /// Bytes of the frame buffer (for tests: one frame of this body at most).
    var bufferCapacity: Int { frame.count }
    var contentLength: Int64 { layout.encodedLength }

    /// A body of the bytes `[offset, offset + layout.decodedLength)` of `fd`.
    init(fd: Int32, offset: Int64 = 0, layout: AwsChunkedLayout, signer: SigV4Signer, seedSignature: String,
         amzDate: String, scope: String, shouldCancel: (@Sendable () -> Bool)?) {
        self.fd = fd
        self.offset = offset
        self.layout = layout
        self.signer = signer
        self.previousSignature = seedSignature
        self.amzDate = amzDate
        self.scope = scope
        self.shouldCancel = shouldCancel
        // Room for the largest frame this body has: a file smaller than a chunk (most small
        // recordings, every empty one) gets a buffer of its own size, not a whole chunk's.
        let largest = Int(min(Int64(layout.chunkSize), layout.decodedLength))
        let capacity = AwsChunkedLayout.frameLength(dataLength: largest)
        frame = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
    }

    /// A body of the whole of `body` (`layout.decodedLength` must equal `body.length`).
    convenience init(body: FileBody, layout: AwsChunkedLayout, signer: SigV4Signer, seedSignature: String,
                     amzDate: String, scope: String, shouldCancel: (@Sendable () -> Bool)?) {
        precondition(layout.decodedLength == body.length, "layout and body lengths differ")
        self.init(fd: body.fd, layout: layout, signer: signer, seedSignature: seedSignature, amzDate: amzDate,
                  scope: scope, shouldCancel: shouldCancel)
    }

    deinit { frame.deallocate() }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        if framePosition == frameLength {
            if sentFinalChunk { return 0 }
            guard fillNextFrame() else { return nil }
        }
        let count = min(buffer.count, frameLength - framePosition)
        // Safe: both ranges are within their buffers (count is bounded by both sizes).
        buffer.baseAddress!.copyMemory(from: frame.baseAddress! + framePosition, byteCount: count)
        framePosition += count
        return count
    }

    /// Reads, hashes and signs the next chunk into `frame`. Returns false on cancel or I/O error.
    private func fillNextFrame() -> Bool {
        if let shouldCancel, shouldCancel() {
            failure = S3Error(.cancelled)
            return false
        }
        let length = layout.decodedLength
        let dataLength = Int(min(Int64(layout.chunkSize), length - consumed))
        let headerLength = AwsChunkedLayout.headerLength(dataLength: dataLength)
        var filled = 0
        while filled < dataLength {
            let position = offset + consumed + Int64(filled)
            // Safe: the destination range [headerLength + filled, headerLength + dataLength) lies in `frame`.
            let n = pread(fd, frame.baseAddress! + headerLength + filled, dataLength - filled, off_t(position))
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                failure = S3Error(.io(errno: code, message: "reading the file at offset \(position) failed: \(String(cString: strerror(code)))"))
                return false
            }
            if n == 0 {
                failure = S3Error(.io(errno: 0, message: "the file is shorter than the \(offset + length) bytes expected (only \(position) could be read); it was truncated while uploading"))
                return false
            }
            filled += n
        }
        // Safe: hashing exactly the bytes just read, which lie inside `frame`.
        let data = UnsafeRawBufferPointer(rebasing: frame[headerLength..<(headerLength + dataLength)])
        hasher.update(data)
        let chunkHash = hasher.finish()
        let signature = signer.chunkSignature(previousSignature: previousSignature, chunkHash: chunkHash,
                                              amzDate: amzDate, scope: scope)
        previousSignature = signature
        let header = Array("\(String(dataLength, radix: 16));chunk-signature=\(signature)\r\n".utf8)
        precondition(header.count == headerLength, "chunk header length mismatch")
        frame.copyBytes(from: header)
        frame[headerLength + dataLength] = UInt8(ascii: "\r")
        frame[headerLength + dataLength + 1] = UInt8(ascii: "\n")
        frameLength = headerLength + dataLength + 2
        framePosition = 0
        consumed += Int64(dataLength)
        if dataLength == 0 { sentFinalChunk = true }
        return true
    }
}
