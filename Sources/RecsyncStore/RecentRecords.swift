/// Records `SyncQueue.record(path:)` read since the database last changed, so that a status
/// read of a file nothing changes (a file manager asking each file it shows, again and again) is
/// answered without a query and its two file locks.
///
/// The queue has one writer, its own connection (the owner lock keeps every other recsync out;
/// a change made to the file by another program, `sqlite3` say, is seen after a remount), and
/// SQLite counts every row that connection inserts, updates or deletes, triggers included
/// (`sqlite3_total_changes64`): a record is only ever answered from here while that count is the
/// one it was read at. Any change forgets them all. Names are bytes: paths are compared by
/// their UTF-8, never as Unicode strings (NFC and NFD spellings are two files).
///
/// Not thread-safe: used under the queue's lock, which every transaction holds from its BEGIN to
/// its end, so nothing read here was ever uncommitted.
struct RecentRecords {
    /// At most this many records are kept; one more forgets them all.
    static let capacity = 256

    private var changes: Int64 = -1
    private var records: [[UInt8]: FileRecord?] = [:]

    /// The record read for `path` at `changes` (`.some(nil)`: known not to be queued), or nil
    /// when it must be read.
    mutating func lookup(_ path: [UInt8], changes now: Int64) -> FileRecord?? {
        guard now == changes else {
            forget(now)
            return nil
        }
        return records[path]
    }

    /// Keeps `record`, read for `path` while the count of changes was `now`.
    mutating func store(_ record: FileRecord?, for path: [UInt8], changes now: Int64) {
        if now != changes { forget(now) }
        if records.count >= Self.capacity { records.removeAll(keepingCapacity: true) }
        records[path] = .some(record)
    }

    private mutating func forget(_ now: Int64) {
        if !records.isEmpty { records.removeAll(keepingCapacity: true) }
        changes = now
    }
}
