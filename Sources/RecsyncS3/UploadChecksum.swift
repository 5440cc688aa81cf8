/// What the server checks the bytes of an upload against.
public enum UploadChecksum: String, Sendable, Equatable, CaseIterable {
    /// The body's SHA-256, signed as the payload hash (`x-amz-content-sha256`): every S3 server
    /// checks it. The bytes are read twice (hashed, then sent).
    case sha256
    /// A CRC-32C sent after the body as an `x-amz-checksum-crc32c` trailer
    /// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, S3's flexible checksums): checked by servers that
    /// support them, computed while the bytes are sent, at a fraction of SHA-256's cost.
    case crc32c

    /// The name S3 gives it (`x-amz-checksum-algorithm`).
    public var algorithmName: String { self == .sha256 ? "SHA256" : "CRC32C" }
}

/// How the client picks the checksum of its uploads (the `upload_checksum` setting).
public enum UploadChecksumChoice: String, Sendable, Equatable, CaseIterable {
    /// CRC-32C when a probe proves the server checks it (a wrong trailer refused, a right one
    /// accepted and echoed), SHA-256 otherwise.
    case auto
    /// Always SHA-256.
    case sha256
    /// Always CRC-32C, without the probe; each answer must still echo the CRC-32C sent.
    case crc32c
}
