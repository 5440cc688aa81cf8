/// Duration of native FLAC files from the STREAMINFO block.
enum FLACHeader {
    static func duration(_ source: some AudioByteSource) -> Double? {
        var offset: Int64 = 0
        // Tolerate an ID3v2 tag in front of the stream, as some taggers write.
        let id3 = source.read(at: 0, count: 10)
        if id3.count == 10, id3.starts(with: Array("ID3".utf8)) {
            let sizeBytes = id3[6..<10]
            guard sizeBytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            let size = sizeBytes.reduce(Int64(0)) { $0 << 7 | Int64($1) }
            let hasFooter = id3[5] & 0x10 != 0
            offset = 10 + size + (hasFooter ? 10 : 0)
        }
        // "fLaC", the 4-byte block header, then the 34-byte STREAMINFO body.
        let bytes = source.read(at: offset, count: 42)
        guard bytes.count == 42, bytes.hasTag("fLaC"),
              bytes[4] & 0x7F == 0, // STREAMINFO must be the first block
              let length = bytes.uint(at: 5, width: 3, bigEndian: true), length >= 34,
              let packed = bytes.uint(at: 18, width: 8, bigEndian: true) else { return nil }
        // 20 bits sample rate, 3 bits channels - 1, 5 bits bits per sample - 1,
        // 36 bits total samples per channel.
        let sampleRate = packed >> 44
        let totalSamples = packed & 0xF_FFFF_FFFF
        guard sampleRate > 0, totalSamples > 0 else { return nil }
        return Double(totalSamples) / Double(sampleRate)
    }
}
