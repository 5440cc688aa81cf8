import CCrypto
import Foundation

/// Whole-file digests, for checking what the server holds against what is on disk.
public enum FileDigest {
    /// The MD5 of the first `length` bytes of `fd` as lowercase hex (the ETag S3 gives a
    /// single-part upload), read with pread so the descriptor's offset is untouched.
    /// Returns nil if the file is shorter than `length` or cannot be read.
    public static func md5Hex(fd: Int32, length: Int64) -> String? {
        guard let context = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestInit_ex(context, EVP_md5(), nil) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while offset < length {
            let want = Int(min(Int64(buffer.count), length - offset))
            let got = buffer.withUnsafeMutableBytes { raw in
                // Safe: pread writes at most `want` bytes into the buffer's own storage.
                pread(fd, raw.baseAddress, want, off_t(offset))
            }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            // Safe: `got` bytes of the buffer were just filled.
            _ = buffer.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, got) }
            offset += Int64(got)
        }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var size: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &size) == 1 else { return nil }
        return digest.prefix(Int(size)).map { String(format: "%02x", $0) }.joined()
    }
}
