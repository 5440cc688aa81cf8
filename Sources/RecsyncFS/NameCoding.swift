import FoundationEssentials
import Glibc
import RecsyncPrimitives

/// Names are bytes: how a file name (or a path of them) the kernel hands over becomes the text
/// recsync keeps in its queue and passes between its parts, and back, without losing a byte.
///
/// - Valid UTF-8 is kept exactly as it is: no Unicode normalization, so `café` in NFC and in
///   NFD are two names, as on ext4.
/// - Each byte that is not part of valid UTF-8 (a Latin-1 `é` is the lone byte 0xE9) becomes the
///   private-use scalar U+10FF00 + byte (U+10FFE9). Scalars in U+10FF80...U+10FFFF are reserved
///   for this: a name that really holds one has each of its UTF-8 bytes escaped the same way.
///
/// `bytes(of:)` undoes `text(_:)` exactly, so every name ext4 accepts goes to the disk and comes
/// back from the mount byte for byte. Text that did not come from `text(_:)` (a path typed on the
/// command line goes through `text(_:)` too) still maps to bytes. docs/SEMANTICS.md, "Names".
///
/// Swift compares `String`s by canonical equivalence (NFC and NFD equal): code that compares or
/// hashes paths uses `PathKey` or the byte-wise helpers below, never `==` on two names.
public enum NameCoding {
    static let escapeBase: UInt32 = 0x10FF00
    static let reserved: ClosedRange<UInt32> = 0x10FF80...0x10FFFF

    /// The text form of a name or path given as bytes.
    public static func text<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        // Fast path: plain ASCII and valid UTF-8 without reserved scalars are kept as they are.
        if let valid = String(validating: input, as: UTF8.self),
           !valid.unicodeScalars.contains(where: { reserved.contains($0.value) }) {
            return valid
        }
        var scalars = String.UnicodeScalarView()
        var index = 0
        while index < input.count {
            let length = validSequenceLength(input, at: index)
            if length > 0, let scalar = decode(input, at: index, length: length), !reserved.contains(scalar.value) {
                scalars.append(scalar)
                index += length
            } else {
                let count = max(length, 1)
                for byte in input[index..<(index + count)] { scalars.append(escape(byte)) }
                index += count
            }
        }
        return String(scalars)
    }

    /// The text form of a NUL-terminated name from the kernel.
    public static func text(cString: UnsafePointer<CChar>) -> String {
        // Safe: the kernel's names are NUL-terminated; strlen stops at the terminator.
        text(UnsafeRawBufferPointer(start: cString, count: strlen(cString)))
    }

    /// The text form of the name in a folder entry that readdir returned.
    public static func text(entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { raw in
            // Safe: d_name is a NUL-terminated array inside the dirent that readdir returned.
            text(cString: raw.bindMemory(to: CChar.self).baseAddress!)
        }
    }

    /// The bytes a text form stands for.
    public static func bytes(of text: String) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if reserved.contains(scalar.value) {
                result.append(UInt8(scalar.value - escapeBase))
            } else {
                result.append(contentsOf: Array(String(scalar).utf8))
            }
        }
        return result
    }

    /// Calls `body` with the name as the NUL-terminated bytes a system call takes.
    public static func withCString<R>(_ text: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        if !text.unicodeScalars.contains(where: { reserved.contains($0.value) }) {
            return try text.withCString(body)  // its UTF-8 is its bytes
        }
        var raw = bytes(of: text).map { CChar(bitPattern: $0) }
        raw.append(0)
        // Safe: `raw` is NUL-terminated and outlives the call.
        return try raw.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Whether the text stands for bytes that are not valid UTF-8.
    public static func hasEscapedBytes(_ text: String) -> Bool {
        text.unicodeScalars.contains { reserved.contains($0.value) }
    }

    /// The name as a person reads it on a terminal: printable text as it is; each byte that is
    /// not valid UTF-8 as `\xHH`; control characters as `\n`, `\t`, `\r` or `\xHH` for each of
    /// their bytes; a backslash doubled. Every `\xHH` stands for one byte, so it can be undone.
    public static func display(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case reserved: result += "\\x" + NumberText.hexByte(scalar.value - escapeBase)
            case 0x5C: result += "\\\\"
            case 0x0A: result += "\\n"
            case 0x09: result += "\\t"
            case 0x0D: result += "\\r"
            case 0..<0x20, 0x7F: result += "\\x" + NumberText.hexByte(scalar.value)
            case 0x80...0x9F:  // each of its UTF-8 bytes, so `\xHH` always stands for one byte
                for byte in String(scalar).utf8 { result += "\\x" + NumberText.hexByte(byte) }
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    // MARK: Byte-wise comparisons of paths

    /// Whether two paths are the same bytes (not merely canonically equivalent).
    public static func same(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    /// Whether `path` is `folder` or lies inside it, byte for byte.
    public static func isSameOrInside(_ path: String, _ folder: String) -> Bool {
        let p = path.utf8, f = folder.utf8
        guard p.starts(with: f) else { return false }
        if p.count == f.count { return true }
        return f.isEmpty || p[p.index(p.startIndex, offsetBy: f.count)] == UInt8(ascii: "/")
    }

    /// `path` with the leading `from` replaced by `to`, if it is `from` or inside it.
    public static func rebase(_ path: String, from: String, to: String) -> String {
        guard isSameOrInside(path, from), !from.isEmpty else { return path }
        let rest = path.utf8.dropFirst(from.utf8.count)
        return String(decoding: Array(to.utf8) + Array(rest), as: UTF8.self)
    }

    /// `text` without the leading `prefix` bytes, or nil when it does not start with them.
    public static func dropPrefix(_ prefix: String, from text: String) -> String? {
        guard text.utf8.starts(with: prefix.utf8) else { return nil }
        return String(decoding: Array(text.utf8.dropFirst(prefix.utf8.count)), as: UTF8.self)
    }

    /// The last component of a path and the folder before it (`""` at the root), split at the
    /// last `/` byte (never at a `/` that a combining mark follows, as `Character`s would).
    public static func split(_ path: String) -> (folder: String, name: String) {
        let bytes = Array(path.utf8)
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return ("", path) }
        return (String(decoding: bytes[..<slash], as: UTF8.self), String(decoding: bytes[(slash + 1)...], as: UTF8.self))
    }

    // MARK: UTF-8 validation

    private static func escape(_ byte: UInt8) -> Unicode.Scalar {
        Unicode.Scalar(escapeBase + UInt32(byte))!
    }

    /// The length of the valid UTF-8 sequence starting at `index`, or 0 if none starts there.
    private static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        return String(validating: bytes[index..<(index + length)], as: UTF8.self) == nil ? 0 : length
    }

    private static func decode(_ bytes: [UInt8], at index: Int, length: Int) -> Unicode.Scalar? {
        String(decoding: bytes[index..<(index + length)], as: UTF8.self).unicodeScalars.first
    }
}

/// A path as a dictionary or set key: equal only when the bytes are equal, so `café` in NFC and
/// in NFD are two keys (a `String` key would merge them).
public struct PathKey: Hashable, Sendable, CustomStringConvertible {
    public let path: String
    public init(_ path: String) { self.path = path }
    public static func == (a: PathKey, b: PathKey) -> Bool { NameCoding.same(a.path, b.path) }
    public func hash(into hasher: inout Hasher) { for byte in path.utf8 { hasher.combine(byte) } }
    public var description: String { path }
}
