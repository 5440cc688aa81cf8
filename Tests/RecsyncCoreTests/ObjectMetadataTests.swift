import Foundation
import XCTest
@testable import RecsyncCore

final class ObjectMetadataTests: XCTestCase {
    let timestamp = Date(timeIntervalSince1970: 1_795_615_387.75)

    func testBuildsAllKeys() {
        let metadata = ObjectMetadata.build(originalName: "Take 1 é.wav", size: 1_234_567, timestamp: timestamp,
                                            duration: 30, tags: ["interview", " field ", "", "2026"])
        XCTAssertEqual(metadata, [
            "original-name": "Take 1 é.wav",
            "size": "1234567",
            "timestamp": "2026-11-25T14:03:07Z",
            "duration": "30",
            "tags": "interview,field,2026",
        ])
    }

    func testDurationOmittedWhenUnknown() {
        let metadata = ObjectMetadata.build(originalName: "a", size: 0, timestamp: timestamp, duration: nil, tags: [])
        XCTAssertNil(metadata["duration"])
        XCTAssertEqual(metadata["tags"], "")
        XCTAssertEqual(metadata["size"], "0")
        XCTAssertEqual(Set(metadata.keys), ["original-name", "size", "timestamp", "tags"])
    }

    func testDurationFormatting() {
        let cases: [(Double, String?)] = [
            (30, "30"), (2.5, "2.5"), (2.25, "2.25"), (0.001, "0.001"), (1.0004, "1"), (1.0005, "1.001"),
            (0, "0"), (59.999_9, "60"), (3600.125, "3600.125"), (-1, nil), (.nan, nil), (.infinity, nil),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(ObjectMetadata.formatDuration(value), expected, "\(value)")
        }
    }

    func testTimestampIsUTCWithZ() {
        XCTAssertEqual(ObjectMetadata.formatTimestamp(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00Z")
        XCTAssertEqual(ObjectMetadata.formatTimestamp(Date(timeIntervalSince1970: 1_798_761_599)), "2026-12-31T23:59:59Z")
    }
}
