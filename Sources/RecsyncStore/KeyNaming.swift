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
        // By scalars: a `Character` search misses a `/` or `.` that a combining mark follows.
        let scalars = key.unicodeScalars
        let segmentStart = scalars.lastIndex(of: "/").map { scalars.index(after: $0) } ?? scalars.startIndex
        let segment = scalars[segmentStart...]
        if let dot = segment.lastIndex(of: "."), dot > segment.startIndex {
            return String(scalars[..<dot]) + "-\(number)" + String(scalars[dot...])
        }
        return "\(key)-\(number)"
    }
}
