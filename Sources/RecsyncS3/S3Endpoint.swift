import FoundationEssentials
import RecsyncPrimitives
import Glibc

/// Where S3 requests go: scheme, host, optional port, signing region and addressing style.
public struct S3Endpoint: Sendable, Equatable {
    /// Region used in signatures (and in the default AWS endpoint).
    public var region: String
    /// Path-style (`https://host/bucket/key`) when true; virtual-hosted style
    /// (`https://bucket.host/key`) when false.
    public var pathStyle: Bool
    /// `http` or `https`.
    public var scheme: String
    /// Host name or IP literal (IPv6 without brackets).
    public var host: String
    /// Explicit port, or nil for the scheme's default.
    public var port: Int?

    /// `scheme://host[:port]`, without a trailing slash.
    /// Plain HTTP to a host that is not this machine (127.0.0.0/8, ::1, localhost): anyone on
    /// the path sees the requests and could change the answers.
    public var isPlainHTTPOffThisMachine: Bool {
        guard scheme == "http" else { return false }
        let name = host.lowercased().trimming(while: { $0 == "[" || $0 == "]" })
        if name == "localhost" || name.hasSuffix(".localhost") || name == "::1" { return false }
        let octets = name.split(separator: ".")
        if octets.count == 4, octets.allSatisfy({ UInt8($0) != nil }), octets.first == "127" { return false }
        return true
    }

    public var baseURL: String { "\(scheme)://\(hostHeader(bucketPrefix: nil))" }

    /// Resolves the endpoint.
    ///
    /// - Parameters:
    ///   - endpoint: Explicit URL. When nil, `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL` from
    ///     `environment`, else `https://s3.REGION.amazonaws.com`.
    ///   - region: Signing region, e.g. `us-east-1`.
    ///   - pathStyle: Addressing style. When nil: path-style for IP addresses and localhost,
    ///     virtual-hosted otherwise.
    /// - Throws: `S3ConfigurationError` if the URL is not `http(s)://host[:port]` (no path other
    ///   than `/`, no query, no user info) or the region is empty.
    public init(endpoint: String?, region: String, pathStyle: Bool?, environment: [String: String]) throws {
        let region = region.trimmingWhitespace()
        guard !region.isEmpty, region.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw S3ConfigurationError("Invalid S3 region '\(region)': use a region name such as us-east-1 (any non-empty name for S3-compatible servers).")
        }
        func nonEmpty(_ s: String?) -> String? {
            guard let s = s?.trimmingWhitespace(), !s.isEmpty else { return nil }
            return s
        }
        let source: String
        let url: String
        if let explicit = nonEmpty(endpoint) {
            (source, url) = ("endpoint", explicit)
        } else if let s3 = nonEmpty(environment["AWS_ENDPOINT_URL_S3"]) {
            (source, url) = ("AWS_ENDPOINT_URL_S3", s3)
        } else if let generic = nonEmpty(environment["AWS_ENDPOINT_URL"]) {
            (source, url) = ("AWS_ENDPOINT_URL", generic)
        } else {
            (source, url) = ("default", "https://s3.\(region).amazonaws.com")
        }
        let fix = "Use a URL such as https://s3.example.com or http://127.0.0.1:9000 (given by \(source))."
        guard let components = URLComponents(string: url), let rawScheme = components.scheme?.lowercased() else {
            throw S3ConfigurationError("S3 endpoint '\(url)' is not a valid URL. \(fix)")
        }
        guard rawScheme == "http" || rawScheme == "https" else {
            throw S3ConfigurationError("S3 endpoint '\(url)' must start with http:// or https://. \(fix)")
        }
        guard var host = components.host, !host.isEmpty else {
            throw S3ConfigurationError("S3 endpoint '\(url)' has no host name. \(fix)")
        }
        guard components.query == nil, components.fragment == nil else {
            throw S3ConfigurationError("S3 endpoint '\(url)' must not contain a query or fragment. \(fix)")
        }
        guard components.user == nil, components.password == nil else {
            throw S3ConfigurationError("S3 endpoint '\(url)' must not contain user info; credentials come from the environment or the AWS credentials file. \(fix)")
        }
        guard components.path.isEmpty || components.path == "/" else {
            throw S3ConfigurationError("S3 endpoint '\(url)' must not have a path ('\(components.path)'); give only scheme, host and port. \(fix)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if let port = components.port, !(1...65535).contains(port) {
            throw S3ConfigurationError("S3 endpoint '\(url)' has an invalid port \(port). \(fix)")
        }
        self.region = region
        self.scheme = rawScheme
        self.host = host.lowercased()
        self.port = components.port
        self.pathStyle = pathStyle ?? Self.prefersPathStyle(host: self.host)
    }

    /// True for IPv4/IPv6 literals and `localhost` names, where virtual-hosted names cannot resolve.
    public static func prefersPathStyle(host: String) -> Bool {
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// The `Host` header value, with the port when it is not the scheme's default.
    func hostHeader(bucketPrefix: String?) -> String {
        var name = host.contains(":") ? "[\(host)]" : host
        if let bucketPrefix { name = "\(bucketPrefix).\(name)" }
        if let port, !(scheme == "http" && port == 80), !(scheme == "https" && port == 443) {
            name += ":\(port)"
        }
        return name
    }

    /// Whether `bucket` can be used as a DNS label in front of the host. Buckets with dots break
    /// TLS wildcard certificates, and upper case or underscores are not valid host names; such
    /// buckets fall back to path-style.
    func canUseVirtualHost(bucket: String) -> Bool {
        guard !pathStyle, (3...63).contains(bucket.count) else { return false }
        if scheme == "https" && bucket.contains(".") { return false }
        return bucket.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 }
            && !bucket.hasPrefix("-") && !bucket.hasSuffix("-")
    }

    /// Host header, encoded path and full URL (without query) for an operation on `bucket` and
    /// optionally `key`.
    func target(bucket: String, key: String?) -> (host: String, path: String, url: String) {
        let encodedKey = key.map { URIEncoding.encode($0, keepSlash: true) }
        if canUseVirtualHost(bucket: bucket) {
            let host = hostHeader(bucketPrefix: bucket)
            let path = "/" + (encodedKey ?? "")
            return (host, path, "\(scheme)://\(host)\(path)")
        }
        let host = hostHeader(bucketPrefix: nil)
        var path = "/" + URIEncoding.encode(bucket, keepSlash: false)
        if let encodedKey { path += "/" + encodedKey }
        return (host, path, "\(scheme)://\(host)\(path)")
    }
}
