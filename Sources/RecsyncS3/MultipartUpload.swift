import FoundationEssentials

/// A part accepted by UploadPart.
public struct UploadedPart: Sendable, Equatable {
    public var partNumber: Int
    /// ETag without the surrounding quotes.
    public var etag: String
    /// Bytes in the part.
    public var size: Int64
    /// The digest of the part's bytes the server checked them against, in lowercase hex: their
    /// SHA-256 (64 digits) or their CRC-32C (8 digits), as `checksum` says.
    public var digest: String
    public var checksum: UploadChecksum

    public init(partNumber: Int, etag: String, size: Int64, digest: String, checksum: UploadChecksum = .sha256) {
        self.partNumber = partNumber
        self.etag = etag
        self.size = size
        self.digest = digest
        self.checksum = checksum
    }
}

/// A part named in CompleteMultipartUpload.
public struct CompletedPart: Sendable, Equatable {
    public var partNumber: Int
    /// ETag as UploadPart returned it (with or without quotes).
    public var etag: String
    /// The part's digest as `UploadedPart.digest` gave it, sent as its `ChecksumSHA256` or
    /// `ChecksumCRC32C`; required by S3 for the parts of an upload that declared a checksum
    /// algorithm (recsync's uploads do).
    public var digest: String?
    public var checksum: UploadChecksum

    public init(partNumber: Int, etag: String, digest: String? = nil, checksum: UploadChecksum = .sha256) {
        self.partNumber = partNumber
        self.etag = etag
        self.digest = digest
        self.checksum = checksum
    }
}

/// A part as ListParts reports it.
public struct ListedPart: Sendable, Equatable {
    public var partNumber: Int
    /// ETag without the surrounding quotes.
    public var etag: String
    public var size: Int64

    public init(partNumber: Int, etag: String, size: Int64) {
        self.partNumber = partNumber
        self.etag = etag
        self.size = size
    }
}

/// An open multipart upload as ListMultipartUploads reports it.
public struct MultipartUploadSummary: Sendable, Equatable {
    public var key: String
    public var uploadId: String
    public var initiated: Date?

    public init(key: String, uploadId: String, initiated: Date? = nil) {
        self.key = key
        self.uploadId = uploadId
        self.initiated = initiated
    }
}

/// S3's limits on multipart uploads.
public enum MultipartLimits {
    /// Part numbers run from 1 to 10,000.
    public static let partNumbers = 1...10_000
    /// Every part but the last must hold at least 5 MiB.
    public static let minimumPartSize: Int64 = 5 << 20
    /// No part may hold more than 5 GiB.
    public static let maximumPartSize: Int64 = 5 << 30
}

extension S3Error {
    /// True when the multipart upload named in the request does not exist (any more): it was
    /// completed, aborted, or expired by a lifecycle rule.
    public var isNoSuchUpload: Bool {
        if case let .http(_, code, _, _) = kind { return code == "NoSuchUpload" }
        return false
    }
}

/// Multipart uploads for clients written before they were part of `S3Client`: every call fails
/// with `invalidRequest`, so callers fall back to `putObject`.
extension S3Client {
    private func unsupported(_ operation: String) -> S3Error {
        S3Error(.invalidRequest(message: "\(type(of: self)) does not support multipart uploads"), operation: operation)
    }

    public func createMultipartUpload(bucket: String, key: String, contentType: String, metadata: [String: String]) throws -> String {
        throw unsupported("CreateMultipartUpload \(bucket)/\(key)")
    }

    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64, length: Int64,
                           progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        throw unsupported("UploadPart \(bucket)/\(key) part \(partNumber)")
    }

    public func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) throws -> PutObjectResult {
        throw unsupported("CompleteMultipartUpload \(bucket)/\(key)")
    }

    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) throws {
        throw unsupported("AbortMultipartUpload \(bucket)/\(key)")
    }

    public func listParts(bucket: String, key: String, uploadId: String) throws -> [ListedPart] {
        throw unsupported("ListParts \(bucket)/\(key)")
    }

    public func listMultipartUploads(bucket: String, prefix: String) throws -> [MultipartUploadSummary] {
        throw unsupported("ListMultipartUploads \(bucket)/\(prefix)")
    }
}
