import Foundation
import XCTest
@testable import RecsyncCore
#if canImport(Glibc)
import Glibc
#endif

final class AudioDurationTests: XCTestCase {
    typealias F = AudioFixtures
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-audio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Checks both entry points against the expected duration, within 1 ms.
    func assertDuration(_ url: URL, _ expected: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try Data(contentsOf: url)
        let fromData = try XCTUnwrap(AudioDuration.seconds(data: data), "\(url.lastPathComponent): no duration from data", file: file, line: line)
        XCTAssertEqual(fromData, expected, accuracy: 0.001, url.lastPathComponent, file: file, line: line)

        let fd = open(url.path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0, file: file, line: line)
        defer { close(fd) }
        let fromFile = try XCTUnwrap(AudioDuration.seconds(fd: fd), "\(url.lastPathComponent): no duration from fd", file: file, line: line)
        XCTAssertEqual(fromFile, expected, accuracy: 0.001, url.lastPathComponent, file: file, line: line)
        XCTAssertEqual(lseek(fd, 0, SEEK_CUR), 0, "pread must not move the file offset", file: file, line: line)
    }

    // MARK: - Files made by sox

    func testSoxWAV() throws {
        let cases: [(rate: Int, channels: Int, options: [String], seconds: Double)] = [
            (44100, 2, ["-b", "16"], 2.5),
            (8000, 1, ["-b", "8"], 1.234),
            (22050, 1, ["-b", "24"], 0.75),
            (48000, 2, ["-b", "32"], 3.0),
            (96000, 6, ["-b", "24"], 0.5),        // WAVE_FORMAT_EXTENSIBLE
            (48000, 2, ["-e", "floating-point", "-b", "32"], 1.5),
            (8000, 1, ["-e", "a-law"], 2.0),
            (8000, 1, ["-e", "u-law"], 2.0),
            (16000, 1, ["-e", "ima-adpcm"], 2.0),  // compressed: uses the fact chunk
            (22050, 1, ["-e", "ms-adpcm"], 1.25),
        ]
        for (index, c) in cases.enumerated() {
            let url = try F.synthesize("w\(index).wav", in: directory, seconds: c.seconds,
                                       options: ["-r", String(c.rate), "-c", String(c.channels)] + c.options)
            try assertDuration(url, c.seconds)
        }
    }

    func testSoxFLAC() throws {
        for (index, c) in [(44100, 2, 16, 2.5), (48000, 1, 24, 1.001), (96000, 2, 24, 0.25), (8000, 1, 16, 10.0)].enumerated() {
            let url = try F.synthesize("f\(index).flac", in: directory, seconds: c.3,
                                       options: ["-r", String(c.0), "-c", String(c.1), "-b", String(c.2)])
            try assertDuration(url, c.3)
        }
    }

    func testSoxAIFF() throws {
        for (index, c) in [(44100, 2, 16, 2.5), (48000, 1, 24, 0.333), (22050, 2, 8, 1.0), (96000, 1, 32, 0.125)].enumerated() {
            let url = try F.synthesize("a\(index).aiff", in: directory, seconds: c.3,
                                       options: ["-r", String(c.0), "-c", String(c.1), "-b", String(c.2)])
            try assertDuration(url, c.3)
        }
        let aifc = try F.synthesize("c.aifc", in: directory, seconds: 0.5, options: ["-r", "8000", "-c", "1", "-t", "aifc"])
        try assertDuration(aifc, 0.5)
    }

    func testFLACWithID3TagInFront() throws {
        let url = try F.synthesize("t.flac", in: directory, seconds: 1.5, options: ["-r", "44100", "-c", "1"])
        let flac = try Data(contentsOf: url)
        // ID3v2.4 tag, synchsafe size 300, no footer.
        let id3 = Data([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x02, 0x2C]) + Data(repeating: 0, count: 300)
        XCTAssertEqual(AudioDuration.seconds(data: id3 + flac)!, 1.5, accuracy: 0.001)
    }

    // MARK: - Handcrafted WAV

    func testRF64UsesDS64DataSize() {
        let audio = [UInt8](repeating: 0, count: 19200) // 0.1 s of 48 kHz stereo 16-bit
        let ds64 = F.le(0xFFFF_FFFF, 8) + F.le(19200, 8) + F.le(4800, 8) + F.le(0, 4)
        let data = F.wav([F.chunk("ds64", ds64), F.chunk("fmt ", F.fmt(channels: 2, rate: 48000, bits: 16)),
                          F.chunk("data", audio, declaredSize: 0xFFFF_FFFF)], magic: "RF64", riffSize: 0xFFFF_FFFF)
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 0.1, accuracy: 0.000_001)

        // The same layout as BW64 (ITU-R BS.2088).
        var bw64 = data
        bw64.replaceSubrange(0..<4, with: F.ascii("BW64"))
        XCTAssertEqual(AudioDuration.seconds(data: bw64)!, 0.1, accuracy: 0.000_001)
    }

    func testRF64LargerThan4GiBAsSparseFile() throws {
        // 5 GiB of 48 kHz stereo 16-bit audio, without writing 5 GiB to disk.
        let dataBytes: UInt64 = 5 * 1024 * 1024 * 1024
        let ds64 = F.le(dataBytes + 80, 8) + F.le(dataBytes, 8) + F.le(dataBytes / 4, 8) + F.le(0, 4)
        let header = F.wav([F.chunk("ds64", ds64), F.chunk("fmt ", F.fmt(channels: 2, rate: 48000, bits: 16)),
                            F.ascii("data") + F.le(0xFFFF_FFFF, 4)], magic: "RF64", riffSize: 0xFFFF_FFFF)
        let url = directory.appendingPathComponent("big.wav")
        try header.write(to: url)
        let fd = open(url.path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        guard ftruncate(fd, off_t(header.count) + off_t(dataBytes)) == 0 else {
            throw XCTSkip("this file system cannot hold a sparse 5 GiB file")
        }
        XCTAssertEqual(AudioDuration.seconds(fd: fd)!, Double(dataBytes / 4) / 48000, accuracy: 0.001)
    }

    func testUnpatchedDataSizeUsesFileSize() {
        let audio = [UInt8](repeating: 1, count: 96000) // 1 s of 48 kHz mono 16-bit
        for declared: UInt64 in [0, 0xFFFF_FFFF] {
            let data = F.wav([F.chunk("fmt ", F.fmt(channels: 1, rate: 48000, bits: 16)),
                              F.chunk("data", audio, declaredSize: declared)], riffSize: 0)
            XCTAssertEqual(AudioDuration.seconds(data: data)!, 1.0, accuracy: 0.000_001, "declared \(declared)")
        }
        // A header that was never patched and no audio yet: zero seconds.
        let empty = F.wav([F.chunk("fmt ", F.fmt(channels: 1, rate: 48000, bits: 16)), F.chunk("data", [])], riffSize: 0)
        XCTAssertEqual(AudioDuration.seconds(data: empty), 0)
    }

    func testDataSizeBeyondEndOfFileIsClamped() {
        let audio = [UInt8](repeating: 1, count: 48000) // 0.5 s present, 10 s declared
        let data = F.wav([F.chunk("fmt ", F.fmt(channels: 1, rate: 48000, bits: 16)),
                          F.chunk("data", audio, declaredSize: 960_000)])
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 0.5, accuracy: 0.000_001)
    }

    func testOddSizedChunksArePadded() {
        let list = F.chunk("LIST", F.ascii("INFOx")) // 5 bytes + pad byte
        XCTAssertEqual(list.count, 14)
        let data = F.wav([list, F.chunk("fmt ", F.fmt(channels: 1, rate: 8000, bits: 8)),
                          F.chunk("junk", [1, 2, 3]), F.chunk("data", [UInt8](repeating: 0x80, count: 4001)),
                          F.chunk("LIST", F.ascii("INFOabc"))])
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 4001.0 / 8000, accuracy: 0.000_001)
    }

    func testOddSizedChunkWithoutPadByteIsTolerated() {
        let unpadded = F.chunk("LIST", F.ascii("INFOx"), pad: false)
        let data = F.wav([unpadded, F.chunk("fmt ", F.fmt(channels: 1, rate: 8000, bits: 8)),
                          F.chunk("data", [UInt8](repeating: 0x80, count: 8000))])
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 1.0, accuracy: 0.000_001)
    }

    func testFormatChunkAfterData() {
        let data = F.wav([F.chunk("data", [UInt8](repeating: 0, count: 32000)),
                          F.chunk("fmt ", F.fmt(channels: 2, rate: 8000, bits: 16))])
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 1.0, accuracy: 0.000_001)
    }

    func testCompressedUsesFactThenByteRate() {
        let format = F.fmt(tag: 0x0011, channels: 1, rate: 16000, bits: 4, blockAlign: 256, byteRate: 8110)
        let withFact = F.wav([F.chunk("fmt ", format), F.chunk("fact", F.le(48000, 4)),
                              F.chunk("data", [UInt8](repeating: 0, count: 24576))])
        XCTAssertEqual(AudioDuration.seconds(data: withFact)!, 3.0, accuracy: 0.000_001)

        let withoutFact = F.wav([F.chunk("fmt ", format), F.chunk("data", [UInt8](repeating: 0, count: 16220))])
        XCTAssertEqual(AudioDuration.seconds(data: withoutFact)!, 2.0, accuracy: 0.000_001)
    }

    func testExtensibleFloat() {
        let ext = F.fmt(tag: 0xFFFE, channels: 2, rate: 48000, bits: 32) + F.le(22, 2) + F.le(32, 2) + F.le(3, 4)
            + F.le(0x0003, 2) + [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        let data = F.wav([F.chunk("fmt ", ext), F.chunk("data", [UInt8](repeating: 0, count: 96000))])
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 0.25, accuracy: 0.000_001)
    }

    func testRIFXBigEndian() {
        let data = F.wav([F.chunk("fmt ", F.fmt(channels: 1, rate: 11025, bits: 16, bigEndian: true), bigEndian: true),
                          F.chunk("data", [UInt8](repeating: 0, count: 22050), bigEndian: true)], magic: "RIFX")
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 1.0, accuracy: 0.000_001)
    }

    func testWAVWithoutFormatOrDataIsUnknown() {
        XCTAssertNil(AudioDuration.seconds(data: F.wav([F.chunk("data", [0, 0])])))
        XCTAssertNil(AudioDuration.seconds(data: F.wav([F.chunk("fmt ", F.fmt(channels: 1, rate: 8000, bits: 8))])))
        XCTAssertNil(AudioDuration.seconds(data: F.wav([F.chunk("fmt ", F.fmt(channels: 1, rate: 0, bits: 8)),
                                                        F.chunk("data", [0, 0])])))
    }

    // MARK: - Handcrafted AIFF and FLAC

    func testAIFFC() {
        let comm = F.be(2, 2) + F.be(44100, 4) + F.be(16, 2) + F.extended80(44100) + F.ascii("sowt")
            + [11] + F.ascii("little-endian") // Pascal string, odd total -> padded
        let data = F.aiff([F.aiffChunk("FVER", F.be(0xA280_5140, 4)), F.aiffChunk("COMM", comm),
                           F.aiffChunk("SSND", [UInt8](repeating: 0, count: 8 + 44100 * 4))], aifc: true)
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 1.0, accuracy: 0.000_001)
    }

    func testAIFFNonIntegerRateAndUnpatchedFrameCount() {
        // 22254.545... Hz is written with a fraction in the 80-bit mantissa.
        var rate = F.extended80(22254)
        rate[9] = 0x8B // add a fraction to the low bits of the mantissa
        let comm = F.be(1, 2) + F.be(22254, 4) + F.be(8, 2) + rate
        let data = F.aiff([F.aiffChunk("COMM", comm), F.aiffChunk("SSND", [UInt8](repeating: 0, count: 8 + 22254))])
        XCTAssertEqual(AudioDuration.seconds(data: data)!, 1.0, accuracy: 0.001)

        let unpatched = F.be(1, 2) + F.be(0, 4) + F.be(16, 2) + F.extended80(8000)
        let growing = F.aiff([F.aiffChunk("COMM", unpatched), F.aiffChunk("SSND", [UInt8](repeating: 0, count: 8 + 16000))])
        XCTAssertEqual(AudioDuration.seconds(data: growing)!, 1.0, accuracy: 0.000_001)
    }

    func testFLACWithUnknownTotalSamplesIsNil() {
        var streamInfo = [UInt8](repeating: 0, count: 34)
        // 44100 Hz, 2 channels, 16 bits, 0 total samples.
        let packed: UInt64 = (44100 << 44) | (1 << 41) | (15 << 36) | 0
        streamInfo.replaceSubrange(10..<18, with: F.be(packed, 8))
        let header = F.ascii("fLaC") + [0x80] + F.be(34, 3)
        XCTAssertNil(AudioDuration.seconds(data: Data(header + streamInfo)))

        streamInfo.replaceSubrange(10..<18, with: F.be(packed | 88200, 8))
        XCTAssertEqual(AudioDuration.seconds(data: Data(header + streamInfo)), 2.0)
    }

    func testUnknownFormatsAreNil() {
        XCTAssertNil(AudioDuration.seconds(data: Data()))
        XCTAssertNil(AudioDuration.seconds(data: Data("ID3".utf8)))
        XCTAssertNil(AudioDuration.seconds(data: Data("OggS\0\u{2}hello world".utf8)))
        XCTAssertNil(AudioDuration.seconds(data: Data("just some text, not audio".utf8)))
        XCTAssertNil(AudioDuration.seconds(fd: -1))
    }

    // MARK: - Fuzzing

    func testRandomAndCorruptInputNeverCrashes() throws {
        var samples: [Data] = [
            F.wav([F.chunk("fmt ", F.fmt(channels: 1, rate: 8000, bits: 16)), F.chunk("data", [UInt8](repeating: 0, count: 64))]),
            F.wav([F.chunk("ds64", F.le(0, 28)), F.chunk("fmt ", F.fmt(tag: 0xFFFE, channels: 2, rate: 8000, bits: 16) + F.le(22, 2) + F.le(0, 22)),
                   F.chunk("fact", F.le(10, 4)), F.chunk("data", [1, 2, 3], declaredSize: 0xFFFF_FFFF)], magic: "RF64"),
            F.aiff([F.aiffChunk("COMM", F.be(1, 2) + F.be(100, 4) + F.be(16, 2) + F.extended80(8000) + F.ascii("NONE")),
                    F.aiffChunk("SSND", [UInt8](repeating: 0, count: 40))], aifc: true),
            Data(F.ascii("fLaC") + [0x80] + F.be(34, 3) + [UInt8](repeating: 0x11, count: 34)),
        ]
        if AudioFixtures.soxPath != nil {
            for (index, ext) in ["wav", "flac", "aiff"].enumerated() {
                let url = try F.synthesize("fuzz\(index).\(ext)", in: directory, seconds: 0.01, options: ["-r", "8000"])
                samples.append(try Data(contentsOf: url))
            }
        }
        func check(_ data: Data, _ label: String) {
            if let seconds = AudioDuration.seconds(data: data) {
                XCTAssertTrue(seconds.isFinite && seconds >= 0, "\(label): \(seconds)")
            }
        }
        var rng = SeededGenerator(state: 0x5EED)
        for (sampleIndex, sample) in samples.enumerated() {
            // Every truncation of the header region.
            for length in 0...min(sample.count, 300) {
                check(sample.prefix(length), "sample \(sampleIndex) cut at \(length)")
            }
            // Random byte corruption.
            for round in 0..<400 {
                var corrupt = sample
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let position = Int.random(in: 0..<min(corrupt.count, 200), using: &rng)
                    corrupt[corrupt.startIndex + position] = UInt8.random(in: 0...255, using: &rng)
                }
                check(corrupt, "sample \(sampleIndex) round \(round)")
            }
        }
        // Random bytes behind each magic number.
        for magic in ["RIFF", "RIFX", "RF64", "FORM", "fLaC", "ID3"] {
            for round in 0..<300 {
                let count = Int.random(in: 0...512, using: &rng)
                var bytes = F.ascii(magic) + (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if round % 2 == 0, bytes.count >= 12, magic != "fLaC", magic != "ID3" {
                    bytes.replaceSubrange(8..<12, with: F.ascii(magic == "FORM" ? "AIFF" : "WAVE"))
                }
                check(Data(bytes), "\(magic) round \(round)")
            }
        }
    }
}
