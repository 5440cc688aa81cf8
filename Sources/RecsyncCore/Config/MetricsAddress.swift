import FoundationEssentials
import Glibc

/// A metrics address that cannot be used, or a metrics file that cannot be written.
public struct MetricsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `HOST:PORT` for the metrics endpoint.
public enum MetricsAddress {
    /// Nil when the text is acceptable, else what is wrong and what to write (for the settings table).
    public static func problem(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return "\(error)"
        }
    }

    public static func parse(_ text: String) throws -> (host: String, port: UInt16) {
        let example = "write HOST:PORT, such as 127.0.0.1:9464 or [::1]:9464"
        guard let colon = text.lastIndex(of: ":") else { throw MetricsError("\(text.debugDescription) has no port; \(example)") }
        var host = String(text[..<colon])
        guard let port = UInt16(text[text.index(after: colon)...]) else {
            throw MetricsError("\(text.debugDescription) has no valid port (0 to 65535); \(example)")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw MetricsError("\(text.debugDescription) has no host; \(example) (127.0.0.1 keeps it on this machine)") }
        var address = in6_addr()
        guard host == "localhost" || inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1 else {
            throw MetricsError("\(host) is not an IP address; use 127.0.0.1, [::1] or the address of one of this machine's interfaces")
        }
        return (host, port)
    }
}
