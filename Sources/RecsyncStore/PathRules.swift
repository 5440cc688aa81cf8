// Rules for mount-relative paths and the SQL that selects a folder's records.

enum PathRules {
    /// Throws unless `path` is a non-empty mount-relative file path.
    static func validate(_ path: String) throws {
        if path.isEmpty {
            throw StoreError.invalidPath(path, reason: "the path is empty")
        }
        if path.hasPrefix("/") {
            throw StoreError.invalidPath(path, reason: "it starts with '/'")
        }
        if path.hasSuffix("/") {
            throw StoreError.invalidPath(path, reason: "it ends with '/'")
        }
        if path.utf8.contains(0) {
            throw StoreError.invalidPath(path, reason: "it contains a NUL byte")
        }
        if path.split(separator: "/", omittingEmptySubsequences: false)
            .contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            throw StoreError.invalidPath(path, reason: "it has an empty, '.' or '..' segment")
        }
    }

    /// Whether `path` is `folder` itself or lies under `folder/`.
    static func isSameOrInside(_ path: String, _ folder: String) -> Bool {
        path == folder || path.hasPrefix(folder + "/")
    }

    /// SQL condition (two parameters) matching every path strictly under `folder/`.
    ///
    /// `path > 'f/' AND path < 'f0'`: with the BINARY collation, strings in that
    /// range are exactly those starting with `f/`, because '0' is the byte after '/'.
    /// Unlike LIKE this has no wildcards, is case-sensitive, and uses the primary key index.
    static let insideFolderCondition = "(path > ? AND path < ?)"

    static func insideFolderArguments(_ folder: String) -> [SQLValue] {
        [.text(folder + "/"), .text(folder + "0")]
    }
}
