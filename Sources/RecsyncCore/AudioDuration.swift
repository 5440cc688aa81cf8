import FoundationEssentials

/// Reads the playing time of an audio file from its own header.
///
/// Supported: WAV (RIFF, big-endian RIFX, RF64/BW64), FLAC and AIFF/AIFF-C.
/// Only headers are read: chunk bodies other than the small format chunks are
/// skipped by offset, so the cost does not grow with the file's size.
/// Malformed, truncated or unsupported input gives nil, never a crash.
public enum AudioDuration {
    /// Largest header chunk body that is read into memory.
    static let maximumChunkBodyBytes = 64 * 1024
    /// Most chunks walked before giving up on a file.
    static let maximumChunkCount = 4096

    /// The duration in seconds of the regular file open at `fd`, or nil when
    /// the format is not recognized or the header is corrupt.
    ///
    /// The file is read with `pread(2)`, so the descriptor's offset is unchanged.
    public static func seconds(fd: Int32) -> Double? {
        guard let source = FileByteSource(fd: fd) else { return nil }
        return seconds(source: source)
    }

    /// The duration in seconds of a whole audio file held in memory, or nil
    /// when the format is not recognized or the header is corrupt.
    public static func seconds(data: Data) -> Double? {
        seconds(source: DataByteSource(data: data))
    }

    static func seconds(source: some AudioByteSource) -> Double? {
        let head = source.read(at: 0, count: 12)
        let result: Double?
        if head.hasTag("RIFF") || head.hasTag("RIFX") || head.hasTag("RF64") || head.hasTag("BW64") {
            result = WAVHeader.duration(source)
        } else if head.hasTag("FORM") {
            result = AIFFHeader.duration(source)
        } else if head.hasTag("fLaC") || head.starts(with: Array("ID3".utf8)) {
            result = FLACHeader.duration(source)
        } else {
            result = nil
        }
        guard let result, result.isFinite, result >= 0 else { return nil }
        return result
    }
}
