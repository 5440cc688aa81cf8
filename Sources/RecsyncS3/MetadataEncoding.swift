import FoundationEssentials

/// Encoding of user metadata into `x-amz-meta-*` headers and back.
///
/// HTTP header values must be ASCII, so a value that is not plain printable ASCII (or that
/// has leading/trailing spaces S3 would trim, or already looks like an encoded word) is sent as
/// one RFC 2047 encoded word, `=?UTF-8?B?<base64>?=`, the form AWS SDKs use. `headObject` decodes
/// that form.
public enum MetadataEncoding {
    public static let headerPrefix = "x-amz-meta-"

    /// Validates metadata and returns `(headerName, headerValue)` pairs.
    /// - Throws: `S3Error.invalidRequest` for empty or non-token names and for values with
    ///   control characters.
    public static func headers(for metadata: [String: String]) throws -> [(name: String, value: String)] {
        try metadata.sorted { $0.key < $1.key }.map { name, value in
            let lower = name.lowercased()
            guard !lower.isEmpty, lower.utf8.allSatisfy(isTokenByte) else {
                throw S3Error(.invalidRequest(message: "metadata name '\(name)' is not a valid HTTP header token; use letters, digits and '-' only."))
            }
            guard !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f || (0x80...0x9f).contains($0.value) }) else {
                throw S3Error(.invalidRequest(message: "metadata value for '\(name)' contains control characters (newline, tab, ...); remove them."))
            }
            return (headerPrefix + lower, encodeValue(value))
        }
    }

    /// Returns `value` unchanged if it is safe printable ASCII, else its RFC 2047 B-encoded form.
    public static func encodeValue(_ value: String) -> String {
        let plain = value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
            && value.first != " " && value.last != " "
            && !(value.hasPrefix("=?") && value.hasSuffix("?="))
        if plain { return value }
        return "=?UTF-8?B?\(Data(value.utf8).base64EncodedString())?="
    }

    /// Decodes one or more whitespace-separated `=?UTF-8?B?...?=` (or `Q`) encoded words; any
    /// other value is returned as is.
    public static func decodeValue(_ value: String) -> String {
        let words = value.split(separator: " ", omittingEmptySubsequences: true)
        guard !words.isEmpty else { return value }
        var bytes = [UInt8]()
        for word in words {
            guard let decoded = decodeWord(word) else { return value }
            bytes += decoded
        }
        return String(validating: bytes, as: UTF8.self) ?? value
    }

    private static func decodeWord(_ word: Substring) -> [UInt8]? {
        guard word.hasPrefix("=?"), word.hasSuffix("?="), word.count >= 8 else { return nil }
        let parts = word.dropFirst(2).dropLast(2).split(separator: "?", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
        switch parts[1].uppercased() {
        case "B":
            return Data(base64Encoded: String(parts[2])).map { Array($0) }
        case "Q":
            var out = [UInt8]()
            var it = Array(parts[2].utf8)[...]
            while let c = it.popFirst() {
                if c == UInt8(ascii: "_") { out.append(0x20) }
                else if c == UInt8(ascii: "="), it.count >= 2,
                        let b = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                    out.append(b); it = it.dropFirst(2)
                } else { out.append(c) }
            }
            return out
        default:
            return nil
        }
    }

    /// Extracts user metadata from response headers (lowercased names), decoding encoded words.
    static func metadata(fromHeaders headers: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in headers where name.hasPrefix(headerPrefix) {
            result[String(name.dropFirst(headerPrefix.count))] = decodeValue(value)
        }
        return result
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }
}
