import Foundation
import XCTest

/// A mutation fuzzer for the parsers of outside input: it starts from the corpus in
/// `Tests/fuzz/corpus/TARGET/` (seeds, and every input that ever crashed a parser, kept as a
/// regression), mutates them (bit flips, cut and repeated ranges, splices, interesting numbers
/// and characters) and feeds the results to the target for the time budget. A trap or a
/// precondition failure kills the test process, so a crash fails the suite loudly; the input
/// that caused it is the last one written to `Tests/fuzz/last-input-TARGET` before each call.
///
/// Time per target: `RECSYNC_FUZZ_SECONDS` (default 1, the smoke run of the test suite;
/// `scripts/fuzz.sh` runs longer). The seed is printed and can be replayed with `RECSYNC_FUZZ_SEED`.
struct Fuzzer {
    let target: String
    let corpus: [[UInt8]]
    var generator: SeededGenerator  // AudioFixtures.swift: replayable from its seed

    static var corpusRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fuzz")
    }

    init(target: String) throws {
        self.target = target
        let folder = Self.corpusRoot.appendingPathComponent("corpus/\(target)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        corpus = try names.map { Array(try Data(contentsOf: folder.appendingPathComponent($0))) }
        guard !corpus.isEmpty else { throw TestSkipError("no corpus in \(folder.path)") }
        let seed = ProcessInfo.processInfo.environment["RECSYNC_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        generator = SeededGenerator(state: seed)
        print("fuzz \(target): seed \(seed) (replay with RECSYNC_FUZZ_SEED=\(seed))")
    }

    /// Feeds the corpus itself, then mutations, to `body` until the time is up; returns how many ran.
    @discardableResult
    mutating func run(_ body: ([UInt8]) -> Void) -> Int {
        let seconds = ProcessInfo.processInfo.environment["RECSYNC_FUZZ_SECONDS"].flatMap(Double.init) ?? 1
        let deadline = Date().addingTimeInterval(seconds)
        let record = Self.corpusRoot.appendingPathComponent("last-input-\(target)")
        // One descriptor for the whole run: each input costs a pwrite and an ftruncate.
        let recordFd = open(record.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer {
            if recordFd >= 0 { close(recordFd) }
            try? FileManager.default.removeItem(at: record)
        }
        var executions = 0
        for input in corpus { body(input); executions += 1 }
        while Date() < deadline {
            for _ in 0..<64 {
                let input = mutate(corpus[Int(generator.next() % UInt64(corpus.count))])
                if recordFd >= 0 {
                    _ = input.withUnsafeBytes { pwrite(recordFd, $0.baseAddress, $0.count, 0) }
                    _ = ftruncate(recordFd, off_t(input.count))
                }
                body(input)
                executions += 1
            }
        }
        print("fuzz \(target): \(executions) executions in \(seconds) s, no crash")
        return executions
    }

    static let interesting: [[UInt8]] = [
        Array("0".utf8), Array("-1".utf8), Array("99999999999999999999".utf8), Array("4294967296".utf8),
        Array("<".utf8), Array(">".utf8), Array("&amp;".utf8), Array("&#0;".utf8), Array("</".utf8), Array("\"".utf8),
        Array("%".utf8), Array("{".utf8), Array("}".utf8), Array("=?".utf8), Array("?=".utf8), Array("\\".utf8),
        [0], [0xFF], [0xC3], [0xE2, 0x82], [0xF4, 0x8F, 0xBF, 0xBF], Array(repeating: 0x41, count: 300),
        [0x7F, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF], [0x80, 0, 0, 0],
    ]

    mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + Int(generator.next() % 4)) {
            let position = bytes.isEmpty ? 0 : Int(generator.next() % UInt64(bytes.count))
            switch generator.next() % 7 {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << (generator.next() % 8))
            case 1: bytes.insert(contentsOf: Self.interesting[Int(generator.next() % UInt64(Self.interesting.count))], at: position)
            case 2 where !bytes.isEmpty:
                let end = min(bytes.count, position + 1 + Int(generator.next() % 16))
                bytes.removeSubrange(position..<end)
            case 3 where !bytes.isEmpty:
                let end = min(bytes.count, position + 1 + Int(generator.next() % 32))
                bytes.insert(contentsOf: bytes[position..<end], at: position)
            case 4:
                let other = corpus[Int(generator.next() % UInt64(corpus.count))]
                if !other.isEmpty {
                    let from = Int(generator.next() % UInt64(other.count))
                    bytes.insert(contentsOf: other[from..<min(other.count, from + 1 + Int(generator.next() % 64))], at: position)
                }
            case 5 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: generator.next())
            default: bytes = Array(bytes.prefix(position))
            }
        }
        return bytes
    }
}

struct TestSkipError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
