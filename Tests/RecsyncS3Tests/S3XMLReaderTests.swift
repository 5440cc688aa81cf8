import Foundation
import XCTest
@testable import RecsyncS3

/// The XML reader accepts what S3 servers send and refuses, as a whole, anything else.
final class S3XMLReaderTests: XCTestCase {
    func events(_ text: String) -> [S3XMLReader.Event]? { S3XMLReader.events(Array(text.utf8)) }

    func testReadsElementsTextReferencesCDATAAndComments() {
        let document = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment --><s3:Error xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/" a='1'>\
            <Code>A&amp;B&lt;&#x263A;&#65;&quot;&apos;&gt;</Code><Message><![CDATA[<raw> & text]]></Message><Empty/>\
            <Lines>one\r\ntwo\rthree</Lines></s3:Error>
            <!-- after -->
            """
        XCTAssertEqual(events(document), [
            .start("Error"), .start("Code"), .text("A&B<\u{263A}A\"'>"), .end("Code"),
            .start("Message"), .text("<raw> & text"), .end("Message"), .start("Empty"), .end("Empty"),
            .start("Lines"), .text("one\ntwo\nthree"), .end("Lines"), .end("Error"),
        ])
        XCTAssertEqual(S3ErrorBody.parse(Data(document.utf8))?.code, "A&B<\u{263A}A\"'>")
        XCTAssertEqual(S3ErrorBody.parse(Data(("  \n" + document).utf8))?.message, "<raw> & text",
                       "white space before the declaration, as S3 sends while it works, is skipped")
    }

    func testRefusesAnythingElseAsAWhole() {
        let refused = [
            "", "   ", "text", "<a>", "<a></b>", "<a></a><b></b>", "<a></a>trailing", "</a>", "<a><b></a></b>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a>&unknown;</a>", "<a>&#0;</a>", "<a>&#x110000;</a>",
            "<a>&#+65;</a>", "<a>&amp</a>", "<?php x?><a/>", "<a><?pi data?></a>", "<a>\u{0}</a>", "<a>\u{1B}</a>",
            "<a b=c/>", "<a b=\"<\"/>", "<a b=\"1\"c=\"2\"/>", "<1a/>", "<a><!-- -- --></a>", "<a><![CDATA[x</a>",
            "<?xml?><a/>", " <?xml version=\"1.0\"?><a/>", "<a/><?xml version=\"1.0\"?>", "<a>&#xD800;</a>",
            String(repeating: "<a>", count: S3XMLReader.maximumDepth + 1) + String(repeating: "</a>", count: S3XMLReader.maximumDepth + 1),
        ]
        for text in refused {
            XCTAssertNil(events(text), text.debugDescription)
        }
        let deepest = String(repeating: "<a>", count: S3XMLReader.maximumDepth) + String(repeating: "</a>", count: S3XMLReader.maximumDepth)
        XCTAssertNotNil(events(deepest))
        XCTAssertNil(S3XMLDocument(data: Data([0x3C, 0x61, 0x3E, 0xFF, 0x3C, 0x2F, 0x61, 0x3E])), "not UTF-8")
    }

    func testAnHTMLPageFromACaptivePortalIsNoS3Answer() {
        let page = "<!DOCTYPE html><html><head><title>Sign in</title></head><body><p>Welcome<br></body></html>"
        XCTAssertNil(S3ErrorBody.parse(Data(page.utf8)))
        XCTAssertNil(ListObjectsPage.parse(Data(page.utf8)))
        XCTAssertEqual(MultipartXML.completeOutcome(Data(page.utf8)), .unreadable)
    }
}

extension S3XMLReaderTests {
    func testAnswersThatWouldGrowTheDaemonAreRefused() {
        let longName = String(repeating: "n", count: S3XMLReader.maximumNameBytes + 1)
        XCTAssertNil(events("<\(longName)/>"), "a name longer than any S3 answer has")
        XCTAssertNotNil(events("<\(String(repeating: "n", count: S3XMLReader.maximumNameBytes))/>"))
        let many = "<a>" + String(repeating: "<b/>", count: S3XMLReader.maximumEvents / 2) + "</a>"
        XCTAssertNil(events(many), "more events than a page of 1,000 keys could need")
        // Deep paths of long names, repeated: each leaf's path is about 16 KiB.
        let deep = (0..<63).map { _ in String(repeating: "d", count: 250) }
        let open = deep.map { "<\($0)>" }.joined(), close = deep.reversed().map { "</\($0)>" }.joined()
        let wide = open + String(repeating: "<x/>", count: 2_000) + close
        XCTAssertNil(S3XMLDocument(data: Data(wide.utf8)), "the paths it would produce add up past the limit")
        XCTAssertNotNil(S3XMLDocument(data: Data((open + "<x/>" + close).utf8)))
        XCTAssertEqual(S3ErrorBody.parse(Data(([0xEF, 0xBB, 0xBF] + Array("<Error><Code>X</Code></Error>".utf8))))?.code, "X",
                       "a UTF-8 byte order mark is allowed")
    }
}
