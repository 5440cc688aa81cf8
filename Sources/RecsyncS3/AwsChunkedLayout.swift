/// Sizes of an aws-chunked (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`) body.
///
/// Each chunk is `hex(size);chunk-signature=<64 hex>\r\n<data>\r\n`; the body is the full
/// chunks, a shorter last data chunk if any, then a zero-length final chunk.
struct AwsChunkedLayout: Sendable, Equatable {
    let decodedLength: Int64
    let chunkSize: Int

    private static let signatureLength = 64
    private static let extensionLength = ";chunk-signature=".utf8.count

    /// Bytes before the data of a chunk holding `dataLength` bytes.
    static func headerLength(dataLength: Int) -> Int {
        String(dataLength, radix: 16).utf8.count + extensionLength + signatureLength + 2
    }

    /// Total bytes of a chunk (header, data and trailing CRLF).
    static func frameLength(dataLength: Int) -> Int {
        headerLength(dataLength: dataLength) + dataLength + 2
    }

    private var fullChunks: Int64 { decodedLength / Int64(chunkSize) }
    private var remainder: Int { Int(decodedLength % Int64(chunkSize)) }

    /// The exact `Content-Length` of the encoded body.
    var encodedLength: Int64 {
        var total = fullChunks * Int64(Self.frameLength(dataLength: chunkSize))
        if remainder > 0 { total += Int64(Self.frameLength(dataLength: remainder)) }
        return total + Int64(Self.frameLength(dataLength: 0))
    }

    /// How many file bytes are contained in the first `encoded` bytes of the body.
    func decodedBytes(forEncoded encoded: Int64) -> Int64 {
        let fullFrame = Int64(Self.frameLength(dataLength: chunkSize))
        let framesDone = min(encoded / fullFrame, fullChunks)
        var decoded = framesDone * Int64(chunkSize)
        let rest = encoded - framesDone * fullFrame
        let currentData = framesDone < fullChunks ? chunkSize : remainder
        if currentData > 0 {
            let intoData = rest - Int64(Self.headerLength(dataLength: currentData))
            decoded += min(max(intoData, 0), Int64(currentData))
        }
        return min(decoded, decodedLength)
    }
}
