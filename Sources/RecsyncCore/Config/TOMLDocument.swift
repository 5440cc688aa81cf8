/// A position in a TOML text, both 1-based; columns count Unicode scalars.
struct TOMLPosition: Sendable, Equatable, CustomStringConvertible {
    var line: Int
    var column: Int

    var description: String { "line \(line), column \(column)" }
}

/// A TOML value of the subset ``TOMLParser`` reads.
indirect enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])

    /// The type's name as used in error messages.
    var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a float"
        case .boolean: return "a boolean"
        case .array: return "an array"
        }
    }
}

/// One `key = value` line; `path` includes the enclosing table's name.
struct TOMLEntry: Sendable, Equatable {
    var path: [String]
    var value: TOMLValue
    var keyPosition: TOMLPosition
    var valuePosition: TOMLPosition
}

/// One `[table]` header.
struct TOMLTableHeader: Sendable, Equatable {
    var path: [String]
    var position: TOMLPosition
}

/// A parsed TOML file, flattened: every value with its full key path, in file order.
struct TOMLDocument: Sendable, Equatable {
    var entries: [TOMLEntry] = []
    var tables: [TOMLTableHeader] = []

    /// The value at a full key path such as `["sync", "auto_sync"]`.
    subscript(path: String...) -> TOMLValue? {
        entries.first { $0.path == path }?.value
    }
}

/// A syntax error in a TOML text.
struct TOMLError: Error, Equatable, Sendable, CustomStringConvertible {
    var message: String
    var position: TOMLPosition

    var description: String { "\(position): \(message)" }
}
