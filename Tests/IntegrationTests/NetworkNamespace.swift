import Foundation
import XCTest

/// Two network namespaces the test creates and removes: a client (the recsync daemon) and a
/// server side (the S3 endpoint, as a fault proxy listening there), joined by one veth link that
/// the test can take down, bring up and shape with tc. The client's default route goes over it.
///
///     client netns  rc<id> 10.R.S.2/24  <---veth--->  rs<id> 10.R.S.1/24  server netns
///
/// sysfs shows the interfaces of the namespace that mounted it, so a sysfs is mounted from inside
/// the client namespace for the daemon's `[network] sysfs_root`. Everything is undone in
/// `remove()`, also after a failure.
final class NetworkNamespaces {
    let id: String
    let client: String
    let server: String
    let clientLink: String
    let serverLink: String
    let clientAddress: String
    let serverAddress: String
    let sysfs: URL
    private var sysfsMounted = false

    init(file: StaticString = #filePath, line: UInt = #line) throws {
        id = String(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(8))
        client = "recsync-c-\(id)"
        server = "recsync-s-\(id)"
        clientLink = "rc\(id)"
        serverLink = "rs\(id)"
        let r = Int.random(in: 16...31), s = Int.random(in: 0...255)
        clientAddress = "10.\(r).\(s).2"
        serverAddress = "10.\(r).\(s).1"
        sysfs = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-sysfs-\(id)")
        do {
            try ip(["netns", "add", client])
            try ip(["netns", "add", server])
            try ip(["-n", client, "link", "set", "lo", "up"])
            try ip(["-n", server, "link", "set", "lo", "up"])
            try ip(["-n", client, "link", "add", clientLink, "type", "veth", "peer", "name", serverLink, "netns", server])
            try ip(["-n", client, "addr", "add", "\(clientAddress)/24", "dev", clientLink])
            try ip(["-n", server, "addr", "add", "\(serverAddress)/24", "dev", serverLink])
            try ip(["-n", server, "link", "set", serverLink, "up"])
            try linkUp()
            try FileManager.default.createDirectory(at: sysfs, withIntermediateDirectories: true)
            try run(["nsenter", "--net=/run/netns/\(client)", "mount", "-t", "sysfs", "sysfs", sysfs.path])
            sysfsMounted = true
        } catch {
            remove()
            XCTFail("cannot set up the network namespaces (needs root and iproute2): \(error)", file: file, line: line)
            throw error
        }
    }

    /// Runs a command inside the client namespace only for its network (the mount namespace stays
    /// the test's, so the daemon's FUSE mount is visible to the test).
    var clientLauncher: [String] { ["nsenter", "--net=/run/netns/\(client)", "--"] }

    /// Takes the client's link down: its routes, the default route included, go away.
    func linkDown() throws {
        try ip(["-n", client, "link", "set", clientLink, "down"])
    }

    /// Brings the link up and puts the default route back, as a DHCP client would.
    func linkUp() throws {
        try ip(["-n", client, "link", "set", clientLink, "up"])
        try ip(["-n", client, "route", "replace", "default", "via", serverAddress, "dev", clientLink])
    }

    /// Limits what the client sends over the link with a token bucket filter.
    func shapeUploads(rate: String) throws {
        try run(["ip", "netns", "exec", client, "tc", "qdisc", "replace", "dev", clientLink, "root", "tbf",
                 "rate", rate, "burst", "32kbit", "latency", "400ms"])
    }

    func removeShaping() throws {
        try run(["ip", "netns", "exec", client, "tc", "qdisc", "del", "dev", clientLink, "root"])
    }

    func remove() {
        if sysfsMounted {
            _ = try? Shell.run(["umount", sysfs.path])
            sysfsMounted = false
        }
        try? FileManager.default.removeItem(at: sysfs)
        _ = try? Shell.run(["ip", "netns", "del", client])
        _ = try? Shell.run(["ip", "netns", "del", server])
    }

    deinit { remove() }

    private func ip(_ arguments: [String]) throws { try run(["ip"] + arguments) }

    private func run(_ arguments: [String]) throws {
        let result = try Shell.run(arguments)
        guard result.succeeded else {
            throw TestFailure("\(arguments.joined(separator: " ")) failed (\(result.status)): \(result.stderr)")
        }
    }
}
