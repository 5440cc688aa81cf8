extension StringProtocol {
    /// The text without the leading and trailing Unicode scalars for which `predicate` holds
    /// (scalars, not characters, as Foundation's `trimmingCharacters(in:)` works: a combining
    /// mark after a trailing space stays).
    public func trimming(while predicate: (Unicode.Scalar) -> Bool) -> String {
        let text = String(self)
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !predicate($0) }),
              let last = scalars.lastIndex(where: { !predicate($0) }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    /// The text without leading and trailing white space and line breaks (Unicode's White_Space:
    /// what Foundation's `.whitespacesAndNewlines` holds).
    public func trimmingWhitespace() -> String {
        trimming(while: \.properties.isWhitespace)
    }
}

extension StringProtocol {
    /// The text with every occurrence of `target` replaced by `replacement`, matched byte for byte
    /// (as Foundation's `replacingOccurrences(of:with:)` does), not character by character: a
    /// `\n` inside a `\r\n` is found, and so is a `-` followed by a combining mark.
    public func replacingBytes(of target: String, with replacement: String) -> String {
        let source = Array(utf8)
        let pattern = Array(target.utf8)
        guard !pattern.isEmpty, source.count >= pattern.count else { return String(self) }
        var result: [UInt8] = []
        result.reserveCapacity(source.count)
        var index = 0
        while index < source.count {
            if index + pattern.count <= source.count, source[index] == pattern[0],
               source[index..<index + pattern.count].elementsEqual(pattern) {
                result.append(contentsOf: replacement.utf8)
                index += pattern.count
            } else {
                result.append(source[index])
                index += 1
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
