import CCrypto
import CCurl

/// The versions of the C libraries the S3 client runs with (for `recsync version`).
public enum S3LibraryVersions {
    /// libcurl's version and the TLS library it was built with, e.g. `8.14.1 (OpenSSL/3.5.1)`.
    public static var curl: String {
        guard let info = recsync_curl_version_info() else { return "unknown" }
        let version = info.pointee.version.map { String(cString: $0) } ?? "unknown"
        let tls = info.pointee.ssl_version.map { String(cString: $0) }
        return tls.map { "\(version) (\($0))" } ?? version
    }

    /// libcrypto's version, e.g. `3.5.1`.
    public static var openSSL: String {
        OpenSSL_version(numericCast(OPENSSL_VERSION_STRING)).map { String(cString: $0) } ?? "unknown"
    }
}
