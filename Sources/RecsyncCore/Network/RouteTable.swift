import FoundationEssentials
import Glibc

/// The kernel's main routing tables for IPv4 and IPv6, as `/proc/net/route` and
/// `/proc/net/ipv6_route` list them, with the longest-prefix lookup the kernel does.
/// Local-table routes (the machine's own addresses, loopback) are not listed there; the
/// inspector handles loopback endpoints itself.
struct RouteTable: Equatable {
    struct Route: Equatable {
        /// 4 bytes (IPv4) or 16 (IPv6), network order.
        var destination: [UInt8]
        var prefixLength: Int
        var metric: Int
        var interface: String
        var isDefault: Bool { prefixLength == 0 }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == destination.count else { return false }
            var bits = prefixLength
            for index in 0..<address.count where bits > 0 {
                let take = min(bits, 8)
                let mask = UInt8(truncatingIfNeeded: 0xff << (8 - take))
                if address[index] & mask != destination[index] & mask { return false }
                bits -= take
            }
            return true
        }
    }

    var routes: [Route] = []

    /// Route flags from `linux/route.h`.
    static let flagUp = 0x0001
    static let flagReject = 0x0200

    /// Reads both tables below `procRoot` (normally `/proc`); a missing file is an empty table.
    static func read(procRoot: String) -> RouteTable {
        let v4 = (try? String(contentsOfFile: procRoot + "/net/route", encoding: .utf8)) ?? ""
        let v6 = (try? String(contentsOfFile: procRoot + "/net/ipv6_route", encoding: .utf8)) ?? ""
        return RouteTable(routes: parseIPv4(v4) + parseIPv6(v6))
    }

    /// `Iface Destination Gateway Flags RefCnt Use Metric Mask ...`, addresses as the hex of a
    /// host-order integer holding the network-order bytes.
    static func parseIPv4(_ text: String) -> [Route] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let flags = Int(fields[3], radix: 16),
                  let metric = Int(fields[6]), let mask = UInt32(fields[7], radix: 16) else { return nil }
            guard flags & flagUp != 0, flags & flagReject == 0 else { return nil }
            // The kernel printed the in-memory (network-order) value as a host integer.
            let bytes = withUnsafeBytes(of: destination) { Array($0) }
            let maskBytes = withUnsafeBytes(of: mask) { Array($0) }
            let prefix = maskBytes.reduce(0) { $0 + $1.nonzeroBitCount }
            return Route(destination: bytes, prefixLength: prefix, metric: metric, interface: String(fields[0]))
        }
    }

    /// `dest plen src splen nexthop metric refcnt use flags iface`, addresses as 32 hex digits in
    /// network order, numbers in hex.
    static func parseIPv6(_ text: String) -> [Route] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 10, fields[0].count == 32, let prefix = Int(fields[1], radix: 16),
                  let metric = Int(fields[5], radix: 16), let flags = Int(fields[8], radix: 16) else { return nil }
            guard flags & flagUp != 0, flags & flagReject == 0 else { return nil }
            var bytes: [UInt8] = []
            var hex = Substring(fields[0])
            while !hex.isEmpty {
                guard let byte = UInt8(hex.prefix(2), radix: 16) else { return nil }
                bytes.append(byte)
                hex = hex.dropFirst(2)
            }
            let interface = String(fields[9])
            // Link-local and multicast routes exist on every interface that is up; they carry no
            // traffic to an S3 endpoint.
            if prefix > 0 && (bytes[0] == 0xff || (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80)) { return nil }
            return Route(destination: bytes, prefixLength: prefix, metric: metric, interface: interface)
        }
    }

    /// The routes that would carry traffic to `address`, best first: longest prefix, then lowest metric.
    func candidates(for address: [UInt8]) -> [Route] {
        routes.filter { $0.contains(address) }
            .sorted { ($0.prefixLength, -$0.metric) > ($1.prefixLength, -$1.metric) }
    }

    /// Default routes of both families, lowest metric first (IPv4 before IPv6 on a tie).
    var defaultRoutes: [Route] {
        routes.filter(\.isDefault).sorted { ($0.metric, $0.destination.count) < ($1.metric, $1.destination.count) }
    }
}

/// A numeric IPv4 or IPv6 address as bytes, or nil when `text` is not one.
func parseIPAddress(_ text: String) -> [UInt8]? {
    let host = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
    var v4 = in_addr()
    if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
    return nil
}

func isLoopbackAddress(_ bytes: [UInt8]) -> Bool {
    if bytes.count == 4 { return bytes[0] == 127 }
    return bytes.count == 16 && bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
}
