import CCrypto
import FoundationEssentials
import Glibc

/// Whole-file digests, for checking what the server holds against what is on disk.
public enum FileDigest {
    /// The MD5 of the first `length` bytes of `fd` as lowercase hex (the ETag S3 gives a
    /// single-part upload), read with pread so the descriptor's offset is untouched.
    /// Returns nil if the file is shorter than `length` or cannot be read.
    public static func md5Hex(fd: Int32, length: Int64) -> String? {
        digestHex(EVP_md5(), fd: fd, offset: 0, length: length)
    }

    /// The MD5 of bytes [offset, offset+length) of `fd` as lowercase hex.
    public static func md5Hex(fd: Int32, offset: Int64, length: Int64) -> String? {
        digestHex(EVP_md5(), fd: fd, offset: offset, length: length)
    }

    /// Digests bytes [offset, offset+length) of `fd` with `md`, read with pread in 1 MiB pieces.
    static func digestHex(_ md: OpaquePointer?, fd: Int32, offset: Int64, length: Int64) -> String? {
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, md, nil) == 1 else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        do {
            try readPieces(fd: fd, offset: offset, length: length, buffer: buffer) { piece in
                // Safe: `piece` is valid for the duration of the call.
                _ = EVP_DigestUpdate(context, piece.baseAddress, piece.count)
            }
        } catch {
            return nil
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var size: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &size) == 1 else { return nil }
        return Crypto.hex(digest.prefix(Int(size)))
    }
}

extension FileDigest {
    /// SHA-256 of `data` as lowercase hex.
    public static func sha256Hex(_ data: Data) -> String {
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        data.withUnsafeBytes { raw in
            // Safe: SHA256 reads raw.count bytes of the data and writes 32 bytes into digest.
            _ = SHA256(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &digest)
        }
        return Crypto.hex(digest)
    }

    /// The checksum recsync keeps for a multipart upload: `sha256-parts-PARTSIZE:HEX`, the SHA-256
    /// of the parts' SHA-256 digests (lowercase hex, one per line, in part order).
    public static func compositeChecksum(partSize: Int64, partDigests: [String]) -> String {
        "sha256-parts-\(partSize):" + sha256Hex(Data(partDigests.joined(separator: "\n").utf8))
    }

    /// The checksum of uploads made before parts were sent with a plain SHA-256: the same over the
    /// parts' tree digests (see `treeSHA256Hex`), tagged `sha256-parts-PARTSIZE-CHUNKSIZE:HEX`.
    /// Still read by `recsync verify` and for multipart uploads stored by older versions.
    public static func treeCompositeChecksum(partSize: Int64, chunkSize: Int = defaultTreeChunkSize,
                                             partDigests: [String]) -> String {
        "sha256-parts-\(partSize)-\(chunkSize):" + sha256Hex(Data(partDigests.joined(separator: "\n").utf8))
    }
}

extension FileDigest {
    /// The ETag S3 gives a multipart upload: the MD5 of the parts' binary MD5s, then `-N`.
    /// Returns nil when a part ETag is not a plain MD5.
    public static func multipartETag(partETags: [String]) -> String? {
        var joined = Data()
        for etag in partETags {
            let hex = etag.unquotedETag().lowercased()
            guard hex.count == 32 else { return nil }
            var index = hex.startIndex
            for _ in 0..<16 {
                let next = hex.index(index, offsetBy: 2)
                guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
                joined.append(byte)
                index = next
            }
        }
        return Crypto.hex(Crypto.md5(joined)) + "-\(partETags.count)"
    }
}

extension FileDigest {
    /// SHA-256 of bytes [offset, offset+length) of `fd` as lowercase hex, read with pread.
    public static func sha256Hex(fd: Int32, offset: Int64, length: Int64) -> String? {
        digestHex(EVP_sha256(), fd: fd, offset: offset, length: length)
    }
}

extension FileDigest {
    /// The chunk size of the tree digests older versions stored for multipart parts (their
    /// streaming signatures' chunk size).
    public static let defaultTreeChunkSize = 1 << 20

    /// A SHA-256 tree digest: the SHA-256 of the concatenated binary SHA-256 digests of the data's
    /// `chunkSize`-byte chunks (the last one shorter). Older versions stored it for every part,
    /// computed from the chunk hashes of the part's streaming signatures.
    public static func treeSHA256Hex(_ data: Data, chunkSize: Int) -> String {
        var digests: [UInt8] = []
        var start = data.startIndex
        while start < data.endIndex {
            let end = data.index(start, offsetBy: min(chunkSize, data.endIndex - start))
            digests += Crypto.sha256(data[start..<end])
            start = end
        }
        return Crypto.hex(Crypto.sha256(digests))
    }

    /// The same tree digest of bytes [offset, offset+length) of `fd`, read with pread.
    public static func treeSHA256Hex(fd: Int32, offset: Int64, length: Int64, chunkSize: Int) -> String? {
        var digests: [UInt8] = []
        var done: Int64 = 0
        while done < length {
            let size = min(Int64(chunkSize), length - done)
            guard let chunk = sha256Hex(fd: fd, offset: offset + done, length: size) else { return nil }
            var index = chunk.startIndex
            while index < chunk.endIndex {
                let next = chunk.index(index, offsetBy: 2)
                digests.append(UInt8(chunk[index..<next], radix: 16) ?? 0)
                index = next
            }
            done += size
        }
        return Crypto.hex(Crypto.sha256(digests))
    }
}

extension FileDigest {
    /// The binary SHA-256 of bytes `[offset, offset + length)` of `fd`, read with pread into
    /// `buffer` piece by piece. Throws `S3Error.Kind.io` when the file cannot be read or ends early.
    static func sha256(fd: Int32, offset: Int64, length: Int64, buffer: UnsafeMutableRawBufferPointer) throws -> [UInt8] {
        var hasher = SHA256Hasher()
        try readPieces(fd: fd, offset: offset, length: length, buffer: buffer) { hasher.update($0) }
        return hasher.finish()
    }

    /// Reads bytes `[offset, offset + length)` of `fd` with pread into `buffer`, one piece of at
    /// most `buffer.count` bytes at a time, and hands each piece to `body`. Throws
    /// `S3Error.Kind.io` when the file cannot be read or ends early.
    static func readPieces(fd: Int32, offset: Int64, length: Int64, buffer: UnsafeMutableRawBufferPointer,
                           _ body: (UnsafeRawBufferPointer) -> Void) throws {
        var done: Int64 = 0
        while done < length {
            let want = Int(min(Int64(buffer.count), length - done))
            let position = offset + done
            // Safe: pread writes at most `want` (<= buffer.count) bytes into `buffer`.
            let got = pread(fd, buffer.baseAddress, want, off_t(position))
            if got < 0 && errno == EINTR { continue }
            if got < 0 {
                let code = errno
                throw S3Error(.io(errno: code, message: "reading the file at offset \(position) failed: \(String(cString: strerror(code)))"))
            }
            if got == 0 {
                throw S3Error(.io(errno: 0, message: "the file is shorter than the \(offset + length) bytes expected (only \(position) could be read); it was truncated while uploading"))
            }
            // Safe: the first `got` bytes of `buffer` were just filled.
            body(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            done += Int64(got)
        }
    }
}
