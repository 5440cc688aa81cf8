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
        if path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .contains(where: { $0.isEmpty || $0.elementsEqual(".".utf8) || $0.elementsEqual("..".utf8) }) {
            throw StoreError.invalidPath(path, reason: "it has an empty, '.' or '..' segment")
        }
    }

    /// Whether `path` is `folder` itself or lies under `folder/`.
    /// Byte for byte: Swift's `==` and `hasPrefix` take `café` in NFC and in NFD as equal, and a
    /// `/` followed by a combining mark as no `/` at all.
    static func isSameOrInside(_ path: String, _ folder: String) -> Bool {
        same(path, folder) || path.utf8.starts(with: Array(folder.utf8) + [UInt8(ascii: "/")])
    }

    /// Whether two paths are the same bytes.
    static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    /// SQL condition (two parameters) matching every path strictly under `folder/`.
    ///
    /// `path > 'f/' AND path < 'f0'`: with the BINARY collation, strings in that
    /// range are exactly those starting with `f/`, because '0' is the byte after '/'.
    /// Unlike LIKE this has no wildcards, is case-sensitive, and uses the primary key index.
    static let insideFolderCondition = "(path > ? AND path < ?)"

    static func insideFolderArguments(_ folder: String) -> [SQLValue] {
        let bounds = insideFolderBounds(folder)
        return [.text(bounds.above), .text(bounds.below)]
    }

    /// The two bounds of `insideFolderCondition`: paths under `folder/` sort strictly between them.
    static func insideFolderBounds(_ folder: String) -> (above: String, below: String) {
        (folder + "/", folder + "0")
    }
}
