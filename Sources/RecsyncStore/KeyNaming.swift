// How a colliding S3 key is renamed: `-N` goes before the extension of the
// last path segment.
//
//   take1.wav     -> take1-2.wav
//   README        -> README-2
//   a.tar.gz      -> a.tar-2.gz      (only the last extension is kept aside)
//   sub/.hidden   -> sub/.hidden-2   (a leading dot is not an extension)
//   v1.2/take     -> v1.2/take-2     (dots in folder names are ignored)

enum KeyNaming {
    /// `key` with `-number` inserted before the extension of its last path segment.
    static func numbered(_ key: String, _ number: Int) -> String {
        let (stem, suffix) = parts(key)
        return stem + "-\(number)" + suffix
    }

    /// `key` cut where the number goes: before the extension of its last path segment, or at
    /// the end.
    static func parts(_ key: String) -> (stem: String, suffix: String) {
        // By scalars: a `Character` search misses a `/` or `.` that a combining mark follows.
        let scalars = key.unicodeScalars
        let segmentStart = scalars.lastIndex(of: "/").map { scalars.index(after: $0) } ?? scalars.startIndex
        let segment = scalars[segmentStart...]
        if let dot = segment.lastIndex(of: "."), dot > segment.startIndex {
            return (String(scalars[..<dot]), String(scalars[dot...]))
        }
        return (key, "")
    }

    /// N when `key` is `stem-N` + `suffix` (N written as `numbered` writes it, 2 or more), else nil.
    static func number(of key: String, stem: String, suffix: String) -> Int? {
        let bytes = Array(key.utf8), head = Array(stem.utf8) + [UInt8(ascii: "-")], tail = Array(suffix.utf8)
        guard bytes.count > head.count + tail.count, bytes.starts(with: head), bytes.suffix(tail.count).elementsEqual(tail) else {
            return nil
        }
        let digits = bytes[head.count..<(bytes.count - tail.count)]
        guard digits.first != UInt8(ascii: "0"), digits.count <= 18,
              digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let value = Int(String(decoding: digits, as: UTF8.self)), value >= 2 else { return nil }
        return value
    }
}
