import CSysShims
import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncS3
import RecsyncStore
import Glibc

/// What is already on the server, and the proofs a shortcut needs before it skips sending bytes.
extension FileUpload {
    enum ExistingObject {
        /// The object holds exactly this file's bytes (its ETag, and the checksum to keep).
        case same(etag: String, checksum: String?)
        /// No object under the key.
        case absent
        /// An older upload of this same recording (its name and timestamp match): replace it.
        case ours
        /// Another recording's object: never overwritten.
        case foreign
    }

    /// What the object already under the key is. A HEAD that fails for any reason but "no such
    /// key" (a timeout, a 5xx) throws: it is a transient failure, never a reason to write over an
    /// object without a condition. The bytes are compared by ETag: the MD5 of a single-part
    /// object, or the MD5 of the part MD5s of a multipart one (with recsync's part size).
    func existingObject(_ record: FileRecord, fd: Int32, size: Int64, name: String, log: Logger) throws -> ExistingObject {
        let info: ObjectInfo
        do {
            guard let found = try s3.headObject(bucket: engine.settings.bucket, key: record.s3Key) else { return .absent }
            info = found
        } catch let error as S3Error where error.isNoSuchKey {
            return .absent
        }
        let etag = info.etag.unquotedETag().lowercased()
        if info.size == size, let local = localETag(fd: fd, size: size, like: etag), local == etag {
            log.notice("the object already holds these bytes (an upload that landed after a crash, or a lost queue); not sending it again")
            return .same(etag: etag, checksum: etag.contains("-") ? multipartChecksum(fd: fd, size: size) : Self.singlePartChecksum(etag))
        }
        // The name as uploads store it (`KeyPattern.keyText`), or as versions before names were
        // escaped stored it; byte for byte.
        if let stored = info.metadata[ObjectMetadata.originalNameKey],
           NameCoding.same(stored, KeyPattern.keyText(name)) || NameCoding.same(stored, name),
           info.metadata[ObjectMetadata.timestampKey] == ObjectMetadata.formatTimestamp(record.createdAt) {
            return .ours
        }
        return .foreign
    }

    /// The checksum recsync keeps for a multipart upload of this file (`sha256-parts-PARTSIZE:HEX`).
    func multipartChecksum(fd: Int32, size: Int64) -> String? {
        ContentCheck.compositeChecksum(fd: fd, size: size, partSize: PartPlan(fileSize: size, chunkSize: Int64(engine.settings.chunkSize)).partSize)
    }

    /// The ETag the server would give this file's bytes, in the form of `etag` (plain MD5, or
    /// multipart `MD5-N` with the part size recsync uses for this size); nil when it cannot be made.
    func localETag(fd: Int32, size: Int64, like etag: String) -> String? {
        if etag.count == 32 { return FileDigest.md5Hex(fd: fd, length: size) }
        let plan = PartPlan(fileSize: size, chunkSize: Int64(engine.settings.chunkSize))
        guard etag.hasSuffix("-\(plan.partCount)") else { return nil }
        guard let partETags = ContentCheck.partDigests(fd: fd, size: size, partSize: plan.partSize, {
            FileDigest.md5Hex(fd: fd, offset: $0, length: $1)
        }) else { return nil }
        return FileDigest.multipartETag(partETags: partETags)
    }

    /// A synced file that was renamed, unchanged since: its object is copied to the new key on
    /// the server (CopyObject; a multipart copy above 5 GiB) instead of being uploaded again.
    /// Nil when there is nothing to copy, or the old object is gone or changed (then the file is
    /// uploaded as usual, and the copy is not tried again).
    ///
    /// The copy skips sending bytes, so the file must be proven to hold what was uploaded: its
    /// whole identity as synced (a folder renamed above it), or, since a rename moves the file's
    /// ctime, the same size and mtime and a fresh hash equal to the stored checksum.
    func copyRenamed(_ record: FileRecord, fd: Int32, size: Int64, before: stat, contentType: String, metadata: [String: String],
                     log: Logger) throws -> (etag: String, checksum: String?)? {
        guard let source = record.renamedFrom, let sourceETag = record.renamedFromETag, !sourceETag.isEmpty,
              !NameCoding.same(source, record.s3Key), record.syncedSize == size, record.syncedMtimeNs == before.mtimeNanoseconds else { return nil }
        let identity = FileIdentity(before)
        let stored = try? engine.queue.checksum(path: record.path)
        if !identity.matchesSynced(record) || record.syncedCtimeNs == nil {
            guard ContentCheck.matches(fd: fd, size: size, checksum: stored ?? Self.singlePartChecksum(sourceETag)) == true else {
                log.notice("renamed file's bytes differ from its old object (or cannot be checked); uploading it instead")
                try engine.queue.abandonCopy(path: record.path, generation: record.generation)
                return nil
            }
        }
        let plan = PartPlan(fileSize: size, chunkSize: Int64(engine.settings.chunkSize))
        do {
            let result = try s3.copyObject(bucket: engine.settings.bucket, sourceKey: source, key: record.s3Key, size: size,
                                           sourceETag: sourceETag, contentType: contentType, metadata: metadata,
                                           partSize: plan.partSize, singleCopyLimit: maximumSingleCopySize)
            log.info("renamed: the object was copied on the server", metadata: ["from": "\(source)"])
            return (result.etag, stored ?? Self.singlePartChecksum(result.etag))
        } catch let error as S3Error where error.isNoSuchKey || error.isPreconditionFailed || error.isInvalidRequest {
            log.notice("cannot copy the old object (gone, changed, or no server-side copy); uploading the file instead",
                       metadata: ["from": "\(source)", "error": "\(error)"])
            try engine.queue.abandonCopy(path: record.path, generation: record.generation)
            return nil
        }
    }

}
