/// Percent-encoding as SigV4 and S3 expect it (RFC 3986).
public enum URIEncoding {
    /// Encodes every byte of the UTF-8 form of `string` except the RFC 3986 unreserved
    /// characters `A-Z a-z 0-9 - . _ ~`, as uppercase `%XX`. When `keepSlash` is true, `/` is
    /// kept too (object key paths); query names and values use `keepSlash: false`.
    /// S3 keys are encoded exactly once: the same string goes on the wire and into the signature.
    public static func encode(_ string: String, keepSlash: Bool) -> String {
        var out = [UInt8]()
        out.reserveCapacity(string.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Builds a canonical query string: names and values encoded (slash included), pairs sorted
    /// by encoded name then value, each written as `name=value` (an empty value gives `name=`).
    public static func canonicalQuery(_ items: [(name: String, value: String)]) -> String {
        items.map { (encode($0.name, keepSlash: false), encode($0.value, keepSlash: false)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }
}
