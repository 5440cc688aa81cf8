import Foundation
import RecsyncFuzzTargets
import XCTest

/// Every parser of input from outside (servers, config files, recordings, names) is fed mutated
/// inputs; none may trap, and what they return keeps its promises (`FuzzTarget`). The
/// coverage-guided run of the same targets is `scripts/libfuzzer.sh`.
final class FuzzTests: XCTestCase {
    func fuzz(_ target: FuzzTarget) throws {
        var fuzzer = try Fuzzer(target: target.rawValue)
        fuzzer.run { bytes in
            let broken = target.check(bytes)
            XCTAssertTrue(broken.isEmpty, "\(target.rawValue): \(broken.joined(separator: "; "))")
        }
    }

    func testHTTPDates() throws { try fuzz(.httpDate) }
    func testS3XMLReaders() throws { try fuzz(.s3XML) }
    func testMetadataDecoding() throws { try fuzz(.metadata) }
    func testConfigFiles() throws { try fuzz(.toml) }
    func testAudioHeaders() throws { try fuzz(.audio) }
    func testKeyPatternsAndNames() throws { try fuzz(.keyPattern) }
    func testSigV4Canonicalisation() throws { try fuzz(.sigv4) }

    func testEveryTargetHasACorpus() throws {
        for target in FuzzTarget.allCases {
            let folder = Fuzzer.corpusRoot.appendingPathComponent("corpus/\(target.rawValue)")
            let seeds = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            XCTAssertFalse(seeds.isEmpty, "\(target.rawValue) has seeds in \(folder.path)")
        }
    }
}
