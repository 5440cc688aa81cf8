import FoundationEssentials

extension CurlS3Client {
    /// Uploads a file in one PutObject request with an aws-chunked, chunk-signed body: each byte
    /// is read once with `pread`, hashed once and sent; memory use is one chunk.
    public func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                          progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        try putObject(bucket: bucket, key: key, body: body, contentType: contentType, metadata: metadata,
                      condition: nil, progress: progress, shouldCancel: shouldCancel)
    }

    public func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                          condition: PutCondition?, progress: (@Sendable (Int64) -> Void)?,
                          shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
        let operation = "PutObject \(bucket)/\(key)"
        guard body.length >= 0 else {
            throw S3Error(.invalidRequest(message: "negative body length \(body.length)"), operation: operation)
        }
        let metaHeaders = try objectHeaders(key: key, contentType: contentType, metadata: metadata, operation: operation)
        if let shouldCancel, shouldCancel() { throw S3Error(.cancelled, operation: operation) }

        if body.length == 0 {
            return try putEmptyObject(bucket: bucket, key: key, contentType: contentType, metaHeaders: metaHeaders,
                                      condition: condition, operation: operation)
        }
        if uploadChecksum(bucket: bucket, key: key) == .crc32c {
            return try putObjectWithTrailer(bucket: bucket, key: key, body: body, contentType: contentType,
                                            metaHeaders: metaHeaders, condition: condition, progress: progress,
                                            shouldCancel: shouldCancel, operation: operation)
        }
        let layout = AwsChunkedLayout(decodedLength: body.length, chunkSize: options.chunkSize)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", contentType),
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", String(body.length)),
        ]
        headers += metaHeaders
        headers += Self.conditionHeaders(condition)
        var prepared = prepare(method: "PUT", bucket: bucket, key: key, headers: headers,
                               payloadHash: SigV4Signer.streamingPayload)
        let source = AwsChunkedBodySource(body: body, layout: layout, signer: prepared.signer,
                                          seedSignature: prepared.signature.signature,
                                          amzDate: prepared.signature.amzDate, scope: prepared.signature.scope,
                                          shouldCancel: shouldCancel)
        prepared.http.body = source
        prepared.http.progress = progress
        prepared.http.shouldCancel = shouldCancel
        prepared.http.progressMapping = { layout.decodedBytes(forEncoded: $0) }
        prepared.http.rateLimited = true

        let response = try send(prepared.http, operation: operation)
        return try Self.putResult(response.headers, operation: operation)
    }

    /// PutObject with a CRC-32C trailer: the file is read once, the checksum computed as the
    /// bytes are sent, and the answer must echo it.
    private func putObjectWithTrailer(bucket: String, key: String, body: FileBody, contentType: String,
                                      metaHeaders: [(name: String, value: String)], condition: PutCondition?,
                                      progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?,
                                      operation: String) throws -> PutObjectResult {
        var headers: [(name: String, value: String)] = [("Content-Type", contentType)]
        headers += Self.trailerHeaders(decodedLength: body.length)
        headers += metaHeaders
        headers += Self.conditionHeaders(condition)
        let prepared = prepare(method: "PUT", bucket: bucket, key: key, headers: headers, payloadHash: Self.unsignedTrailerPayload)
        let source = TrailerBodySource(fd: body.fd, offset: 0, length: body.length, shouldCancel: shouldCancel)
        let sent = try sendTrailerBody(prepared, source: source, progress: progress, shouldCancel: shouldCancel,
                                       operation: operation, namesUpload: false)
        return try Self.putResult(sent.response.headers, operation: operation)
    }

    /// What a PutObject answer confirms: the ETag (required), the version and the encryption.
    static func putResult(_ headers: [String: String], operation: String) throws -> PutObjectResult {
        let encryption = headers["x-amz-server-side-encryption-customer-algorithm"] != nil
            ? "SSE-C" : headers["x-amz-server-side-encryption"]
        return PutObjectResult(etag: try confirmedETag(headers, what: "PutObject", operation: operation),
                               versionId: headers["x-amz-version-id"], serverSideEncryption: encryption)
    }

    /// Checks the key and content type of a new object and encodes its metadata as
    /// `x-amz-meta-*` headers (PutObject and CreateMultipartUpload).
    func objectHeaders(key: String, contentType: String, metadata: [String: String],
                       operation: String) throws -> [(name: String, value: String)] {
        guard !key.isEmpty else {
            throw S3Error(.invalidRequest(message: "the object key is empty; give a file name"), operation: operation)
        }
        guard !contentType.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value >= 0x7f }) else {
            throw S3Error(.invalidRequest(message: "content type '\(contentType)' must be printable ASCII"), operation: operation)
        }
        do {
            return try MetadataEncoding.headers(for: metadata)
        } catch var error as S3Error {
            error.operation = operation
            throw error
        }
    }

    /// An empty object: there is no chunk to sign, and strict servers refuse a streaming body made
    /// of the final chunk alone, so the empty payload's SHA-256 is signed directly.
    private func putEmptyObject(bucket: String, key: String, contentType: String,
                                metaHeaders: [(name: String, value: String)], condition: PutCondition?,
                                operation: String) throws -> PutObjectResult {
        var headers: [(name: String, value: String)] = [("Content-Type", contentType)] + metaHeaders
        headers += Self.conditionHeaders(condition)
        var prepared = prepare(method: "PUT", bucket: bucket, key: key, headers: headers, payloadHash: Crypto.emptySHA256Hex)
        prepared.http.body = DataBodySource(Data())
        let response = try send(prepared.http, operation: operation)
        return try Self.putResult(response.headers, operation: operation)
    }

    /// The request headers that make a write conditional.
    static func conditionHeaders(_ condition: PutCondition?) -> [(name: String, value: String)] {
        switch condition {
        case .noObject?: return [("If-None-Match", "*")]
        case .etag(let etag)?: return [("If-Match", "\"\(ETag.normalize(etag))\"")]
        case nil: return []
        }
    }

    /// The ETag of a successful write; a 200 without one cannot be confirmed and is an error.
    static func confirmedETag(_ headers: [String: String], what: String, operation: String) throws -> String {
        guard let raw = headers["etag"], !ETag.normalize(raw).isEmpty else {
            throw S3Error(.invalidResponse(message: "\(what) answered 200 without an ETag header, so the upload cannot be confirmed"),
                          operation: operation)
        }
        return ETag.normalize(raw)
    }
}
