import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random access to the bytes of an audio file, for header parsing.
///
/// Reads past the end return fewer bytes (possibly none) instead of failing,
/// so parsers only need to check the length of what they got.
protocol AudioByteSource {
    /// The total size of the file in bytes.
    var size: Int64 { get }
    /// Up to `count` bytes starting at `offset`.
    func read(at offset: Int64, count: Int) -> [UInt8]
}

/// An in-memory file.
struct DataByteSource: AudioByteSource {
    let data: Data

    var size: Int64 { Int64(data.count) }

    func read(at offset: Int64, count: Int) -> [UInt8] {
        guard offset >= 0, count > 0, offset < size else { return [] }
        let start = data.startIndex + Int(offset)
        let end = start + min(count, data.endIndex - start)
        return [UInt8](data[start..<end])
    }
}

/// An open file, read with `pread(2)` so the descriptor's offset is untouched.
struct FileByteSource: AudioByteSource {
    let fd: Int32
    let size: Int64

    /// Nil when `fd` is not an open regular file.
    init?(fd: Int32) {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        self.fd = fd
        self.size = Int64(info.st_size)
    }

    func read(at offset: Int64, count: Int) -> [UInt8] {
        guard offset >= 0, count > 0, offset < size else { return [] }
        let wanted = Int(min(Int64(count), size - offset))
        var buffer = [UInt8](repeating: 0, count: wanted)
        var filled = 0
        while filled < wanted {
            let got = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + filled, wanted - filled, off_t(offset) + off_t(filled))
            }
            if got > 0 {
                filled += got
            } else if got < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return Array(buffer.prefix(filled))
    }
}

extension Array where Element == UInt8 {
    /// An unsigned integer of `width` bytes at `offset`, or nil when out of bounds.
    func uint(at offset: Int, width: Int, bigEndian: Bool) -> UInt64? {
        guard offset >= 0, width > 0, width <= 8, offset <= count - width else { return nil }
        var value: UInt64 = 0
        for i in 0..<width {
            let byte = UInt64(self[bigEndian ? offset + i : offset + width - 1 - i])
            value = value << 8 | byte
        }
        return value
    }

    /// Whether the four bytes at `offset` spell `tag` in ASCII.
    func hasTag(_ tag: String, at offset: Int = 0) -> Bool {
        let expected = Array(tag.utf8)
        guard offset >= 0, offset <= count - expected.count else { return false }
        return Array(self[offset..<offset + expected.count]) == expected
    }

    /// The four bytes at `offset` as an ASCII chunk id, or nil.
    func chunkID(at offset: Int = 0) -> String? {
        guard offset >= 0, offset <= count - 4 else { return nil }
        let bytes = self[offset..<offset + 4]
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
