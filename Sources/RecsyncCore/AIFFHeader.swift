import FoundationEssentials

/// Duration of AIFF and AIFF-C files from the COMM chunk.
enum AIFFHeader {
    /// AIFF-C compression types whose sound data is plain samples.
    static let uncompressedTypes: Set<String> = ["NONE", "sowt", "twos", "raw ", "in24", "in32", "fl32", "fl64", "FL32", "FL64"]

    static func duration(_ source: some AudioByteSource) -> Double? {
        let head = source.read(at: 0, count: 12)
        guard head.count == 12, head.hasTag("FORM"),
              head.hasTag("AIFF", at: 8) || head.hasTag("AIFC", at: 8) else { return nil }
        let isAIFC = head.hasTag("AIFC", at: 8)
        let fileSize = source.size

        var comm: (channels: UInt64, frames: UInt64, sampleSize: UInt64, rate: Double, compression: String)?
        var soundBytes: UInt64?
        var offset: Int64 = 12
        for _ in 0..<AudioDuration.maximumChunkCount {
            let header = source.read(at: offset, count: 8)
            guard header.count == 8, let id = header.chunkID(),
                  let size = header.uint(at: 4, width: 4, bigEndian: true) else { break }
            let body = offset + 8
            if id == "COMM" {
                let bytes = source.read(at: body, count: Int(min(size, 64)))
                guard let channels = bytes.uint(at: 0, width: 2, bigEndian: true),
                      let frames = bytes.uint(at: 2, width: 4, bigEndian: true),
                      let sampleSize = bytes.uint(at: 6, width: 2, bigEndian: true),
                      let rate = extended80(bytes, at: 8) else { return nil }
                var compression = "NONE"
                if isAIFC {
                    guard let type = bytes.chunkID(at: 18) else { return nil }
                    compression = type
                }
                comm = (channels, frames, sampleSize, rate, compression)
                if frames > 0 { break }
            } else if id == "SSND" {
                // SSND starts with 4 bytes offset and 4 bytes block size.
                let available = UInt64(max(0, fileSize - body))
                let declared = (size == 0 || size == 0xFFFF_FFFF) ? available : min(UInt64(size), available)
                let dataOffset = source.read(at: body, count: 4).uint(at: 0, width: 4, bigEndian: true) ?? 0
                soundBytes = declared >= 8 + dataOffset ? declared - 8 - dataOffset : 0
                if comm != nil { break }
            }
            offset = body + Int64(size) + Int64(size & 1)
            if offset >= fileSize { break }
        }
        guard let comm, comm.rate > 0 else { return nil }
        if comm.frames > 0 {
            return Double(comm.frames) / comm.rate
        }
        // A frame count of zero is either an empty file or a header that the
        // recorder never updated; plain samples can be counted from SSND.
        guard let soundBytes else { return 0 }
        guard uncompressedTypes.contains(comm.compression), comm.channels > 0, comm.sampleSize > 0 else {
            return soundBytes == 0 ? 0 : nil
        }
        let bytesPerFrame = comm.channels * ((comm.sampleSize + 7) / 8)
        return Double(soundBytes / bytesPerFrame) / comm.rate
    }

    /// An IEEE 754 80-bit extended float, as AIFF stores its sample rate.
    static func extended80(_ bytes: [UInt8], at offset: Int) -> Double? {
        guard let signExponent = bytes.uint(at: offset, width: 2, bigEndian: true),
              let mantissa = bytes.uint(at: offset + 2, width: 8, bigEndian: true) else { return nil }
        let exponent = Int(signExponent & 0x7FFF)
        guard signExponent & 0x8000 == 0, exponent != 0x7FFF, mantissa != 0 else { return nil }
        let value = Double(sign: .plus, exponent: exponent - 16383 - 63, significand: Double(mantissa))
        return value.isFinite ? value : nil
    }
}
