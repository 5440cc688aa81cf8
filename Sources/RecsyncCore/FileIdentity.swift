import FoundationEssentials
import RecsyncFS
import RecsyncS3
import RecsyncStore

extension FileIdentity {
    /// Whether this is the identity the server confirmed for `record` (its synced size, mtime,
    /// ctime and inode). A record from before ctime and inode were kept matches on size and mtime.
    public func matchesSynced(_ record: FileRecord) -> Bool {
        guard record.syncedSize == size, record.syncedMtimeNs == mtimeNs else { return false }
        guard let ctime = record.syncedCtimeNs, let inode = record.syncedInode else { return true }
        return ctime == ctimeNs && inode == Int64(bitPattern: self.inode)
    }
}

/// Checks by reading: whether a file still holds the bytes a stored checksum or stored part
/// digests describe.
public enum ContentCheck {
    /// The local file's checksum in the same form as the stored one.
    public static func localChecksum(fd: Int32, size: Int64, like stored: String) -> String? {
        if stored.hasPrefix("md5:") {
            return FileDigest.md5Hex(fd: fd, length: size).map { "md5:" + $0 }
        }
        if stored.hasPrefix(md5PartsPrefix) {
            // "md5-parts-PARTSIZE:ETAG" (the multipart ETag of parts of PARTSIZE)
            guard let colon = stored.firstIndex(of: ":"),
                  let partSize = Int64(stored[stored.index(stored.startIndex, offsetBy: md5PartsPrefix.count)..<colon]),
                  partSize > 0 else { return nil }
            return md5PartsChecksum(fd: fd, size: size, partSize: partSize)
        }
        // "sha256-parts-PARTSIZE:HEX" (SHA-256 of each part), or from older versions
        // "sha256-parts-PARTSIZE-CHUNKSIZE:HEX" (tree digest of each part over CHUNKSIZE chunks)
        guard stored.hasPrefix("sha256-parts-"), let colon = stored.firstIndex(of: ":") else { return nil }
        let sizes = stored[stored.index(stored.startIndex, offsetBy: 13)..<colon].split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(sizes.count), let partSize = Int64(sizes[0]), partSize > 0 else { return nil }
        var chunkSize: Int?
        if sizes.count == 2 {
            guard let size = Int(sizes[1]), size > 0 else { return nil }
            chunkSize = size
        }
        if let chunkSize {
            return partDigests(fd: fd, size: size, partSize: partSize) {
                FileDigest.treeSHA256Hex(fd: fd, offset: $0, length: $1, chunkSize: chunkSize)
            }.map { FileDigest.treeCompositeChecksum(partSize: partSize, chunkSize: chunkSize, partDigests: $0) }
        }
        return compositeChecksum(fd: fd, size: size, partSize: partSize)
    }

    /// The checksum recsync keeps for a multipart upload (`sha256-parts-PARTSIZE:HEX`), of the
    /// first `size` bytes of `fd` cut into parts of `partSize`; nil when the file cannot be read.
    public static func compositeChecksum(fd: Int32, size: Int64, partSize: Int64) -> String? {
        partDigests(fd: fd, size: size, partSize: partSize) { FileDigest.sha256Hex(fd: fd, offset: $0, length: $1) }
            .map { FileDigest.compositeChecksum(partSize: partSize, partDigests: $0) }
    }

    private static let md5PartsPrefix = "md5-parts-"

    /// The checksum kept for a multipart upload whose parts the server checked by CRC-32C:
    /// `md5-parts-PARTSIZE:ETAG`, the multipart ETag (MD5 of the parts' MD5s, `-N`) the parts'
    /// ETags give. A CRC-32C is a fine check of bytes on the wire but a weak proof that a file
    /// rewritten in place still holds them (32 bits, and linear); the MD5s the server took of
    /// every part are a strong one, and cost nothing while uploading. Only for ETags the server
    /// made MD5s (no KMS or customer key: the caller checks); nil when one is not of that form.
    public static func md5PartsChecksum(partSize: Int64, partETags: [String]) -> String? {
        FileDigest.multipartETag(partETags: partETags).map { "md5-parts-\(partSize):" + $0 }
    }

    /// The same of the first `size` bytes of `fd`, read and hashed; nil when it cannot be read.
    public static func md5PartsChecksum(fd: Int32, size: Int64, partSize: Int64) -> String? {
        partDigests(fd: fd, size: size, partSize: partSize) { FileDigest.md5Hex(fd: fd, offset: $0, length: $1) }
            .flatMap { md5PartsChecksum(partSize: partSize, partETags: $0) }
    }

    /// `digest` of each part of `partSize` bytes (the last one shorter) of the first `size` bytes,
    /// in order; nil when one cannot be made.
    public static func partDigests(fd: Int32, size: Int64, partSize: Int64,
                                   _ digest: (_ offset: Int64, _ length: Int64) -> String?) -> [String]? {
        var digests: [String] = []
        var offset: Int64 = 0
        while offset < size {
            let length = min(partSize, size - offset)
            guard let part = digest(offset, length) else { return nil }
            digests.append(part)
            offset += length
        }
        return digests
    }

    /// Whether the first `size` bytes of `fd` have the stored checksum; nil when it cannot be told
    /// (no checksum, an unknown form, or the file cannot be read).
    public static func matches(fd: Int32, size: Int64, checksum: String?) -> Bool? {
        guard let checksum, !checksum.isEmpty, let local = localChecksum(fd: fd, size: size, like: checksum) else { return nil }
        return local == checksum
    }

    /// The stored parts whose bytes in `fd` still have their stored digest (`partSize` apart,
    /// part 1 at offset 0): their SHA-256, or for parts sent with a CRC-32C their ETag as an
    /// MD5, as `partDigest` says (`MultipartState`). The rest must be sent again.
    public static func partsStillMatching(_ parts: [StoredPart], partSize: Int64, partDigest: String?, fd: Int32) -> [StoredPart] {
        parts.filter { part in
            let offset = Int64(part.partNumber - 1) * partSize
            switch partDigest {
            case MultipartState.sha256PartDigest?:
                return FileDigest.sha256Hex(fd: fd, offset: offset, length: part.size) == part.digest
            case MultipartState.crc32cPartDigest?:
                // The part's ETag, the MD5 the server took of it (see `md5PartsChecksum`).
                return FileDigest.md5Hex(fd: fd, offset: offset, length: part.size) == part.etag.unquotedETag().lowercased()
            default:
                return false
            }
        }
    }
}
