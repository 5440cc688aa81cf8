import FoundationEssentials

/// How a file is cut into parts: files above the threshold go up as a multipart upload with
/// parts of `chunkSize` bytes (at least 5 MiB), grown (doubled) until no more than 10,000
/// parts are needed.
public struct PartPlan: Sendable, Equatable {
    public static let minimumPartSize: Int64 = 5 * 1024 * 1024
    public static let maximumParts: Int64 = 10_000
    /// Files larger than this use multipart (S3's smallest part size, the design's 5 MB).
    public static let threshold: Int64 = 5 * 1024 * 1024

    public let fileSize: Int64
    public let partSize: Int64

    public init(fileSize: Int64, chunkSize: Int64) {
        var size = max(chunkSize, Self.minimumPartSize)
        while (fileSize + size - 1) / size > Self.maximumParts { size *= 2 }
        self.fileSize = fileSize
        self.partSize = size
    }

    public static func usesMultipart(fileSize: Int64) -> Bool { fileSize > threshold }

    public var partCount: Int { Int(max(1, (fileSize + partSize - 1) / partSize)) }

    /// Byte range of part `number` (1-based).
    public func range(of number: Int) -> (offset: Int64, length: Int64) {
        let offset = Int64(number - 1) * partSize
        return (offset, min(partSize, fileSize - offset))
    }
}
