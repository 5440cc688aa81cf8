// Renames and removals of queue records, mirroring the filesystem.
// Lock rule: as in SyncQueue.swift, every method holds `lock` for its whole duration.

import FoundationEssentials

extension SyncQueue {
    /// Moves the record at `from`, and every record under the folder `from/`, to the same
    /// place under `to`, in one transaction. Keys are kept.
    ///
    /// A record already at a destination path is removed first, as `remove` does (its key is
    /// retired if it may hold an object); except when one file is renamed over another that has a
    /// record: then the moving record goes and the replaced one stays (with its key, bumped to a
    /// new generation) for the caller to queue again with the new content. A moved record that was `syncing` goes back to
    /// `pending` with `generation + 1`: the worker's result names the old path and is ignored;
    /// its key is retired (the upload in flight may still create that object).
    ///
    /// - Returns: the moved records with their new paths, ordered by old path.
    public func rename(from: String, to: String) throws -> [FileRecord] {
        try PathRules.validate(from)
        try PathRules.validate(to)
        if PathRules.same(from, to) {
            return try locked { try fetchTree(from) }
        }
        if PathRules.isSameOrInside(to, from) {
            throw StoreError.invalidRename(from: from, to: to, reason: "the destination is inside the source")
        }
        if PathRules.isSameOrInside(from, to) {
            throw StoreError.invalidRename(from: from, to: to, reason: "the destination contains the source")
        }
        return try locked {
            let nowNs = StoredTime.nanoseconds(now())
            return try db.transaction(operation: "rename \(from) to \(to)") {
                let moving = try fetchTree(from)
                if moving.count == 1, PathRules.same(moving[0].path, from), let replaced = try fetch(to) {
                    // A file renamed over another (rsync's and editors' temporary file moved onto
                    // the real name): the new content takes the replaced file's place, and its key,
                    // so the object under the name is updated rather than joined by a second one.
                    try delete(moving[0], at: nowNs)
                    if replaced.status == .syncing { try releaseKey(of: replaced, at: nowNs) }
                    try db.run("""
                        UPDATE files SET generation = generation + 1,
                            status = CASE WHEN status = 'syncing' THEN 'pending' ELSE status END
                        WHERE path = ?
                        """, [.text(to)], operation: "rename \(from) over \(to)")
                    return try fetch(to).map { [$0] } ?? []
                }
                let destinations = moving.map { String(decoding: Array(to.utf8) + Array($0.path.utf8.dropFirst(from.utf8.count)), as: UTF8.self) }
                for destination in destinations {
                    if let occupant = try fetch(destination) {
                        try delete(occupant, at: nowNs)
                    }
                }
                var moved: [FileRecord] = []
                for (record, destination) in zip(moving, destinations) {
                    // An upload in flight may still land under the old key: retire it now, so that
                    // no later file is given that key even if this record is re-keyed.
                    if record.status == .syncing { try releaseKey(of: record, at: nowNs) }
                    try db.run("""
                        UPDATE files SET
                            path = ?,
                            generation = CASE WHEN status = 'syncing' THEN generation + 1 ELSE generation END,
                            status = CASE WHEN status = 'syncing' THEN 'pending' ELSE status END
                        WHERE path = ?
                        """, [.text(destination), .text(record.path)],
                        operation: "rename \(record.path) to \(destination)")
                    if let updated = try fetch(destination) { moved.append(updated) }
                }
                return moved
            }
        }
    }

    /// Removes the record at `path` and every record under the folder `path/`, in one
    /// transaction. The key of a record that may hold an object (uploaded once, or being
    /// uploaded) is retired so no later file overwrites that object; other keys are released.
    ///
    /// - Returns: the removed records, ordered by path.
    public func remove(path: String) throws -> [FileRecord] {
        try PathRules.validate(path)
        return try locked {
            let nowNs = StoredTime.nanoseconds(now())
            return try db.transaction(operation: "remove \(path)") {
                let doomed = try fetchTree(path)
                for record in doomed { try delete(record, at: nowNs) }
                return doomed
            }
        }
    }
}
