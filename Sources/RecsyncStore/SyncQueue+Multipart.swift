// Multipart upload state: the UploadId of a file's open upload and its completed parts, written
// as each part completes so an upload resumes from the first missing part after a crash, a
// reboot or a retry. A change of the file's content (generation) or key, or its removal, moves
// the upload to `abandoned_uploads` (database triggers, in the same transaction) so it can be
// aborted on the server.
// Lock rule: as in SyncQueue.swift, every method holds `lock` for its whole duration.

import FoundationEssentials

/// A part the server confirmed.
public struct StoredPart: Sendable, Equatable {
    public var partNumber: Int
    public var size: Int64
    public var etag: String
    /// The part's digest in lowercase hex, of the kind its upload's `partDigest` names (stored
    /// in the `sha256` column, which kept its first name).
    public var digest: String

    public init(partNumber: Int, size: Int64, etag: String, digest: String) {
        self.partNumber = partNumber
        self.size = size
        self.etag = etag
        self.digest = digest
    }
}

/// An open multipart upload of a file, with the parts done so far.
public struct MultipartState: Sendable, Equatable {
    /// `partDigest` of uploads whose parts' `digest` is the SHA-256 of the part's bytes.
    public static let sha256PartDigest = "sha256"
    /// `partDigest` of uploads whose parts' `digest` is the CRC-32C of the part's bytes (sent
    /// as a checksum trailer the server checked).
    public static let crc32cPartDigest = "crc32c"

    public var uploadId: String
    public var partSize: Int64
    public var parts: [StoredPart]
    /// How the parts' digests were computed: `sha256PartDigest`, `crc32cPartDigest`, or nil for an upload begun by an
    /// older version (SHA-256 tree digests over 1 MiB chunks).
    public var partDigest: String?

    public init(uploadId: String, partSize: Int64, parts: [StoredPart], partDigest: String? = MultipartState.sha256PartDigest) {
        self.uploadId = uploadId
        self.partSize = partSize
        self.parts = parts
        self.partDigest = partDigest
    }
}

/// An upload nobody owns any more; abort it on the server, then `forgetAbandoned`.
public struct AbandonedUpload: Sendable, Equatable {
    public var key: String
    public var uploadId: String
}

extension SyncQueue {
    /// The open multipart upload of `path` for this generation, or nil.
    public func multipart(path: String, generation: Int64) throws -> MultipartState? {
        try locked {
            guard let row = try db.queryFirst(
                "SELECT upload_id, part_size, part_digest FROM files WHERE path = ? AND generation = ? AND upload_id IS NOT NULL",
                [.text(path), .int(generation)], operation: "read the upload of \(path)",
                { ($0.text(0), $0.int64(1), $0.isNull(2) ? nil : $0.text(2)) })
            else { return nil }
            let parts = try db.query(
                "SELECT part_number, size, etag, sha256 FROM parts WHERE path = ? ORDER BY part_number",
                [.text(path)], operation: "read the parts of \(path)") {
                    StoredPart(partNumber: $0.int(0), size: $0.int64(1), etag: $0.text(2), digest: $0.text(3))
                }
            return MultipartState(uploadId: row.0, partSize: row.1, parts: parts, partDigest: row.2)
        }
    }

    /// Records a new multipart upload for the claimed generation, whose parts' digests are of the
    /// kind `partDigest` (see `MultipartState`). Returns false (and records nothing) when the
    /// record moved on meanwhile; the caller must then abort the upload.
    @discardableResult
    public func beginMultipart(path: String, generation: Int64, uploadId: String, partSize: Int64,
                               partDigest: String = MultipartState.sha256PartDigest) throws -> Bool {
        try locked {
            try db.transaction(operation: "record the upload of \(path)") {
                try db.run("DELETE FROM parts WHERE path = ?", [.text(path)], operation: "clear the parts of \(path)")
                return try db.run("""
                    UPDATE files SET upload_id = ?, part_size = ?, part_digest = ?
                    WHERE path = ? AND generation = ? AND status = 'syncing'
                    """, [.text(uploadId), .int(partSize), .text(partDigest), .text(path), .int(generation)],
                    operation: "record the upload of \(path)") == 1
            }
        }
    }

    /// Records a completed part, durably, if the upload is still the file's current one.
    @discardableResult
    public func recordPart(path: String, generation: Int64, uploadId: String, part: StoredPart) throws -> Bool {
        try locked {
            try db.transaction(operation: "record part \(part.partNumber) of \(path)") {
                guard try db.queryFirst(
                    "SELECT 1 FROM files WHERE path = ? AND generation = ? AND upload_id = ?",
                    [.text(path), .int(generation), .text(uploadId)], operation: "check the upload of \(path)", { _ in true }) != nil
                else { return false }
                try db.run("""
                    INSERT OR REPLACE INTO parts (path, part_number, size, etag, sha256) VALUES (?, ?, ?, ?, ?)
                    """, [.text(path), .int(part.partNumber), .int(part.size), .text(part.etag), .text(part.digest)],
                    operation: "record part \(part.partNumber) of \(path)")
                return true
            }
        }
    }

    /// Forgets the file's multipart upload (the server no longer knows it, or it was aborted).
    public func clearMultipart(path: String, generation: Int64) throws {
        try locked {
            try db.transaction(operation: "forget the upload of \(path)") {
                try db.run("UPDATE files SET upload_id = NULL, part_size = NULL WHERE path = ? AND generation = ?",
                           [.text(path), .int(generation)], operation: "forget the upload of \(path)")
                try db.run("DELETE FROM parts WHERE path = ?", [.text(path)], operation: "forget the parts of \(path)")
            }
        }
    }

    /// Forgets stored parts whose bytes no longer match the file (they are sent again), while
    /// the upload is still the file's current one.
    public func forgetParts(path: String, generation: Int64, uploadId: String, partNumbers: [Int]) throws {
        guard !partNumbers.isEmpty else { return }
        try locked {
            try db.transaction(operation: "forget changed parts of \(path)") {
                guard try db.queryFirst("SELECT 1 FROM files WHERE path = ? AND generation = ? AND upload_id = ?",
                                        [.text(path), .int(generation), .text(uploadId)],
                                        operation: "check the upload of \(path)", { _ in true }) != nil else { return }
                for number in partNumbers {
                    try db.run("DELETE FROM parts WHERE path = ? AND part_number = ?", [.text(path), .int(number)],
                               operation: "forget part \(number) of \(path)")
                }
            }
        }
    }

    /// Gives the file's open upload up: it moves to the abandoned list (to be aborted).
    public func abandonMultipart(path: String, generation: Int64) throws {
        try locked {
            try db.transaction(operation: "abandon the upload of \(path)") {
                try db.run("""
                    INSERT OR IGNORE INTO abandoned_uploads (s3_key, upload_id, abandoned_at)
                    SELECT s3_key, upload_id, ? FROM files WHERE path = ? AND generation = ? AND upload_id IS NOT NULL
                    """, [.int(StoredTime.nanoseconds(now())), .text(path), .int(generation)],
                    operation: "abandon the upload of \(path)")
                try db.run("UPDATE files SET upload_id = NULL, part_size = NULL WHERE path = ? AND generation = ?",
                           [.text(path), .int(generation)], operation: "abandon the upload of \(path)")
                try db.run("DELETE FROM parts WHERE path = ?", [.text(path)], operation: "abandon the parts of \(path)")
            }
        }
    }

    /// Uploads to abort on the server.
    public func abandonedUploads() throws -> [AbandonedUpload] {
        try locked {
            try db.query("SELECT s3_key, upload_id FROM abandoned_uploads ORDER BY abandoned_at",
                         operation: "list abandoned uploads") { AbandonedUpload(key: $0.text(0), uploadId: $0.text(1)) }
        }
    }

    public func forgetAbandoned(_ upload: AbandonedUpload) throws {
        try locked {
            _ = try db.run("DELETE FROM abandoned_uploads WHERE s3_key = ? AND upload_id = ?",
                           [.text(upload.key), .text(upload.uploadId)], operation: "forget an aborted upload")
        }
    }

    /// Every open upload id the queue owns (for finding stale uploads on the server).
    public func ownedUploadIds() throws -> Set<String> {
        try locked {
            Set(try db.query("""
                SELECT upload_id FROM files WHERE upload_id IS NOT NULL
                UNION SELECT upload_id FROM abandoned_uploads
                """, operation: "list owned uploads") { $0.text(0) })
        }
    }

    /// Stores the checksum of the confirmed bytes (see `markSynced`).
    public func setChecksum(path: String, generation: Int64, checksum: String) throws {
        try locked {
            _ = try db.run("UPDATE files SET checksum = ? WHERE path = ? AND generation = ?",
                           [.text(checksum), .text(path), .int(generation)], operation: "store the checksum of \(path)")
        }
    }

    /// The checksum stored with the last confirmed upload of `path`.
    public func checksum(path: String) throws -> String? {
        try locked {
            try db.queryFirst("SELECT checksum FROM files WHERE path = ?", [.text(path)],
                              operation: "read the checksum of \(path)") { $0.optionalText(0) } ?? nil
        }
    }
}
