import CSysShims
import FoundationEssentials
import RecsyncFS
import RecsyncS3
import RecsyncStore
import RecsyncPrimitives
import Glibc

/// `recsync verify` and `recsync doctor --stale-uploads`.
extension ControlHandler {
    func verify(_ paths: [String], deep: Bool) throws -> ControlResponse {
        var results: [VerifyResult] = []
        for path in paths {
            for file in try filesOnDisk(under: path) { results.append(verifyOne(file, deep: deep)) }
        }
        var response = ControlResponse(ok: true)
        response.verified = results
        return response
    }

    private func verifyOne(_ path: String, deep: Bool) -> VerifyResult {
        guard let record = try? engine.queue.record(path: path), record.status == .synced, let etag = record.etag else {
            return VerifyResult(path: path, key: (try? engine.queue.record(path: path))?.s3Key, outcome: .notSynced,
                                detail: "not synced yet; nothing to compare")
        }
        let key = record.s3Key
        func result(_ outcome: VerifyResult.Outcome, _ detail: String?) -> VerifyResult {
            VerifyResult(path: path, key: key, outcome: outcome, detail: detail)
        }
        let fd = Beneath.open(engine.rootFd, path, O_RDONLY | recsync_O_NOFOLLOW)
        guard fd >= 0 else { return result(.differs, "cannot read the local file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return result(.differs, "cannot stat the local file") }
        let info: ObjectInfo?
        do { info = try uploader.s3.headObject(bucket: engine.settings.bucket, key: key) } catch {
            return result(.differs, "cannot read the object: \(error)")
        }
        guard let info else { return result(.missing, "no object under \(key)") }
        if info.size != Int64(st.st_size) {
            return result(.differs, "sizes differ: local \(st.st_size) bytes, object \(info.size) bytes")
        }
        if info.etag.unquotedETag() != etag {
            return result(.differs, "the object was replaced on the server (ETag \(info.etag), uploaded \(etag))")
        }
        var checked = false
        if let checksum = try? engine.queue.checksum(path: path), !checksum.isEmpty,
           let local = ContentCheck.localChecksum(fd: fd, size: Int64(st.st_size), like: checksum) {
            if local != checksum {
                return result(.differs, "the local file changed since it was uploaded (checksum \(local), uploaded \(checksum))")
            }
            checked = true
        }
        if deep {
            // A piece at a time: neither the object nor the file is ever held whole in memory.
            let piece = 8 << 20
            var local = [UInt8](repeating: 0, count: piece)
            var offset: Int64 = 0
            while offset < Int64(st.st_size) {
                let length = Int(min(Int64(piece), Int64(st.st_size) - offset))
                let remote: Data
                do { remote = try uploader.s3.getObjectRange(bucket: engine.settings.bucket, key: key, offset: offset, length: length) } catch {
                    return result(.differs, "cannot read the object back: \(error)")
                }
                let got = pread(fd, &local, length, off_t(offset))
                guard got == length else { return result(.differs, "cannot read the local file at \(offset)") }
                guard remote.count == length, remote.elementsEqual(local[0..<length]) else {
                    return result(.differs, "the object's bytes differ from the file's (in the \(length) bytes from \(offset))")
                }
                offset += Int64(length)
            }
            return result(.ok, "bytes identical")
        }
        return result(.ok, checked ? "size, ETag and checksum match"
                                   : "size and ETag match; no checksum was kept for this upload (use --deep to compare the bytes)")
    }

    func staleUploads(dryRun: Bool) throws -> ControlResponse {
        let prefix = Self.ownedPrefix(pattern: engine.settings.keyPattern.pattern, userId: engine.settings.userId)
        let owned = try engine.queue.ownedUploadIds()
        // Listed without a prefix and filtered here, as the janitor does: some servers (moto)
        // mis-verify the signature of a listing whose prefix holds a '/'.
        let listed = try uploader.s3.listMultipartUploads(bucket: engine.settings.bucket, prefix: "")
            .filter { $0.key.utf8.starts(with: prefix.utf8) }
        var stale: [StaleUpload] = []
        for upload in listed where !owned.contains(upload.uploadId) {
            var aborted = false
            if !dryRun {
                try uploader.s3.abortMultipartUpload(bucket: engine.settings.bucket, key: upload.key, uploadId: upload.uploadId)
                aborted = true
            }
            stale.append(StaleUpload(key: upload.key, uploadId: upload.uploadId,
                                     initiated: upload.initiated.map(ObjectMetadata.formatTimestamp), aborted: aborted))
        }
        var response = ControlResponse(ok: true)
        response.staleUploads = stale
        return response
    }

    /// The part of every key recsync makes for this mount that is fixed: the pattern up to its first
    /// variable other than `{user_id}`, cut back to a whole folder.
    static func ownedPrefix(pattern: String, userId: String) -> String {
        var text = pattern.replacingBytes(of: "{user_id}", with: userId)
        if let brace = text.firstIndex(of: "{") { text = String(text[..<brace]) }
        guard let slash = text.lastIndex(of: "/") else { return "" }
        return String(text[...slash])
    }
}
