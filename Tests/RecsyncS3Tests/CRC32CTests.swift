import Foundation
import XCTest
@testable import RecsyncS3

final class CRC32CTests: XCTestCase {
    func crc(_ bytes: [UInt8]) -> CRC32C {
        var crc = CRC32C()
        crc.update(bytes)
        return crc
    }

    /// The check value of CRC-32C, and RFC 3720's test vectors (iSCSI uses the same CRC).
    func testKnownValues() {
        XCTAssertEqual(crc(Array("123456789".utf8)).value, 0xE306_9283)
        XCTAssertEqual(crc([UInt8](repeating: 0, count: 32)).value, 0x8A91_36AA)
        XCTAssertEqual(crc([UInt8](repeating: 0xff, count: 32)).value, 0x62A8_AB43)
        XCTAssertEqual(crc(Array(0...31)).value, 0x46DD_794E)
        XCTAssertEqual(crc([]).value, 0)
        XCTAssertEqual(crc(Array("123456789".utf8)).hex, "e3069283")
        // S3 sends the four bytes big-endian in base64.
        XCTAssertEqual(crc(Array("123456789".utf8)).base64, Data([0xe3, 0x06, 0x92, 0x83]).base64EncodedString())
    }

    /// Fed in pieces of any size and alignment, the instruction and the table agree with the
    /// whole buffer at once (the slices start at odd addresses inside one buffer, and the long
    /// ones take the three-stream path).
    func testPiecesAndBothImplementationsAgree() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<70_001).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let whole = crc(data)
        XCTAssertEqual(CRC32C.portable(data), whole.value)
        data.withUnsafeBytes { raw in
            for start in [0, 1, 3, 7, 8, 13] {
                for length in [0, 1, 7, 8, 9, 63, 64, 65, 4095, 24_575, 24_576, 24_583, 49_153, 60_000] where start + length <= raw.count {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    var fast = CRC32C()
                    fast.update(slice)
                    XCTAssertEqual(fast.value, CRC32C.portable(Array(slice)), "start \(start) length \(length)")
                }
            }
        }
        var pieces = CRC32C()
        var offset = 0
        for size in [1, 2, 5, 8, 17, 4096, 30_000] {
            let end = min(offset + size, data.count)
            pieces.update(Array(data[offset..<end]))
            offset = end
        }
        pieces.update(Array(data[offset...]))
        XCTAssertEqual(pieces, whole)
    }

    /// The body of a CRC-32C trailer upload, byte for byte: chunks of the chunk size, the final
    /// chunk and the trailer; and the mapping of bytes sent to file bytes that progress uses.
    func testTrailerBody() throws {
        let data = Array("hello, recording".utf8)
        let file = try TemporaryFile(contents: Data(data))
        let expectedCRC = crc(data)
        let single = TrailerBodySource(fd: file.fd, offset: 0, length: Int64(data.count), shouldCancel: nil)
        XCTAssertEqual(String(decoding: drain(single, bufferSize: 5), as: UTF8.self),
                       "10\r\nhello, recording\r\n0\r\nx-amz-checksum-crc32c:\(expectedCRC.base64)\r\n\r\n")
        XCTAssertTrue(single.isComplete)
        XCTAssertEqual(single.checksum, expectedCRC)

        let chunked = TrailerBodySource(fd: file.fd, offset: 0, length: Int64(data.count), shouldCancel: nil, chunkSize: 6)
        let body = drain(chunked, bufferSize: 4)
        XCTAssertEqual(String(decoding: body, as: UTF8.self),
                       "6\r\nhello,\r\n6\r\n recor\r\n4\r\nding\r\n0\r\nx-amz-checksum-crc32c:\(expectedCRC.base64)\r\n\r\n")
        XCTAssertEqual(Int64(body.count), chunked.contentLength)
        XCTAssertTrue(chunked.isComplete)

        let layout = TrailerLayout(decodedLength: Int64(data.count), chunkSize: 6)
        XCTAssertEqual(layout.encodedLength, Int64(body.count))
        XCTAssertEqual(layout.decodedBytes(forEncoded: 0), 0)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 3), 0)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 5), 2)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 11), 6)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 14), 6)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 15), 7)
        XCTAssertEqual(layout.decodedBytes(forEncoded: layout.encodedLength), Int64(data.count))
        XCTAssertEqual(TrailerLayout(decodedLength: 1 << 30).chunkSize, TrailerLayout.maximumChunkSize)

        // A window of the file, and the probe's wrong checksum.
        let window = TrailerBodySource(fd: file.fd, offset: 7, length: 9, shouldCancel: nil)
        XCTAssertEqual(String(decoding: drain(window, bufferSize: 64000), as: UTF8.self),
                       "9\r\nrecording\r\n0\r\nx-amz-checksum-crc32c:\(crc(Array("recording".utf8)).base64)\r\n\r\n")
        let corrupt = TrailerBodySource(bytes: data, corrupt: true, chunkSize: 8)
        let corruptBody = String(decoding: drain(corrupt, bufferSize: 100), as: UTF8.self)
        XCTAssertTrue(corruptBody.hasPrefix("8\r\nhello, r\r\n8\r\necording\r\n0\r\nx-amz-checksum-crc32c:"), corruptBody)
        XCTAssertFalse(corruptBody.contains(expectedCRC.base64))
        XCTAssertEqual(corruptBody.utf8.count, Int(corrupt.contentLength))
    }

    /// A file that ends before the window does fails the body; nothing short is sent as whole.
    func testShortFileFails() throws {
        let file = try TemporaryFile(contents: Data(count: 10))
        let source = TrailerBodySource(fd: file.fd, offset: 0, length: 20, shouldCancel: nil)
        var buffer = [UInt8](repeating: 0, count: 64)
        var result: Int? = 1
        while let count = result, count > 0 {
            result = buffer.withUnsafeMutableBytes { source.read(into: $0) }
        }
        XCTAssertNil(result)
        XCTAssertFalse(source.isComplete)
        guard case .io? = source.failure?.kind else { return XCTFail("expected an I/O failure, got \(String(describing: source.failure))") }
    }

    private func drain(_ source: TrailerBodySource, bufferSize: Int) -> [UInt8] {
        var body: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        while true {
            guard let count = buffer.withUnsafeMutableBytes({ source.read(into: $0) }) else {
                XCTFail("the body failed: \(String(describing: source.failure))")
                return body
            }
            if count == 0 { return body }
            body += buffer[0..<count]
        }
    }
}
