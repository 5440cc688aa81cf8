// A thin wrapper over one SQLite connection: open, run statements with bound
// values, read rows, and run a closure inside a write transaction.
//
// Lock rule: `SQLiteDatabase` is NOT thread-safe and is not `Sendable`. The
// connection is opened with SQLITE_OPEN_NOMUTEX; its owner (`SyncQueue`) must
// serialize every call, which it does by touching the database only while it
// holds its own lock.

import CSQLite3
import FoundationEssentials

/// A value bound to a statement parameter.
enum SQLValue {
    case int(Int64)
    case text(String)
    case null

    static func int(_ value: Int) -> SQLValue { .int(Int64(value)) }

    static func optionalInt(_ value: Int64?) -> SQLValue {
        value.map { .int($0) } ?? .null
    }

    static func optionalText(_ value: String?) -> SQLValue {
        value.map { .text($0) } ?? .null
    }
}

/// One result row, valid only inside the closure that receives it.
struct SQLRow {
    // The statement is owned by the database's cache and stays alive and
    // positioned on this row for as long as the row closure runs.
    fileprivate let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(statement, column) == SQLITE_NULL
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(statement, column)
    }

    func int(_ column: Int32) -> Int {
        Int(sqlite3_column_int64(statement, column))
    }

    func optionalInt64(_ column: Int32) -> Int64? {
        isNull(column) ? nil : int64(column)
    }

    func text(_ column: Int32) -> String {
        // The returned buffer is valid until the next step/reset of this
        // statement; String(cString:) copies it right away.
        guard let bytes = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: bytes)
    }

    func optionalText(_ column: Int32) -> String? {
        isNull(column) ? nil : text(column)
    }
}

/// One open SQLite connection with a cache of prepared statements.
final class SQLiteDatabase {
    let path: String
    // The connection handle; nil once closed. Only used while open, and
    // only from the owner's serialized calls (see the lock rule above).
    private var handle: OpaquePointer?
    // Prepared statements keyed by SQL text; each is finalized in close().
    private var statements: [String: OpaquePointer] = [:]

    /// The SQL of every statement prepared so far (for the query-plan tests).
    var preparedSQL: Set<String> { Set(statements.keys) }
    private var transactionDepth = 0

    /// Opens (creating if needed) the database file at `path`.
    init(path: String) throws {
        self.path = path
        // `db` receives the new handle; SQLite allocates it even on most
        // failures so it can report the reason, and we close it below.
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(
            path, &db,
            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            // Closing a failed handle is required and safe; nil is a no-op.
            sqlite3_close_v2(db)
            throw StoreError.cannotOpen(path: path, reason: message, code: rc)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    var isOpen: Bool { handle != nil }

    /// Rows changed by every statement since the connection opened (0 when closed).
    var totalChanges: Int64 { handle.map { sqlite3_total_changes64($0) } ?? 0 }

    /// Finalizes every cached statement and closes the connection. Idempotent.
    func close() {
        // Every cached statement belongs to `handle` and is finalized exactly
        // once here, before the handle itself is closed.
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
        }
        handle = nil
    }

    /// Runs one or more SQL statements that take no parameters and return no rows.
    func execute(_ sql: String, operation: String) throws {
        // The handle stays open for this call: close() needs the owner's lock too.
        let db = try openHandle()
        // errmsg is allocated by SQLite and freed with sqlite3_free below.
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
            sqlite3_free(errmsg)
            throw StoreError.sqlite(operation: operation, path: path, code: rc, message: message)
        }
    }

    /// Runs a statement that returns no rows; returns the number of rows changed.
    @discardableResult
    func run(_ sql: String, _ arguments: [SQLValue] = [], operation: String) throws -> Int {
        let statement = try prepared(sql, arguments, operation: operation)
        defer { sqlite3_reset(statement) }
        var rc = sqlite3_step(statement)
        while rc == SQLITE_ROW { rc = sqlite3_step(statement) }
        guard rc == SQLITE_DONE else { throw error(rc, operation) }
        // handle is non-nil here: prepared() succeeded.
        return Int(sqlite3_changes(handle!))
    }

    /// Runs a query and maps every row.
    func query<T>(
        _ sql: String, _ arguments: [SQLValue] = [], operation: String,
        _ map: (SQLRow) throws -> T
    ) throws -> [T] {
        let statement = try prepared(sql, arguments, operation: operation)
        defer { sqlite3_reset(statement) }
        var result: [T] = []
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc, operation) }
            result.append(try map(SQLRow(statement: statement)))
        }
        return result
    }

    /// Runs a query and maps its first row, if any.
    func queryFirst<T>(
        _ sql: String, _ arguments: [SQLValue] = [], operation: String,
        _ map: (SQLRow) throws -> T
    ) throws -> T? {
        let statement = try prepared(sql, arguments, operation: operation)
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        if rc == SQLITE_DONE { return nil }
        guard rc == SQLITE_ROW else { throw error(rc, operation) }
        return try map(SQLRow(statement: statement))
    }

    /// Runs `body` inside `BEGIN IMMEDIATE ... COMMIT`, rolling back if it throws.
    /// Nested calls join the outer transaction.
    func transaction<T>(operation: String, _ body: () throws -> T) throws -> T {
        if transactionDepth > 0 {
            return try body()
        }
        try execute("BEGIN IMMEDIATE", operation: operation)
        transactionDepth += 1
        defer { transactionDepth -= 1 }
        do {
            let value = try body()
            try execute("COMMIT", operation: operation)
            return value
        } catch {
            // A failed COMMIT may already have rolled back; ignore the second error.
            try? execute("ROLLBACK", operation: operation)
            throw error
        }
    }

    // MARK: - Private

    // Returns the live handle; callers use it only within this serialized call.
    private func openHandle() throws -> OpaquePointer {
        guard let handle else { throw StoreError.closed(path: path) }
        return handle
    }

    private func error(_ rc: Int32, _ operation: String) -> StoreError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "connection closed"
        return StoreError.sqlite(operation: operation, path: path, code: rc, message: message)
    }

    // Returns a cached statement owned by `handle`, reset by the caller after use.
    private func prepared(_ sql: String, _ arguments: [SQLValue], operation: String) throws -> OpaquePointer {
        let db = try openHandle()
        // Either a cached statement or a fresh one, both alive until close().
        let statement: OpaquePointer
        if let cached = statements[sql] {
            statement = cached
        } else {
            // `fresh` receives a statement owned by `db`; it is cached and
            // finalized in close().
            var fresh: OpaquePointer?
            let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &fresh, nil)
            guard rc == SQLITE_OK, let fresh else {
                sqlite3_finalize(fresh)
                throw error(rc, operation)
            }
            statements[sql] = fresh
            statement = fresh
        }
        sqlite3_clear_bindings(statement)
        for (index, value) in arguments.enumerated() {
            let position = Int32(index + 1)
            let rc: Int32
            switch value {
            case .int(let number):
                rc = sqlite3_bind_int64(statement, position, number)
            case .text(let string):
                // The String is bridged to a C string only for this call;
                // SQLITE_TRANSIENT makes SQLite copy it before returning.
                rc = sqlite3_bind_text(statement, position, string, -1, recsync_sqlite_transient)
            case .null:
                rc = sqlite3_bind_null(statement, position)
            }
            guard rc == SQLITE_OK else { throw error(rc, operation) }
        }
        return statement
    }
}

/// The version of the SQLite library the queue runs with (for `recsync version`).
public enum SQLiteLibrary {
    /// e.g. `3.46.1`
    public static var version: String { String(cString: sqlite3_libversion()) }
}
