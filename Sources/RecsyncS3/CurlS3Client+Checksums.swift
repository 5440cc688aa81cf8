import FoundationEssentials
import Logging
import Synchronization
import RecsyncPrimitives

/// What the client knows of the server's flexible checksums (`upload_checksum = "auto"`).
struct ChecksumProbeState: Sendable {
    /// The probe's verdict, kept for the client's life.
    var decided: UploadChecksum?
    /// A probe is running: other uploads use SHA-256 meanwhile.
    var probing = false
    /// A probe that could not conclude (the server unreachable, a 5xx) is tried again after this.
    var retryAfter: ContinuousClock.Instant?
    /// Probes that could not conclude so far: after `CurlS3Client.inconclusiveProbeLimit` of
    /// them, SHA-256 is kept for good.
    var inconclusive = 0
}

extension CurlS3Client {
    /// The payload hash of a body sent with a checksum trailer.
    static let unsignedTrailerPayload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    /// How long an inconclusive probe is not repeated.
    static let probeRetryInterval: Duration = .seconds(60)
    /// Inconclusive probes before SHA-256 is kept for good.
    static let inconclusiveProbeLimit = 5
    /// The error codes of a server that computed the trailer's checksum and found it wrong.
    static let checksumMismatchCodes: Set<String> = ["BadDigest", "XAmzContentChecksumMismatch", "InvalidChecksum"]

    /// The headers of a request whose body is a `TrailerBodySource`.
    static func trailerHeaders(decodedLength: Int64) -> [(name: String, value: String)] {
        [
            ("Content-Encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", String(decodedLength)),
            ("x-amz-trailer", TrailerLayout.trailerName),
            ("x-amz-sdk-checksum-algorithm", UploadChecksum.crc32c.algorithmName),
        ]
    }

    /// The CRC-32C of a trailer body that went through: every byte was handed to curl, and the
    /// server's answer names the same checksum. A server that answers without it did not take
    /// the trailer as a checksum (it may not support them), so the upload is not confirmed.
    static func confirmedTrailer(_ source: TrailerBodySource, _ headers: [String: String],
                                 operation: String) throws -> CRC32C {
        guard source.isComplete, let crc = source.checksum else {
            throw S3Error(.invalidResponse(message: "the server answered before the whole body was sent"), operation: operation)
        }
        guard let echoed = headers[TrailerLayout.trailerName] else {
            throw S3Error(.invalidResponse(message: "the server did not confirm the CRC32C sent with the upload (no \(TrailerLayout.trailerName) in its answer), so it may not check it; set upload_checksum = \"sha256\" or \"auto\""),
                          operation: operation)
        }
        guard echoed.trimmingWhitespace() == crc.base64 else {
            throw S3Error(.invalidResponse(message: "the server confirmed CRC32C \(echoed), not the \(crc.base64) of the bytes sent; the upload is not confirmed"),
                          operation: operation)
        }
        return crc
    }

    /// Attaches `source` to a request signed for a trailer body, sends it, and returns the answer
    /// with the CRC-32C it confirmed (see `confirmedTrailer`).
    func sendTrailerBody(_ prepared: PreparedRequest, source: TrailerBodySource, progress: (@Sendable (Int64) -> Void)?,
                         shouldCancel: (@Sendable () -> Bool)?, operation: String,
                         namesUpload: Bool) throws -> (response: HTTPResponse, crc: CRC32C) {
        var request = prepared.http
        let layout = source.layout
        request.body = source
        request.progress = progress
        request.shouldCancel = shouldCancel
        request.progressMapping = { layout.decodedBytes(forEncoded: $0) }
        request.rateLimited = true
        let response = try sendWithTrailer(request, operation: operation, namesUpload: namesUpload)
        return (response, try Self.confirmedTrailer(source, response.headers, operation: operation))
    }

    /// Sends a request with a CRC-32C trailer. When `upload_checksum = "crc32c"` forced it and
    /// the server refuses the request, the error says that the setting may be the cause.
    /// `namesUpload`: the request names an upload id (`sendForUpload`).
    func sendWithTrailer(_ request: HTTPRequest, operation: String, namesUpload: Bool) throws -> HTTPResponse {
        do {
            return namesUpload ? try sendForUpload(request, operation: operation) : try send(request, operation: operation)
        } catch let error as S3Error {
            guard options.uploadChecksum == .crc32c, case let .http(status, code, message, requestId) = error.kind,
                  (400..<500).contains(status) || status == 501,
                  !["NoSuchUpload", "NoSuchBucket", "PreconditionFailed", "ExpiredToken", "RequestTimeTooSkewed"].contains(code)
            else { throw error }
            let hint = " (the upload was sent with a CRC32C trailer because upload_checksum = \"crc32c\"; if this server does not support S3's flexible checksums, set upload_checksum = \"auto\" or \"sha256\")"
            throw S3Error(.http(status: status, code: code, message: message + hint, requestId: requestId), operation: error.operation)
        }
    }

    /// The checksum uploads of `key` carry now. With `upload_checksum = "auto"` the first call
    /// probes the server (see `probeChecksums`) and every later one uses its verdict; while the
    /// probe runs, or when it could not conclude, uploads use SHA-256.
    public func uploadChecksum(bucket: String, key: String) -> UploadChecksum {
        switch options.uploadChecksum {
        case .sha256: return .sha256
        case .crc32c: return .crc32c
        case .auto: break
        }
        let now = ContinuousClock.now
        let mayProbe: Bool = checksumProbe.withLock { state in
            if state.decided != nil || state.probing { return false }
            if let after = state.retryAfter, now < after { return false }
            state.probing = true
            return true
        }
        guard mayProbe else { return checksumProbe.withLock { $0.decided } ?? .sha256 }
        let verdict = probeChecksums(bucket: bucket, key: Self.probeKey(near: key))
        checksumProbe.withLock { state in
            state.probing = false
            if let verdict {
                state.decided = verdict
            } else {
                state.inconclusive += 1
                if state.inconclusive >= Self.inconclusiveProbeLimit {
                    state.decided = .sha256
                } else {
                    state.retryAfter = ContinuousClock.now + Self.probeRetryInterval
                }
            }
        }
        return verdict ?? .sha256
    }

    /// What is known of the server's trailers, without waiting: the forced choice, the probe's
    /// verdict, or nil while none is in (a probe running, or not concluded yet).
    public func decidedUploadChecksum() -> UploadChecksum? {
        switch options.uploadChecksum {
        case .sha256: return .sha256
        case .crc32c: return .crc32c
        case .auto: return checksumProbe.withLock { $0.decided }
        }
    }

    /// The key the probe uses: `.recsync-checksum-probe` in the folder of `key`, where recsync
    /// may write (a policy that limits it to a prefix allows it), and apart from the recording's
    /// own key, whose uploads stay as they are.
    static func probeKey(near key: String) -> String {
        guard let slash = key.lastIndex(of: "/") else { return ".recsync-checksum-probe" }
        return key[...slash] + ".recsync-checksum-probe"
    }

    /// Whether the server checks CRC-32C trailers, learnt from a multipart upload of `key` that
    /// is aborted at the end (nothing ever becomes visible under the key): a part with the right
    /// trailer must be accepted and its CRC-32C echoed, and a part with a wrong one refused.
    /// A server that takes the wrong one does not check, so it gets SHA-256. Nil when the
    /// server could not be asked or its answer says nothing of checksums (unreachable, busy,
    /// credentials or clock refused): the probe is tried again later.
    ///
    /// Each body is two chunks, the first of 8 KiB (the smallest chunk but the last that
    /// S3 accepts in streamed bodies), as uploads send them.
    func probeChecksums(bucket: String, key: String) -> UploadChecksum? {
        let line = Array("recsync checks whether this server verifies CRC32C trailers\n".utf8)
        let body = Array((0..<(8192 / line.count + 1)).map { _ in line }.joined())
        // An earlier probe cut short (the daemon killed, an abort that failed) left its upload.
        if let leftovers = try? listMultipartUploads(bucket: bucket, prefix: key) {
            for upload in leftovers where upload.key == key {
                try? abortMultipartUpload(bucket: bucket, key: key, uploadId: upload.uploadId)
            }
        }
        let uploadId: String
        do {
            uploadId = try createMultipartUpload(bucket: bucket, key: key, contentType: "application/octet-stream",
                                                 metadata: [:], declaring: .crc32c)
        } catch {
            return conclude(verdict(of: error), "CreateMultipartUpload declaring CRC32C failed", error: error)
        }
        defer { try? abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId) }
        func part(_ number: Int, corrupt: Bool) throws {
            _ = try uploadPartWithTrailer(bucket: bucket, key: key, uploadId: uploadId, partNumber: number,
                                          source: TrailerBodySource(bytes: body, corrupt: corrupt, chunkSize: 8192),
                                          progress: nil, shouldCancel: nil, operation: "UploadPart \(bucket)/\(key) (checksum probe)")
        }
        do {
            try part(1, corrupt: false)
        } catch let error as S3Error {
            if case .invalidResponse = error.kind {
                return conclude(.sha256, "a part with a CRC32C trailer was not confirmed", error: error)
            }
            return conclude(verdict(of: error), "a part with a CRC32C trailer was refused", error: error)
        } catch {
            return conclude(nil, "the probe failed", error: error)
        }
        do {
            try part(2, corrupt: true)
            return conclude(.sha256, "a part with a wrong CRC32C trailer was accepted: the server does not check them", error: nil)
        } catch let error as S3Error {
            if case .invalidResponse = error.kind {
                // Answered 200, echoing the wrong checksum or none: taken, not checked.
                return conclude(.sha256, "a part with a wrong CRC32C trailer was accepted: the server does not check them", error: error)
            }
            if case let .http(400, code, _, _) = error.kind, Self.checksumMismatchCodes.contains(code) {
                return conclude(.crc32c, "a part with a wrong CRC32C trailer was refused (\(code))", error: nil)
            }
            return conclude(verdict(of: error), "a part with a wrong CRC32C trailer got an unexpected answer", error: error)
        } catch {
            return conclude(nil, "the probe failed", error: error)
        }
    }

    /// What a refusal says of the server: SHA-256 for good when it answered the request itself
    /// (it does not take such uploads), nil when the answer is about the moment, the
    /// credentials or the clock (ask again later).
    private func verdict(of error: any Error) -> UploadChecksum? {
        guard let error = error as? S3Error, case let .http(status, code, _, _) = error.kind else { return nil }
        if Self.transientProbeCodes.contains(code) || status == 403 { return nil }
        return status == 501 || !S3Error.isRetryable(status: status, code: code) ? .sha256 : nil
    }

    static let transientProbeCodes: Set<String> = [
        "ExpiredToken", "TokenRefreshRequired", "RequestTimeTooSkewed", "RequestTimeout", "SignatureDoesNotMatch",
        "InvalidAccessKeyId", "AccessDenied", "NoSuchBucket", "NoSuchUpload", "SlowDown",
    ]

    private func conclude(_ verdict: UploadChecksum?, _ reason: String, error: (any Error)?) -> UploadChecksum? {
        var metadata: Logger.Metadata = ["reason": "\(reason)"]
        if let error { metadata["error"] = "\(error)" }
        switch verdict {
        case .crc32c?:
            logger.info("the server checks CRC32C trailers: uploads send a CRC32C instead of signing a SHA-256", metadata: metadata)
        case .sha256?:
            logger.info("uploads are checked with a signed SHA-256: the server does not check CRC32C trailers", metadata: metadata)
        case nil:
            logger.info("could not learn whether the server checks CRC32C trailers; uploads use SHA-256 and it is asked again later",
                        metadata: metadata)
        }
        return verdict
    }
}
