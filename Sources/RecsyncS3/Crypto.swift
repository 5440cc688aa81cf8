import CCrypto
import FoundationEssentials

/// SHA-256, HMAC-SHA256 and MD5 on OpenSSL's libcrypto, plus lowercase hex encoding.
enum Crypto {
    /// The SHA-256 of the empty string, used as the payload hash of body-less requests.
    static let emptySHA256Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finish()
    }

    static func sha256<D: ContiguousBytes>(_ data: D) -> [UInt8] {
        data.withUnsafeBytes { sha256($0) }
    }

    static func sha256Hex(_ string: String) -> String {
        hex(sha256(Array(string.utf8)))
    }

    static func hmacSHA256<K: ContiguousBytes>(key: K, _ message: String) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let messageBytes = Array(message.utf8)
        key.withUnsafeBytes { keyPtr in
            messageBytes.withUnsafeBufferPointer { msgPtr in
                // Safe: both buffers are valid for the duration of this closure and `out` holds EVP_MAX_MD_SIZE bytes.
                _ = HMAC(EVP_sha256(), keyPtr.baseAddress, Int32(keyPtr.count),
                         msgPtr.baseAddress, msgPtr.count, &out, &outLength)
            }
        }
        return Array(out.prefix(Int(outLength)))
    }

    static func md5<D: ContiguousBytes>(_ data: D) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        data.withUnsafeBytes { ptr in
            // Safe: `ptr` is valid for the closure and `out` holds EVP_MAX_MD_SIZE bytes.
            _ = EVP_Digest(ptr.baseAddress, ptr.count, &out, &outLength, EVP_md5(), nil)
        }
        return Array(out.prefix(Int(outLength)))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var chars = [UInt8]()
        chars.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            chars.append(hexDigits[Int(byte >> 4)])
            chars.append(hexDigits[Int(byte & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }
}

/// Incremental SHA-256. Not shared between threads: each user owns its own value.
struct SHA256Hasher: ~Copyable {
    // Safe: the context is allocated here, used only through this value, and freed in deinit.
    private let context: OpaquePointer

    init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        context = ctx
    }

    deinit { EVP_MD_CTX_free(context) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        // Safe: `bytes` is valid for the duration of this call.
        EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    /// Finishes the digest and resets the hasher so it can be reused.
    mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
        return Array(out.prefix(Int(length)))
    }
}
