/// A strict reader for the small XML documents S3 answers with: an optional XML declaration,
/// then one element holding elements, text, character and entity references, CDATA and
/// comments. Anything else is refused as a whole: a DTD, a processing instruction, an unknown
/// entity, a character XML does not allow (NUL and most control characters), unbalanced tags,
/// nesting deeper than `maximumDepth`, or anything but comments and white space after the root.
/// Names longer than `maximumNameBytes` and documents of more than `maximumEvents` events are
/// refused too, so that what is built from an answer stays small: S3's largest pages (1,000
/// keys, parts or uploads) hold a few tens of thousands.
///
/// It is ours rather than Foundation's XMLParser because a server's answer must never stop the
/// daemon or grow it: XMLParser trapped on two kinds of malformed answer and leaked memory on
/// every one it rejected (all three found by fuzzing). Element names are reported without their
/// namespace prefix; attributes are checked for form and ignored (S3 answers carry none that
/// matter). Text is reported as XML defines it: line ends become `\n`, references are resolved.
struct S3XMLReader {
    static let maximumDepth = 64
    static let maximumNameBytes = 256
    static let maximumEvents = 200_000

    enum Event: Equatable {
        case start(String)
        case text(String)
        case end(String)
    }

    /// The document's events in order, or nil if it is not a well-formed document of this kind.
    /// `bytes` must be UTF-8 (checked by the caller).
    static func events(_ bytes: [UInt8]) -> [Event]? {
        var reader = S3XMLReader(bytes: bytes)
        return reader.read() ? reader.events : nil
    }

    private let bytes: [UInt8]
    private var index = 0
    private var events: [Event] = []
    private var open: [[UInt8]] = []
    private var text: [UInt8] = []

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private mutating func read() -> Bool {
        if starts("<?xml") {
            guard let end = find("?>", from: index), end > index + 5, Self.isSpace(bytes[index + 5]) else { return false }
            index = end + 2
        }
        var sawRoot = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") {
                if starts("<!--") {
                    guard skipComment() else { return false }
                } else if starts("<![CDATA[") {
                    guard !open.isEmpty, let end = find("]]>", from: index + 9),
                          bytes[(index + 9)..<end].allSatisfy(Self.isAllowed) else { return false }
                    text += bytes[(index + 9)..<end]
                    index = end + 3
                } else if starts("</") {
                    guard readEndTag() else { return false }
                    if open.isEmpty { sawRoot = true }
                } else {
                    guard !sawRoot, readStartTag() else { return false }
                    if open.isEmpty { sawRoot = true }
                }
            } else if byte == UInt8(ascii: "&") {
                guard !open.isEmpty, readReference() else { return false }
            } else {
                guard Self.isAllowed(byte) else { return false }
                if open.isEmpty {
                    guard Self.isSpace(byte) else { return false }  // text outside the root
                } else if byte == 0x0D {
                    text.append(0x0A)  // \r\n and a lone \r both end a line
                    if index + 1 < bytes.count, bytes[index + 1] == 0x0A { index += 1 }
                } else {
                    text.append(byte)
                }
                index += 1
            }
        }
        return sawRoot && open.isEmpty
    }

    private mutating func readStartTag() -> Bool {
        index += 1
        guard let name = readName() else { return false }
        // Attributes: name="value" or name='value', checked for form only.
        while true {
            let hadSpace = skipSpace()
            guard index < bytes.count else { return false }
            if starts("/>") || bytes[index] == UInt8(ascii: ">") { break }
            guard hadSpace, readName() != nil else { return false }
            _ = skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { return false }
            index += 1
            _ = skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else { return false }
            let quote = bytes[index]
            guard let close = bytes[(index + 1)...].firstIndex(of: quote),
                  !bytes[(index + 1)..<close].contains(UInt8(ascii: "<")),
                  bytes[(index + 1)..<close].allSatisfy(Self.isAllowed) else { return false }
            index = close + 1
        }
        guard open.count < Self.maximumDepth, events.count + 3 <= Self.maximumEvents else { return false }
        flushText()
        events.append(.start(Self.localName(name)))
        if starts("/>") {
            index += 2
            events.append(.end(Self.localName(name)))
        } else {
            index += 1
            open.append(name)
        }
        return true
    }

    private mutating func readEndTag() -> Bool {
        index += 2
        guard let name = readName(), let expected = open.last, name == expected,
              events.count + 2 <= Self.maximumEvents else { return false }
        _ = skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { return false }
        index += 1
        flushText()
        open.removeLast()
        events.append(.end(Self.localName(name)))
        return true
    }

    /// `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#N;` `&#xH;`; nothing else.
    private mutating func readReference() -> Bool {
        guard let semicolon = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { return false }
        let name = String(decoding: bytes[(index + 1)..<semicolon], as: UTF8.self)
        let named: [String: UInt8] = ["lt": 0x3C, "gt": 0x3E, "amp": 0x26, "quot": 0x22, "apos": 0x27]
        if let byte = named[name] {
            text.append(byte)
        } else if name.hasPrefix("#") {
            let digits = name.dropFirst()
            let value = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            guard let value, !digits.hasPrefix("x+"), !digits.hasPrefix("+"), Self.isAllowed(scalar: value),
                  let scalar = Unicode.Scalar(value) else { return false }
            text += Array(String(Character(scalar)).utf8)
        } else {
            return false
        }
        index = semicolon + 1
        return true
    }

    private mutating func skipComment() -> Bool {
        guard let end = find("--", from: index + 4), end + 2 < bytes.count, bytes[end + 2] == UInt8(ascii: ">") else { return false }
        guard bytes[(index + 4)..<end].allSatisfy(Self.isAllowed) else { return false }
        index = end + 3
        return true
    }

    /// A name: letters, digits and `_ - . :`, not starting with a digit, `-` or `.`; any
    /// non-ASCII character is accepted as a name character, as XML allows most of them.
    private mutating func readName() -> [UInt8]? {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            let isNameByte = byte >= 0x80 || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
            guard isNameByte else { break }
            index += 1
        }
        guard index > start, index - start <= Self.maximumNameBytes else { return nil }
        let first = bytes[start]
        if (first >= 0x30 && first <= 0x39) || first == UInt8(ascii: "-") || first == UInt8(ascii: ".") { return nil }
        return Array(bytes[start..<index])
    }

    private mutating func skipSpace() -> Bool {
        let start = index
        while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
        return index > start
    }

    private mutating func flushText() {
        if !text.isEmpty { events.append(.text(String(decoding: text, as: UTF8.self))) }
        text = []
    }

    private func starts(_ literal: String) -> Bool {
        bytes[index...].starts(with: literal.utf8)
    }

    private func find(_ literal: String, from start: Int) -> Int? {
        let needle = Array(literal.utf8)
        guard start <= bytes.count - needle.count else { return nil }
        var position = start
        while position <= bytes.count - needle.count {
            if bytes[position] == needle[0], bytes[position..<(position + needle.count)].elementsEqual(needle) { return position }
            position += 1
        }
        return nil
    }

    private static func localName(_ name: [UInt8]) -> String {
        let local = name.lastIndex(of: UInt8(ascii: ":")).map { name[($0 + 1)...] } ?? name[...]
        return String(decoding: local, as: UTF8.self)
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    /// Bytes of characters XML allows: tab, line feed, carriage return and everything from
    /// space up (valid UTF-8 is checked before reading; U+FFFE and U+FFFF are let through).
    static func isAllowed(_ byte: UInt8) -> Bool { byte >= 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    static func isAllowed(scalar value: UInt32) -> Bool {
        value == 0x09 || value == 0x0A || value == 0x0D || (0x20...0xD7FF).contains(value)
            || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
    }
}
