/// Duration of WAV files: RIFF (little-endian), RIFX (big-endian) and
/// RF64/BW64 (64-bit sizes in a `ds64` chunk).
enum WAVHeader {
    /// Format tags whose data size divided by the block size is the frame count.
    static let uncompressedFormats: Set<UInt64> = [
        0x0001, // PCM
        0x0003, // IEEE float
        0x0006, // A-law
        0x0007, // mu-law
    ]
    static let extensibleFormat: UInt64 = 0xFFFE
    static let unsetSize: UInt64 = 0xFFFF_FFFF

    struct Format {
        var tag: UInt64
        var channels: UInt64
        var sampleRate: UInt64
        var byteRate: UInt64
        var blockAlign: UInt64
    }

    static func duration(_ source: some AudioByteSource) -> Double? {
        let head = source.read(at: 0, count: 12)
        guard head.count == 12, head.hasTag("WAVE", at: 8) else { return nil }
        let bigEndian = head.hasTag("RIFX")
        let is64 = head.hasTag("RF64") || head.hasTag("BW64")
        let fileSize = source.size

        var format: Format?
        var factSamples: UInt64?
        var ds64DataSize: UInt64?
        var ds64SampleCount: UInt64?
        var dataSize: UInt64?

        var offset: Int64 = 12
        var previousWasOdd = false
        for _ in 0..<AudioDuration.maximumChunkCount {
            var header = source.read(at: offset, count: 8)
            // Some writers forget the pad byte after an odd-sized chunk; accept
            // the unpadded position when only it holds a chunk id.
            if previousWasOdd, header.chunkID() == nil {
                let unpadded = source.read(at: offset - 1, count: 8)
                if unpadded.count == 8, unpadded.chunkID() != nil {
                    offset -= 1
                    header = unpadded
                }
            }
            guard header.count == 8, let id = header.chunkID(),
                  let size = header.uint(at: 4, width: 4, bigEndian: bigEndian) else { break }
            let body = offset + 8

            switch id {
            case "fmt ":
                format = parseFormat(readBody(source, at: body, size: size), bigEndian: bigEndian)
            case "ds64" where is64:
                let bytes = readBody(source, at: body, size: size)
                ds64DataSize = bytes.uint(at: 8, width: 8, bigEndian: false)
                ds64SampleCount = bytes.uint(at: 16, width: 8, bigEndian: false)
            case "fact":
                factSamples = readBody(source, at: body, size: size).uint(at: 0, width: 4, bigEndian: bigEndian)
            case "data":
                let available = UInt64(max(0, fileSize - body))
                var declared: UInt64
                var runsToEnd = false
                if is64 && size == unsetSize, let ds64DataSize {
                    declared = ds64DataSize
                } else if size == 0 || size == unsetSize {
                    // The recorder never patched the header: the data runs to
                    // the end of the file.
                    declared = available
                    runsToEnd = true
                } else {
                    declared = size
                }
                declared = min(declared, available)
                dataSize = declared
                if runsToEnd { return compute(format, dataSize: declared, fact: factSamples, ds64Samples: ds64SampleCount) }
                if let format, uncompressedFormats.contains(format.tag) || factSamples != nil || ds64SampleCount != nil {
                    return compute(format, dataSize: declared, fact: factSamples, ds64Samples: ds64SampleCount)
                }
                let (next, overflow) = body.addingReportingOverflow(Int64(clamping: declared))
                guard !overflow else { return nil }
                offset = next + Int64(declared & 1)
                previousWasOdd = declared & 1 == 1
                continue
            default:
                break
            }
            guard size <= UInt64(Int64.max / 2) else { break }
            let padded = Int64(size) + Int64(size & 1)
            offset = body + padded
            previousWasOdd = size & 1 == 1
            if offset >= fileSize { break }
        }
        guard let dataSize else { return nil }
        return compute(format, dataSize: dataSize, fact: factSamples, ds64Samples: ds64SampleCount)
    }

    static func readBody(_ source: some AudioByteSource, at offset: Int64, size: UInt64) -> [UInt8] {
        source.read(at: offset, count: Int(min(size, UInt64(AudioDuration.maximumChunkBodyBytes))))
    }

    static func parseFormat(_ bytes: [UInt8], bigEndian: Bool) -> Format? {
        guard var tag = bytes.uint(at: 0, width: 2, bigEndian: bigEndian),
              let channels = bytes.uint(at: 2, width: 2, bigEndian: bigEndian),
              let sampleRate = bytes.uint(at: 4, width: 4, bigEndian: bigEndian),
              let byteRate = bytes.uint(at: 8, width: 4, bigEndian: bigEndian),
              let blockAlign = bytes.uint(at: 12, width: 2, bigEndian: bigEndian) else { return nil }
        // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of
        // the sub-format GUID after cbSize, valid bits and channel mask.
        if tag == extensibleFormat, let subFormat = bytes.uint(at: 24, width: 2, bigEndian: bigEndian) {
            tag = subFormat
        }
        return Format(tag: tag, channels: channels, sampleRate: sampleRate, byteRate: byteRate, blockAlign: blockAlign)
    }

    static func compute(_ format: Format?, dataSize: UInt64, fact: UInt64?, ds64Samples: UInt64?) -> Double? {
        guard let format, format.sampleRate > 0 else { return nil }
        let rate = Double(format.sampleRate)
        if uncompressedFormats.contains(format.tag), format.blockAlign > 0 {
            return Double(dataSize / format.blockAlign) / rate
        }
        // Compressed data: the sample count is in `fact` (or `ds64` for RF64).
        // A zero or unset count next to non-empty data was never filled in.
        for samples in [fact, ds64Samples].compactMap({ $0 }) {
            if samples != unsetSize && (samples > 0 || dataSize == 0) {
                return Double(samples) / rate
            }
        }
        if format.byteRate > 0 {
            return Double(dataSize) / Double(format.byteRate)
        }
        return nil
    }
}
