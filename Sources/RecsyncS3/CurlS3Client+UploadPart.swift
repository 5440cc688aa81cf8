import Foundation

extension CurlS3Client {
    /// PUT `?partNumber&uploadId` with an aws-chunked, chunk-signed body read from a window of
    /// the file: each byte is read once with `pread`, hashed for its chunk signature and for the
    /// part's SHA-256 in the same pass, and sent; memory use is one chunk.
    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64,
                           length: Int64, progress: (@Sendable (Int64) -> Void)?,
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

        let layout = AwsChunkedLayout(decodedLength: length, chunkSize: options.chunkSize)
        let headers: [(name: String, value: String)] = [
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", String(length)),
        ]
        var prepared = prepare(method: "PUT", bucket: bucket, key: key,
                               query: [("partNumber", String(partNumber)), ("uploadId", uploadId)],
                               headers: headers, payloadHash: SigV4Signer.streamingPayload)
        let source = AwsChunkedBodySource(fd: body.fd, offset: offset, layout: layout, signer: prepared.signer,
                                          seedSignature: prepared.signature.signature,
                                          amzDate: prepared.signature.amzDate, scope: prepared.signature.scope,
                                          shouldCancel: shouldCancel, hashWhole: true)
        prepared.http.body = source
        prepared.http.progress = progress
        prepared.http.shouldCancel = shouldCancel
        prepared.http.progressMapping = { layout.decodedBytes(forEncoded: $0) }
        prepared.http.rateLimited = true

        let response = try sendForUpload(prepared.http, operation: operation)
        let etag = try Self.confirmedETag(response.headers, what: "UploadPart", operation: operation)
        guard let sha256Hex = source.wholeSHA256Hex else {
            // curl reported success without asking for the whole body: never trust such a part.
            throw S3Error(.invalidResponse(message: "the server answered before the whole part was sent"), operation: operation)
        }
        return UploadedPart(partNumber: partNumber, etag: etag, size: length, sha256Hex: sha256Hex)
    }
}
