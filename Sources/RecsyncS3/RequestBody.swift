import FoundationEssentials

/// Supplies an upload body to libcurl's read callback. Used by one thread, the one running the
/// transfer.
protocol RequestBodySource: AnyObject {
    /// Total bytes that will be produced (the request's Content-Length).
    var contentLength: Int64 { get }
    /// Copies up to `buffer.count` bytes; returns 0 at the end, nil to abort (see `failure`).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int?
    /// Why `read` aborted.
    var failure: S3Error? { get }
}

/// A small in-memory body (e.g. a CreateBucketConfiguration document).
final class DataBodySource: RequestBodySource {
    private let data: Data
    private var position = 0
    var contentLength: Int64 { Int64(data.count) }
    var failure: S3Error? { nil }

    init(_ data: Data) { self.data = data }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let count = min(buffer.count, data.count - position)
        guard count > 0 else { return 0 }
        data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: position..<(position + count))
        position += count
        return count
    }
}
