import CChecksum
import FoundationEssentials

/// Incremental CRC-32C (S3's `CRC32C` checksum). A value type: each user owns its own.
public struct CRC32C: Sendable, Equatable {
    public private(set) var value: UInt32 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        value = recsync_crc32c(value, base, bytes.count)
    }

    public mutating func update<D: ContiguousBytes>(_ data: D) {
        data.withUnsafeBytes { update($0) }
    }

    /// The four bytes, most significant first, as S3 sends them.
    public var bytes: [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    /// Base64 of `bytes`: the form of `x-amz-checksum-crc32c` and `ChecksumCRC32C`.
    public var base64: String { Data(bytes).base64EncodedString() }

    /// Eight lowercase hex digits of `bytes`: the form recsync stores.
    public var hex: String { Crypto.hex(bytes) }

    /// The CRC-32C of `data` computed with the table alone (for tests of the fast path).
    public static func portable<D: ContiguousBytes>(_ data: D) -> UInt32 {
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return 0 }
            return recsync_crc32c_portable(0, base, raw.count)
        }
    }
}
