/// A strict reader for the part of TOML that configuration files need.
///
/// Supported: `#` comments, bare, quoted and dotted keys, `[table]` headers,
/// basic strings with escapes, literal strings, integers (decimal with `_`
/// separators, `0x`, `0o`, `0b`), floats, booleans and single- or multi-line
/// arrays. Not supported, and reported as such: multi-line strings, inline
/// tables, arrays of tables, dates and times.
struct TOMLParser {
    private let text: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var column = 1
    private var document = TOMLDocument()
    private var currentTable: [String] = []
    /// Every key path that holds a value, with where it was set.
    private var valuePaths: [[String]: TOMLPosition] = [:]
    /// Every table header, with where it was declared.
    private var tablePaths: [[String]: TOMLPosition] = [:]

    /// Parses TOML given as UTF-8 bytes.
    static func parse(bytes: [UInt8]) throws -> TOMLDocument {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var line = 1
        var column = 1
        decoding: while true {
            switch decoder.decode(&iterator) {
            case let .scalarValue(scalar):
                scalars.append(scalar)
                if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
            case .emptyInput:
                break decoding
            case .error:
                throw TOMLError(message: "the file is not valid UTF-8; save it as UTF-8 text",
                                position: TOMLPosition(line: line, column: column))
            }
        }
        return try parse(scalars: scalars)
    }

    /// Parses TOML text.
    static func parse(_ text: String) throws -> TOMLDocument {
        try parse(scalars: Array(text.unicodeScalars))
    }

    private static func parse(scalars: [Unicode.Scalar]) throws -> TOMLDocument {
        var parser = TOMLParser(text: scalars)
        if parser.peek() == "\u{FEFF}" { parser.index += 1 }
        try parser.parseDocument()
        return parser.document
    }

    private init(text: [Unicode.Scalar]) {
        self.text = text
    }

    // MARK: - Structure

    private mutating func parseDocument() throws {
        while true {
            skipSpaces()
            guard let c = peek() else { return }
            switch c {
            case "#", "\n", "\r":
                try expectLineEnd()
            case "[":
                try parseTableHeader()
            default:
                try parseKeyValue()
            }
        }
    }

    private mutating func parseTableHeader() throws {
        let start = position
        advance()
        if peek() == "[" {
            throw error("arrays of tables ([[name]]) are not supported; use a single [table]", at: start)
        }
        skipSpaces()
        let path = try parseKeyPath()
        skipSpaces()
        guard peek() == "]" else {
            throw error("expected \"]\" to close the table header\(foundDescription())")
        }
        advance()
        try expectLineEnd()

        if let first = tablePaths[path] {
            throw error("table [\(dotted(path))] is defined twice (first on line \(first.line)); merge the two sections", at: start)
        }
        for prefix in prefixes(of: path, includingSelf: true) {
            if let first = valuePaths[prefix] {
                throw error("[\(dotted(path))] is a table, but \"\(dotted(prefix))\" already has a value (line \(first.line))", at: start)
            }
        }
        tablePaths[path] = start
        document.tables.append(TOMLTableHeader(path: path, position: start))
        currentTable = path
    }

    private mutating func parseKeyValue() throws {
        let keyPosition = position
        let keyPath = try parseKeyPath()
        skipSpaces()
        guard peek() == "=" else {
            throw error("expected \"=\" after the key \"\(dotted(keyPath))\"\(foundDescription())")
        }
        advance()
        skipSpaces()
        let valuePosition = position
        let value = try parseValue()
        try expectLineEnd()

        let path = currentTable + keyPath
        if let first = valuePaths[path] {
            throw error("duplicate key \"\(dotted(path))\" (first set on line \(first.line)); remove one of them", at: keyPosition)
        }
        for prefix in prefixes(of: path, includingSelf: false) where valuePaths[prefix] != nil {
            throw error("\"\(dotted(prefix))\" already has a value (line \(valuePaths[prefix]!.line)), so it cannot also hold \"\(dotted(path))\"", at: keyPosition)
        }
        if tablePaths[path] != nil || valuePaths.keys.contains(where: { $0.count > path.count && Array($0.prefix(path.count)) == path }) {
            throw error("\"\(dotted(path))\" is already a table and cannot also be a value", at: keyPosition)
        }
        valuePaths[path] = keyPosition
        document.entries.append(TOMLEntry(path: path, value: value, keyPosition: keyPosition, valuePosition: valuePosition))
    }

    private mutating func parseKeyPath() throws -> [String] {
        var path = [try parseSimpleKey()]
        while true {
            let save = (index, line, column)
            skipSpaces()
            guard peek() == "." else {
                (index, line, column) = save
                return path
            }
            advance()
            skipSpaces()
            path.append(try parseSimpleKey())
        }
    }

    private mutating func parseSimpleKey() throws -> String {
        guard let c = peek() else { throw error("expected a key, found the end of the file") }
        if c == "\"" { return try parseBasicString() }
        if c == "'" { return try parseLiteralString() }
        var key = String.UnicodeScalarView()
        while let c = peek(), Self.isBareKeyCharacter(c) {
            key.append(c)
            advance()
        }
        guard !key.isEmpty else {
            throw error("expected a key\(foundDescription()); bare keys use A-Z a-z 0-9 _ -, other keys must be quoted")
        }
        return String(key)
    }

    // MARK: - Values

    private mutating func parseValue() throws -> TOMLValue {
        guard let c = peek() else { throw error("expected a value, found the end of the file") }
        switch c {
        case "\n", "\r", "#":
            throw error("expected a value after \"=\"")
        case "\"":
            return .string(try parseBasicString())
        case "'":
            return .string(try parseLiteralString())
        case "[":
            return try parseArray()
        case "{":
            throw error("inline tables ({ ... }) are not supported; use a [table] section instead")
        default:
            return try parseBareValue()
        }
    }

    private mutating func parseArray() throws -> TOMLValue {
        let start = position
        advance()
        var items: [TOMLValue] = []
        while true {
            try skipSpacesNewlinesAndComments()
            guard let c = peek() else {
                throw error("unterminated array; close it with \"]\"", at: start)
            }
            if c == "]" { advance(); return .array(items) }
            items.append(try parseValue())
            try skipSpacesNewlinesAndComments()
            guard let next = peek() else {
                throw error("unterminated array; close it with \"]\"", at: start)
            }
            if next == "," {
                advance()
            } else if next != "]" {
                throw error("expected \",\" or \"]\" in array\(foundDescription())")
            }
        }
    }

    private mutating func parseBasicString() throws -> String {
        let start = position
        if peek(1) == "\"" && peek(2) == "\"" {
            throw error("multi-line strings (\"\"\") are not supported; write the value on one line, using \\n for line breaks", at: start)
        }
        advance()
        var result = String.UnicodeScalarView()
        while true {
            guard let c = peek(), c != "\n", c != "\r" else {
                throw error("unterminated string; add the closing \"", at: start)
            }
            if c == "\"" { advance(); return String(result) }
            if c == "\\" {
                let escapePosition = position
                advance()
                guard let e = peek() else { throw error("unterminated string; add the closing \"", at: start) }
                advance()
                switch e {
                case "b": result.append("\u{08}")
                case "t": result.append("\t")
                case "n": result.append("\n")
                case "f": result.append("\u{0C}")
                case "r": result.append("\r")
                case "e": result.append("\u{1B}")
                case "\"": result.append("\"")
                case "\\": result.append("\\")
                case "u", "U":
                    let length = e == "u" ? 4 : 8
                    var hex = ""
                    for _ in 0..<length {
                        guard let h = peek(), h.properties.isASCIIHexDigit else {
                            throw error("\\\(e) needs exactly \(length) hex digits", at: escapePosition)
                        }
                        hex.unicodeScalars.append(h)
                        advance()
                    }
                    guard let value = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(value) else {
                        throw error("\\\(e)\(hex) is not a Unicode scalar value", at: escapePosition)
                    }
                    result.append(scalar)
                default:
                    throw error("unknown escape \"\\\(e)\"; valid escapes are \\b \\t \\n \\f \\r \\e \\\" \\\\ \\uXXXX \\UXXXXXXXX (use '...' for text with backslashes)", at: escapePosition)
                }
                continue
            }
            if Self.isControl(c) {
                throw error("control character U+\(String(c.value, radix: 16, uppercase: true)) in string; write it as an escape such as \\t or \\u0001")
            }
            result.append(c)
            advance()
        }
    }

    private mutating func parseLiteralString() throws -> String {
        let start = position
        if peek(1) == "'" && peek(2) == "'" {
            throw error("multi-line strings (''') are not supported; write the value on one line", at: start)
        }
        advance()
        var result = String.UnicodeScalarView()
        while true {
            guard let c = peek(), c != "\n", c != "\r" else {
                throw error("unterminated string; add the closing '", at: start)
            }
            if c == "'" { advance(); return String(result) }
            if Self.isControl(c) {
                throw error("control character U+\(String(c.value, radix: 16, uppercase: true)) in string; use a \"...\" string with an escape")
            }
            result.append(c)
            advance()
        }
    }

    /// Booleans, numbers, and anything unquoted that is neither.
    private mutating func parseBareValue() throws -> TOMLValue {
        let start = position
        var word = ""
        while let c = peek(), Self.isBareValueCharacter(c) {
            word.unicodeScalars.append(c)
            advance()
        }
        // "1e+5" and "-1" are one token; a space ends it.
        guard !word.isEmpty else {
            throw error("expected a value\(foundDescription()); strings must be quoted")
        }
        if word == "true" { return .boolean(true) }
        if word == "false" { return .boolean(false) }
        if let value = try Self.number(word, at: start) { return value }
        if Self.looksLikeDate(word) {
            throw TOMLError(message: "dates and times are not supported; write \"\(word)\" as a quoted string", position: start)
        }
        var rest = word
        while let c = peek(), c != "\n", c != "\r", c != "#" {
            rest.unicodeScalars.append(c)
            advance()
        }
        rest = String(rest.reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
        throw TOMLError(message: "\(rest) is not a valid value; strings must be quoted, e.g. \"\(rest)\"", position: start)
    }

    /// Parses a TOML number, or returns nil when `word` is not shaped like one.
    static func number(_ word: String, at position: TOMLPosition) throws -> TOMLValue? {
        func fail(_ message: String) -> TOMLError { TOMLError(message: message, position: position) }
        var body = Substring(word)
        var sign = ""
        if let first = body.first, first == "+" || first == "-" {
            sign = String(first)
            body = body.dropFirst()
        }
        switch body {
        case "inf": return .float(sign == "-" ? -.infinity : .infinity)
        case "nan": return .float(.nan)
        default: break
        }
        guard let first = body.first, first.isASCII, first.isNumber else { return nil }

        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where body.hasPrefix(prefix) {
            guard sign.isEmpty else { throw fail("\(word): a sign is not allowed on \(prefix) numbers") }
            guard let digits = stripUnderscores(body.dropFirst(2), radix: radix) else {
                throw fail("\(word) is not a valid base-\(radix) integer")
            }
            guard let value = Int64(digits, radix: radix) else {
                throw fail("\(word) does not fit in a 64-bit integer")
            }
            return .integer(value)
        }

        // Words such as 8MiB or 5m are unquoted strings, not broken numbers.
        guard body.allSatisfy({ $0.isASCII && ($0.isNumber || "_.eE+-".contains($0)) }) else { return nil }
        let isFloat = body.contains(".") || body.contains("e") || body.contains("E")
        if !isFloat {
            guard let digits = stripUnderscores(body, radix: 10) else {
                if looksLikeDate(word) { return nil }
                throw fail("\(word) is not a valid integer; use digits with single \"_\" between them")
            }
            if digits.count > 1 && digits.hasPrefix("0") {
                throw fail("\(word): leading zeros are not allowed")
            }
            guard let value = Int64(sign + digits) else {
                throw fail("\(word) does not fit in a 64-bit integer")
            }
            return .integer(value)
        }

        // Float: integer part, optional fraction, optional exponent.
        let exponentSplit = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "e" || $0 == "E" })
        guard exponentSplit.count <= 2 else { throw fail("\(word) is not a valid number") }
        let mantissa = exponentSplit[0]
        let mantissaParts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard mantissaParts.count <= 2,
              let whole = stripUnderscores(mantissaParts[0], radix: 10) else {
            if looksLikeDate(word) { return nil }
            throw fail("\(word) is not a valid number")
        }
        if whole.count > 1 && whole.hasPrefix("0") {
            throw fail("\(word): leading zeros are not allowed")
        }
        var normalized = sign + whole
        if mantissaParts.count == 2 {
            guard let fraction = stripUnderscores(mantissaParts[1], radix: 10) else {
                throw fail("\(word) is not a valid number; a \".\" needs digits on both sides")
            }
            normalized += "." + fraction
        }
        if exponentSplit.count == 2 {
            var exponent = exponentSplit[1]
            var exponentSign = ""
            if let s = exponent.first, s == "+" || s == "-" {
                exponentSign = String(s)
                exponent = exponent.dropFirst()
            }
            guard let digits = stripUnderscores(exponent, radix: 10) else {
                throw fail("\(word) is not a valid number; the exponent needs digits")
            }
            normalized += "e" + exponentSign + digits
        }
        guard let value = Double(normalized), value.isFinite else {
            throw fail("\(word) is not a valid number")
        }
        return .float(value)
    }

    /// The digits without `_`, when every `_` sits between two digits.
    static func stripUnderscores(_ text: Substring, radix: Int) -> String? {
        guard let first = text.first, let last = text.last, first != "_", last != "_",
              !text.contains("__") else { return nil }
        let digits = text.filter { $0 != "_" }
        guard digits.allSatisfy({ $0.isASCII && $0.hexDigitValue.map { $0 < radix } == true }) else { return nil }
        return String(digits)
    }

    static func looksLikeDate(_ word: String) -> Bool {
        let chars = Array(word)
        if chars.count >= 5, chars[0..<4].allSatisfy(\.isNumber), chars[4] == "-" { return true }
        if chars.count >= 3, chars[0..<2].allSatisfy(\.isNumber), chars[2] == ":" { return true }
        return false
    }

    // MARK: - Lexing helpers

    private var position: TOMLPosition { TOMLPosition(line: line, column: column) }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < text.count ? text[index + offset] : nil
    }

    private mutating func advance() {
        guard index < text.count else { return }
        if text[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private mutating func skipSpaces() {
        while let c = peek(), c == " " || c == "\t" { advance() }
    }

    private mutating func skipComment() throws {
        guard peek() == "#" else { return }
        while let c = peek(), c != "\n", c != "\r" {
            if Self.isControl(c) {
                throw error("control character U+\(String(c.value, radix: 16, uppercase: true)) in comment; remove it")
            }
            advance()
        }
    }

    /// After a value or header: optional spaces and comment, then a newline or the end.
    private mutating func expectLineEnd() throws {
        skipSpaces()
        try skipComment()
        guard let c = peek() else { return }
        if c == "\n" { advance(); return }
        if c == "\r" && peek(1) == "\n" { advance(); advance(); return }
        if c == "\r" { throw error("carriage return without a line feed; use \\n or \\r\\n line endings") }
        throw error("expected the end of the line\(foundDescription()); put each setting on its own line")
    }

    private mutating func skipSpacesNewlinesAndComments() throws {
        while true {
            skipSpaces()
            guard let c = peek() else { return }
            if c == "#" { try skipComment(); continue }
            if c == "\n" { advance(); continue }
            if c == "\r" && peek(1) == "\n" { advance(); advance(); continue }
            return
        }
    }

    private func foundDescription() -> String {
        guard let c = peek() else { return ", found the end of the file" }
        switch c {
        case "\n", "\r": return ", found the end of the line"
        default: return ", found \"\(Character(c))\""
        }
    }

    private func error(_ message: String, at position: TOMLPosition? = nil) -> TOMLError {
        TOMLError(message: message, position: position ?? self.position)
    }

    private func prefixes(of path: [String], includingSelf: Bool) -> [[String]] {
        let upper = includingSelf ? path.count : path.count - 1
        guard upper >= 1 else { return [] }
        return (1...upper).map { Array(path.prefix($0)) }
    }

    private func dotted(_ path: [String]) -> String {
        path.map { key in
            key.unicodeScalars.allSatisfy(Self.isBareKeyCharacter) && !key.isEmpty ? key : "\"\(key)\""
        }.joined(separator: ".")
    }

    static func isBareKeyCharacter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
    }

    static func isBareValueCharacter(_ c: Unicode.Scalar) -> Bool {
        isBareKeyCharacter(c) || c == "+" || c == "." || c == ":"
    }

    static func isControl(_ c: Unicode.Scalar) -> Bool {
        (c.value < 0x20 && c != "\t") || c.value == 0x7F
    }
}
