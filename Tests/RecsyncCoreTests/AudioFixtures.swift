import Foundation
import XCTest

/// Builders for handcrafted audio headers, and access to `sox` for real files.
enum AudioFixtures {
    static func le(_ value: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    static func be(_ value: UInt64, _ width: Int) -> [UInt8] {
        le(value, width).reversed()
    }

    static func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// A RIFF chunk: id, little-endian size (or `declaredSize`), body, pad byte if odd.
    static func chunk(_ id: String, _ body: [UInt8], declaredSize: UInt64? = nil, pad: Bool = true,
                      bigEndian: Bool = false) -> [UInt8] {
        let size = declaredSize ?? UInt64(body.count)
        let sizeBytes = bigEndian ? be(size, 4) : le(size, 4)
        return ascii(id) + sizeBytes + body + (pad && body.count % 2 == 1 ? [0] : [])
    }

    /// A `fmt ` body.
    static func fmt(tag: UInt64 = 1, channels: UInt64, rate: UInt64, bits: UInt64,
                    blockAlign: UInt64? = nil, byteRate: UInt64? = nil, bigEndian: Bool = false) -> [UInt8] {
        let align = blockAlign ?? channels * ((bits + 7) / 8)
        func field(_ value: UInt64, _ width: Int) -> [UInt8] { bigEndian ? be(value, width) : le(value, width) }
        return field(tag, 2) + field(channels, 2) + field(rate, 4) + field(byteRate ?? rate * align, 4)
            + field(align, 2) + field(bits, 2)
    }

    /// A complete RIFF/WAVE file around the given chunks.
    static func wav(_ chunks: [[UInt8]], magic: String = "RIFF", riffSize: UInt64? = nil) -> Data {
        let body = ascii("WAVE") + chunks.flatMap { $0 }
        let size = riffSize ?? UInt64(body.count)
        let sizeBytes = magic == "RIFX" ? be(size, 4) : le(size, 4)
        return Data(ascii(magic) + sizeBytes + body)
    }

    /// An IEEE 754 80-bit extended float for a positive whole number.
    static func extended80(_ value: UInt64) -> [UInt8] {
        let shift = value.leadingZeroBitCount
        let exponent = UInt64(16383 + 63 - shift)
        return be(exponent, 2) + be(value << UInt64(shift), 8)
    }

    /// A FORM/AIFF or AIFC file around the given chunks.
    static func aiff(_ chunks: [[UInt8]], aifc: Bool = false) -> Data {
        let body = ascii(aifc ? "AIFC" : "AIFF") + chunks.flatMap { $0 }
        return Data(ascii("FORM") + be(UInt64(body.count), 4) + body)
    }

    static func aiffChunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
        chunk(id, body, bigEndian: true)
    }

    // MARK: - sox

    static let soxPath: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/sox" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Runs `sox -n <args...> <output> synth <seconds> sine 440` and returns the output path.
    static func synthesize(_ name: String, in directory: URL, seconds: Double, options: [String]) throws -> URL {
        guard let sox = soxPath else { throw XCTSkip("sox is not installed; install it (apt-get install sox) to run the audio tests") }
        let output = directory.appendingPathComponent(name)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sox)
        process.arguments = ["-n"] + options + [output.path, "synth", String(seconds), "sine", "440"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "sox", code: Int(process.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "sox \(options) failed: \(message)"])
        }
        return output
    }
}

/// A small deterministic random generator (SplitMix64) so fuzz failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
