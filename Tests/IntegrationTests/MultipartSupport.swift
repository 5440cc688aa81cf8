import Foundation
import XCTest

/// What the multipart tests read from the fault proxy's request log.
extension ProxyRequest {
    /// The query's parameters, values percent-decoded; a parameter without `=` has an empty value.
    var queryItems: [String: String] {
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? String(parts[1]) : ""
            items[String(parts[0])] = value.removingPercentEncoding ?? value
        }
        return items
    }

    var isPutObject: Bool { method == "PUT" && query.isEmpty }
    var isUploadPart: Bool { method == "PUT" && queryItems["partNumber"] != nil }
    var partNumber: Int? { queryItems["partNumber"].flatMap { Int($0) } }
    var isCreateMultipartUpload: Bool { method == "POST" && queryItems["uploads"] != nil }
    var isCompleteMultipartUpload: Bool { method == "POST" && queryItems["uploadId"] != nil }
    var isAbortMultipartUpload: Bool { method == "DELETE" && queryItems["uploadId"] != nil }

    /// One line for failure messages.
    var summary: String {
        let kind = isUploadPart ? "UploadPart \(partNumber ?? 0)" : isCreateMultipartUpload ? "Create"
            : isCompleteMultipartUpload ? "Complete" : isAbortMultipartUpload ? "Abort" : isPutObject ? "PutObject" : "\(method) ?\(query)"
        return "\(kind) [\(fault)] " + String(format: "%.3f-%.3f", time, end)
            + " client \(status.map(String.init) ?? "-") upstream \(upstreamStatus.map(String.init) ?? "-") \(requestBytes) B"
            + (error.map { " (\($0))" } ?? "")
    }
}

extension FaultProxy {
    /// Every request for one object (PutObject, the multipart calls, HEAD), in the order they started.
    func requests(bucket: String, key: String) throws -> [ProxyRequest] {
        try requests().filter { $0.decodedPath == "/\(bucket)/\(key)" }.sorted { $0.time < $1.time }
    }
}

/// MD5 digests as S3 reports them in ETags, computed with md5sum.
enum MD5 {
    static func hex(_ data: Data) throws -> String {
        let result = try Shell.run(["md5sum"], input: data)
        guard result.succeeded, let digest = result.stdout.split(separator: " ").first, digest.count == 32 else {
            throw TestFailure("md5sum failed: \(result.stderr)")
        }
        return String(digest)
    }

    static func hex(ofFile path: String) throws -> String {
        let result = try Shell.run(["md5sum", path])
        guard result.succeeded, let digest = result.stdout.split(separator: " ").first, digest.count == 32 else {
            throw TestFailure("md5sum \(path) failed: \(result.stderr)")
        }
        return String(digest)
    }

    /// The ETag of a multipart object: the MD5 of the parts' binary MD5s, then `-` and the part count.
    static func multipartETag(_ data: Data, partSize: Int) throws -> String {
        var digests = Data()
        var offset = 0
        var count = 0
        while offset < data.count {
            let end = min(offset + partSize, data.count)
            let digest = try hex(data.subdata(in: offset..<end))
            var index = digest.startIndex
            while index < digest.endIndex {
                let next = digest.index(index, offsetBy: 2)
                digests.append(UInt8(digest[index..<next], radix: 16)!)
                index = next
            }
            offset = end
            count += 1
        }
        return try hex(digests) + "-\(count)"
    }
}

/// A value one thread sets and another reads.
final class Shared<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// `user.sync.progress` parsed: `SENT/TOTAL`.
struct SyncProgress: Equatable {
    let sent: Int64
    let total: Int64

    init?(_ text: String?) {
        guard let parts = text?.split(separator: "/"), parts.count == 2,
              let sent = Int64(parts[0]), let total = Int64(parts[1]) else { return nil }
        self.sent = sent
        self.total = total
    }
}

extension ProxiedMountTestCase {
    /// The chunk size the multipart tests mount with: S3's smallest part, so that tens of MiB make many parts.
    static var partSize: Int { 5 << 20 }
    static var multipartConfig: String { "[sync]\nchunk_size = \"5MiB\"\n" }
    /// The same with two transfers at once, for tests whose timing assumes at most two parts in
    /// flight through a slow proxy (each request is slowed on its own).
    static var twoTransfersMultipartConfig: String { multipartConfig + "max_concurrent_uploads = 2\n" }

    func progress(_ name: String) throws -> SyncProgress? {
        SyncProgress(try fixture.attribute("user.sync.progress", of: name))
    }

    /// Deletes the test's objects and aborts its open multipart uploads, so that runs of these
    /// large uploads do not fill the test servers (radosgw keeps everything in a 1 GiB memstore).
    /// Call after the mount is gone.
    func removeServerData() {
        guard let fixture, let client = try? fixture.client() else { return }
        for object in (try? client.listObjects(bucket: fixture.bucket, prefix: "")) ?? [] {
            try? client.deleteObject(bucket: fixture.bucket, key: object.key)
        }
        for upload in (try? client.listMultipartUploads(bucket: fixture.bucket, prefix: "")) ?? [] {
            try? client.abortMultipartUpload(bucket: fixture.bucket, key: upload.key, uploadId: upload.uploadId)
        }
        // radosgw frees deleted data in its garbage collector, by default hours later: run it now
        // on the local server that scripts/servers/start-all.sh started.
        if fixture.server.name == "rgw", let directory = ProcessInfo.processInfo.environment["RECSYNC_SERVERS_DIR"] {
            let conf = URL(fileURLWithPath: directory).appendingPathComponent("rgw/ceph.conf").path
            if FileManager.default.fileExists(atPath: conf) {
                _ = try? Shell.run(["radosgw-admin", "-c", conf, "gc", "process", "--include-all"], timeout: 60)
            }
        }
    }

    /// The proxy's requests for one object, one per line, for failure messages.
    func timeline(_ key: String) -> String {
        ((try? proxy.requests(bucket: fixture.bucket, key: key)) ?? []).map(\.summary).joined(separator: "\n  ")
    }
}
