// Forward-only, named schema migrations. Each migration runs once, in its own
// transaction together with its row in `schema_migrations`. Never edit or
// reorder a migration that has shipped: append a new one.

import FoundationEssentials

/// One named schema change.
struct Migration {
    let name: String
    let sql: String
}

enum Migrations {
    /// Every migration, oldest first.
    static let all: [Migration] = [
        Migration(name: "2025-01-create-files", sql: """
            CREATE TABLE files (
                path            TEXT    NOT NULL PRIMARY KEY,
                status          TEXT    NOT NULL
                                CHECK (status IN ('local', 'pending', 'syncing', 'synced', 'failed')),
                priority        INTEGER NOT NULL,
                generation      INTEGER NOT NULL CHECK (generation > 0),
                s3_key          TEXT    NOT NULL CHECK (s3_key <> ''),
                attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                next_attempt_at INTEGER,
                last_error      TEXT,
                etag            TEXT,
                synced_at       INTEGER,
                synced_size     INTEGER,
                synced_mtime_ns INTEGER,
                size            INTEGER NOT NULL,
                mtime_ns        INTEGER NOT NULL,
                created_at      INTEGER NOT NULL,
                enqueued_at     INTEGER NOT NULL
            ) STRICT;
            CREATE UNIQUE INDEX files_s3_key ON files (s3_key);
            CREATE INDEX files_claim ON files (status, priority DESC, enqueued_at);
            """),
        Migration(name: "2025-01-create-retired-keys", sql: """
            CREATE TABLE retired_keys (
                s3_key     TEXT    NOT NULL PRIMARY KEY,
                path       TEXT    NOT NULL,
                etag       TEXT,
                retired_at INTEGER NOT NULL
            ) STRICT;
            """),
        // Marks uploads cut short by a crash: the object may exist already, so the next attempt
        // first asks the server whether it holds exactly these bytes.
        Migration(name: "2026-11-add-interrupted", sql: """
            ALTER TABLE files ADD COLUMN interrupted INTEGER NOT NULL DEFAULT 0 CHECK (interrupted IN (0, 1));
            """),
        // Multipart uploads: the open UploadId of a file and its completed parts, kept as each part
        // completes so an upload resumes where it stopped. An upload whose file changed, was
        // re-keyed or removed is listed in `abandoned_uploads` until it has been aborted on the server.
        Migration(name: "2026-11-add-multipart", sql: """
            ALTER TABLE files ADD COLUMN upload_id TEXT;
            ALTER TABLE files ADD COLUMN part_size INTEGER;
            ALTER TABLE files ADD COLUMN checksum TEXT;
            CREATE TABLE parts (
                path        TEXT    NOT NULL REFERENCES files (path) ON UPDATE CASCADE ON DELETE CASCADE,
                part_number INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
                size        INTEGER NOT NULL CHECK (size >= 0),
                etag        TEXT    NOT NULL,
                sha256      TEXT    NOT NULL,
                PRIMARY KEY (path, part_number)
            ) STRICT;
            CREATE TABLE abandoned_uploads (
                s3_key       TEXT    NOT NULL,
                upload_id    TEXT    NOT NULL,
                abandoned_at INTEGER NOT NULL,
                PRIMARY KEY (s3_key, upload_id)
            ) STRICT;
            CREATE TRIGGER multipart_abandon_on_change AFTER UPDATE OF generation, s3_key ON files
            WHEN OLD.upload_id IS NOT NULL AND (NEW.generation <> OLD.generation OR NEW.s3_key <> OLD.s3_key)
            BEGIN
                INSERT OR IGNORE INTO abandoned_uploads (s3_key, upload_id, abandoned_at)
                    VALUES (OLD.s3_key, OLD.upload_id, CAST((julianday('now') - 2440587.5) * 86400000000000.0 AS INTEGER));
                UPDATE files SET upload_id = NULL, part_size = NULL WHERE path = NEW.path;
                DELETE FROM parts WHERE path = NEW.path;
            END;
            CREATE TRIGGER multipart_abandon_on_delete AFTER DELETE ON files
            WHEN OLD.upload_id IS NOT NULL
            BEGIN
                INSERT OR IGNORE INTO abandoned_uploads (s3_key, upload_id, abandoned_at)
                    VALUES (OLD.s3_key, OLD.upload_id, CAST((julianday('now') - 2440587.5) * 86400000000000.0 AS INTEGER));
            END;
            """),
        // Renames of uploaded files: the key the file's object had before (`renamed_from`, with its
        // ETag), so the object can be copied on the server instead of uploaded again, and deleted
        // afterwards when deletes are mirrored. Objects waiting to be deleted on the server
        // (mirror_deletes) are listed in `pending_deletes` until the server confirmed it.
        Migration(name: "2026-12-add-renamed-from-and-deletes", sql: """
            ALTER TABLE files ADD COLUMN renamed_from TEXT;
            ALTER TABLE files ADD COLUMN renamed_from_etag TEXT;
            CREATE TABLE pending_deletes (
                s3_key    TEXT    NOT NULL PRIMARY KEY,
                queued_at INTEGER NOT NULL
            ) STRICT;
            """),
        // How the stored part digests of an open multipart upload were computed: 'sha256' (the
        // SHA-256 of the part's bytes) or, later, 'crc32c' (their CRC-32C); NULL for uploads begun before this column existed, whose
        // parts hold SHA-256 tree digests over 1 MiB chunks.
        Migration(name: "2026-12-add-part-digest", sql: """
            ALTER TABLE files ADD COLUMN part_digest TEXT;
            """),
        // The rest of a synced file's identity (ctime in ns, inode number), so that a file
        // rewritten in place while recsync was stopped is caught even when its size and
        // modification time were kept. NULL for files synced before this column existed.
        Migration(name: "2026-12-add-synced-identity", sql: """
            ALTER TABLE files ADD COLUMN synced_ctime_ns INTEGER;
            ALTER TABLE files ADD COLUMN synced_inode INTEGER;
            """),
        // A folder's `user.sync.status` reads the records of one status under a path: this index
        // makes that cost follow the records it returns, not the size of the folder.
        Migration(name: "2026-12-add-status-path-index", sql: """
            CREATE INDEX files_status_path ON files (status, path);
            """),
        // Claiming and the runner's next wake-up read the head of this index: their cost stays
        // the same however many records wait (docs/QUEUE.md, "Query costs").
        Migration(name: "2026-12-add-due-index", sql: """
            CREATE INDEX files_due ON files (status, next_attempt_at, priority DESC, enqueued_at);
            """),
    ]

    /// Creates `schema_migrations` if needed and applies every migration not yet applied.
    /// Throws `StoreError.newerSchema` if the file has migrations this build does not know.
    /// Returns the names applied now.
    @discardableResult
    static func migrate(_ db: SQLiteDatabase, now: Date) throws -> [String] {
        try db.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name       TEXT    NOT NULL PRIMARY KEY,
                applied_at INTEGER NOT NULL
            ) STRICT
            """, operation: "create the schema_migrations table")
        let applied = Set(try db.query(
            "SELECT name FROM schema_migrations", operation: "read applied migrations") { $0.text(0) })
        let known = Set(all.map(\.name))
        let unknown = applied.subtracting(known)
        if !unknown.isEmpty {
            throw StoreError.newerSchema(path: db.path, unknownMigrations: unknown.sorted())
        }
        var appliedNow: [String] = []
        for migration in all where !applied.contains(migration.name) {
            let operation = "apply migration \(migration.name)"
            try db.transaction(operation: operation) {
                try db.execute(migration.sql, operation: operation)
                try db.run(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    [.text(migration.name), .int(StoredTime.nanoseconds(now))], operation: operation)
            }
            appliedNow.append(migration.name)
        }
        return appliedNow
    }
}
