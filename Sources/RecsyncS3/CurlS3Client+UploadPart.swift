import FoundationEssentials

extension CurlS3Client {
    /// How much of a part is read at a time to hash it: small enough to stay in the CPU's cache
    /// between the read and the hash.
    static let hashBufferSize = 64 << 10

    /// PUT `?partNumber&uploadId` with a plain body read from a window of the file, signed with
    /// the part's SHA-256 as payload hash: the server refuses the part unless every byte it got
    /// hashes to the signed value. The window is read twice with `pread` (hashed, then sent) and
    /// hashed once; memory use is one small buffer, whatever the part size.
    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64,
                           length: Int64, progress: (@Sendable (Int64) -> Void)?,
                           shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        try uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: body, offset: offset,
                       length: length, checksum: .sha256, progress: progress, shouldCancel: shouldCancel)
    }

    /// The same, with the part's bytes checked against `checksum`: their signed SHA-256 as
    /// above, or a CRC-32C trailer computed while they are sent (read once; see
    /// `TrailerBodySource`). The upload must have declared the same algorithm.
    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64,
                           length: Int64, checksum: UploadChecksum, progress: (@Sendable (Int64) -> Void)?,
                           shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        let operation = "UploadPart \(bucket)/\(key) part \(partNumber)"
        guard MultipartLimits.partNumbers.contains(partNumber) else {
            throw S3Error(.invalidRequest(message: "part number \(partNumber) is outside 1...10000"), operation: operation)
        }
        guard offset >= 0, length >= 0 else {
            throw S3Error(.invalidRequest(message: "invalid file range: offset \(offset), length \(length)"), operation: operation)
        }
        guard length <= MultipartLimits.maximumPartSize else {
            throw S3Error(.invalidRequest(message: "a part holds at most 5 GiB, not \(length) bytes; use more parts"),
                          operation: operation)
        }
        guard !key.isEmpty, !uploadId.isEmpty else {
            throw S3Error(.invalidRequest(message: "the object key and the upload id must not be empty"), operation: operation)
        }
        if let shouldCancel, shouldCancel() { throw S3Error(.cancelled, operation: operation) }
        if checksum == .crc32c {
            return try uploadPartWithTrailer(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber,
                                             source: TrailerBodySource(fd: body.fd, offset: offset, length: length,
                                                                       shouldCancel: shouldCancel),
                                             progress: progress, shouldCancel: shouldCancel, operation: operation)
        }

        // The part's SHA-256 comes first: it is signed as the payload hash (x-amz-content-sha256),
        // which the server checks against every byte it receives, and sent as the part's
        // x-amz-checksum-sha256 (the upload declares SHA256). Then the bytes are read a second
        // time, straight into curl's buffer, as they are sent. Memory use is one hash buffer.
        let digest: [UInt8]
        do {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.hashBufferSize, alignment: 64)
            defer { buffer.deallocate() }
            digest = try FileDigest.sha256(fd: body.fd, offset: offset, length: length, buffer: buffer)
        } catch var error as S3Error {
            error.operation = operation
            throw error
        }
        if let shouldCancel, shouldCancel() { throw S3Error(.cancelled, operation: operation) }
        let sha256Hex = Crypto.hex(digest)
        var prepared = prepare(method: "PUT", bucket: bucket, key: key,
                               query: [("partNumber", String(partNumber)), ("uploadId", uploadId)],
                               headers: [("x-amz-checksum-sha256", Data(digest).base64EncodedString())],
                               payloadHash: sha256Hex)
        let source = FileWindowBodySource(fd: body.fd, offset: offset, length: length, shouldCancel: shouldCancel)
        prepared.http.body = source
        prepared.http.progress = progress
        prepared.http.shouldCancel = shouldCancel
        prepared.http.progressMapping = { $0 }
        prepared.http.rateLimited = true

        let response = try sendForUpload(prepared.http, operation: operation)
        let etag = try Self.confirmedETag(response.headers, what: "UploadPart", operation: operation)
        guard source.isComplete else {
            // curl reported success without sending the whole body: never trust such a part.
            throw S3Error(.invalidResponse(message: "the server answered before the whole part was sent"), operation: operation)
        }
        return UploadedPart(partNumber: partNumber, etag: etag, size: length, digest: sha256Hex)
    }

    /// UploadPart with a CRC-32C trailer (also the probe's, with a body in memory).
    func uploadPartWithTrailer(bucket: String, key: String, uploadId: String, partNumber: Int, source: TrailerBodySource,
                               progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?,
                               operation: String) throws -> UploadedPart {
        let prepared = prepare(method: "PUT", bucket: bucket, key: key,
                               query: [("partNumber", String(partNumber)), ("uploadId", uploadId)],
                               headers: Self.trailerHeaders(decodedLength: source.decodedLength),
                               payloadHash: Self.unsignedTrailerPayload)
        let sent = try sendTrailerBody(prepared, source: source, progress: progress, shouldCancel: shouldCancel,
                                       operation: operation, namesUpload: true)
        let etag = try Self.confirmedETag(sent.response.headers, what: "UploadPart", operation: operation)
        return UploadedPart(partNumber: partNumber, etag: etag, size: source.decodedLength, digest: sent.crc.hex, checksum: .crc32c)
    }
}
