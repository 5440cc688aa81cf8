/// The `Content-Type` to store with an uploaded object, chosen from its file name.
public enum ContentType {
    /// The type used when the extension is unknown or missing.
    public static let fallback = "application/octet-stream"

    /// Media types by lower-case file extension.
    static let byExtension: [String: String] = [
        // Audio
        "wav": "audio/wav",
        "wave": "audio/wav",
        "flac": "audio/flac",
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
        "oga": "audio/ogg",
        "opus": "audio/opus",
        "m4a": "audio/mp4",
        "m4b": "audio/mp4",
        "aac": "audio/aac",
        "webm": "audio/webm",
        "aif": "audio/aiff",
        "aiff": "audio/aiff",
        "aifc": "audio/aiff",
        "caf": "audio/x-caf",
        "mka": "audio/x-matroska",
        "wma": "audio/x-ms-wma",
        "mid": "audio/midi",
        "midi": "audio/midi",
        "amr": "audio/amr",
        "3gp": "audio/3gpp",
        // Video
        "mp4": "video/mp4",
        "m4v": "video/mp4",
        "mov": "video/quicktime",
        "mkv": "video/x-matroska",
        // Documents and notes
        "txt": "text/plain",
        "md": "text/markdown",
        "csv": "text/csv",
        "srt": "application/x-subrip",
        "vtt": "text/vtt",
        "json": "application/json",
        "xml": "application/xml",
        "pdf": "application/pdf",
        "zip": "application/zip",
        // Images
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "gif": "image/gif",
        "webp": "image/webp",
        "heic": "image/heic",
    ]

    /// The media type for a file name, by its extension, ignoring case.
    ///
    /// `Take 1.WAV` gives `audio/wav`; a name without a known extension (or a
    /// dot file such as `.flac`) gives `application/octet-stream`.
    public static func forFileName(_ name: String) -> String {
        let base = name.split(separator: "/").last.map(String.init) ?? name
        guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return fallback }
        let ext = base[base.index(after: dot)...].lowercased()
        return byExtension[ext] ?? fallback
    }
}
