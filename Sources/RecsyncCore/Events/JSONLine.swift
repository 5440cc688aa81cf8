/// A one-line JSON object written field by field, escaped as `JSONEncoder` escapes: `"` and
/// `\` with a backslash, the control characters below U+0020 as `\b \f \n \r \t` or `\u00XX`,
/// everything else (slashes included) as it is.
struct JSONLine {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private static let hexDigits = Array("0123456789abcdef".utf8)

    mutating func field(_ name: StaticString, number: String) {
        open(name)
        bytes.append(contentsOf: number.utf8)
    }

    mutating func field(_ name: StaticString, string: String) {
        open(name)
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), byte])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func open(_ name: StaticString) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    func finish() -> String {
        String(decoding: bytes + [UInt8(ascii: "}"), 0x0A], as: UTF8.self)
    }
}
