import XCTest
@testable import RecsyncCore

final class TOMLParserTests: XCTestCase {
    func parse(_ text: String) throws -> TOMLDocument { try TOMLParser.parse(text) }

    func assertError(_ text: String, line: Int, column: Int, contains fragment: String,
                     file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: sourceLine) { error in
            guard let error = error as? TOMLError else { return XCTFail("\(error)", file: file, line: sourceLine) }
            XCTAssertEqual(error.position, TOMLPosition(line: line, column: column), "\(error)", file: file, line: sourceLine)
            XCTAssertTrue(error.message.contains(fragment), "\(error.message)", file: file, line: sourceLine)
        }
    }

    func testScalarsCommentsAndTables() throws {
        let document = try parse("""
        # leading comment
        title = "rec" # trailing comment
        'literal key' = 'C:\\no\\escapes'
        "quoted key" = "tab\\tquote\\"backslash\\\\ \\u00e9 \\U0001F600"
        count = 1_000
        negative = -17
        hex = 0xFF
        octal = 0o17
        binary = 0b101
        ratio = 2.5
        big = 1e3
        small = -1.5E-2
        on = true
        off = false

        [sync]
        list = [ "a", 'b', ]
        numbers = [
          1, # one
          2,
        ]
        empty = []
        site.name = "dotted"
        """)
        XCTAssertEqual(document["title"], .string("rec"))
        XCTAssertEqual(document["literal key"], .string("C:\\no\\escapes"))
        XCTAssertEqual(document["quoted key"], .string("tab\tquote\"backslash\\ é 😀"))
        XCTAssertEqual(document["count"], .integer(1000))
        XCTAssertEqual(document["negative"], .integer(-17))
        XCTAssertEqual(document["hex"], .integer(255))
        XCTAssertEqual(document["octal"], .integer(15))
        XCTAssertEqual(document["binary"], .integer(5))
        XCTAssertEqual(document["ratio"], .float(2.5))
        XCTAssertEqual(document["big"], .float(1000))
        XCTAssertEqual(document["small"], .float(-0.015))
        XCTAssertEqual(document["on"], .boolean(true))
        XCTAssertEqual(document["off"], .boolean(false))
        XCTAssertEqual(document["sync", "list"], .array([.string("a"), .string("b")]))
        XCTAssertEqual(document["sync", "numbers"], .array([.integer(1), .integer(2)]))
        XCTAssertEqual(document["sync", "empty"], .array([]))
        XCTAssertEqual(document["sync", "site", "name"], .string("dotted"))
        XCTAssertEqual(document.tables.map(\.path), [["sync"]])
        XCTAssertEqual(document.entries.first?.keyPosition, TOMLPosition(line: 2, column: 1))
        XCTAssertEqual(document.entries.first?.valuePosition, TOMLPosition(line: 2, column: 9))
    }

    func testCRLFBOMAndEmptyInput() throws {
        XCTAssertEqual(try parse(""), TOMLDocument())
        XCTAssertEqual(try parse("\u{FEFF}a = 1\r\nb = 2\r\n")["b"], .integer(2))
        XCTAssertEqual(try TOMLParser.parse(bytes: Array("x = \"é\"\n".utf8))["x"], .string("é"))
    }

    func testSyntaxErrorsHaveLineAndColumn() {
        assertError("a = 1\nb 2", line: 2, column: 3, contains: "expected \"=\" after the key \"b\"")
        assertError("a = \"open", line: 1, column: 5, contains: "unterminated string")
        assertError("a = 'open\nb = 1", line: 1, column: 5, contains: "unterminated string")
        assertError("a = \"bad \\q\"", line: 1, column: 10, contains: "unknown escape")
        assertError("a = \"\\u12\"", line: 1, column: 6, contains: "4 hex digits")
        assertError("a = \"\\uD800\"", line: 1, column: 6, contains: "not a Unicode scalar")
        assertError("a = 1 2", line: 1, column: 7, contains: "expected the end of the line")
        assertError("a =", line: 1, column: 4, contains: "expected a value")
        assertError("a = \n", line: 1, column: 5, contains: "expected a value")
        assertError("a = [1, 2", line: 1, column: 5, contains: "unterminated array")
        assertError("a = [1 2]", line: 1, column: 8, contains: "expected \",\" or \"]\"")
        assertError("[sync\na = 1", line: 1, column: 6, contains: "expected \"]\"")
        assertError("= 1", line: 1, column: 1, contains: "expected a key")
        assertError("a = \"x\"\"\"", line: 1, column: 8, contains: "expected the end of the line")
        assertError("a = \"tab\u{1}\"", line: 1, column: 9, contains: "control character")
        assertError("a = 1\rb = 2", line: 1, column: 6, contains: "carriage return")
    }

    func testNumbersAreStrict() {
        assertError("a = 1__0", line: 1, column: 5, contains: "not a valid integer")
        assertError("a = _1", line: 1, column: 5, contains: "not a valid value")
        assertError("a = 1_", line: 1, column: 5, contains: "not a valid integer")
        assertError("a = 007", line: 1, column: 5, contains: "leading zeros")
        assertError("a = 9223372036854775808", line: 1, column: 5, contains: "64-bit")
        assertError("a = 1.", line: 1, column: 5, contains: "digits on both sides")
        assertError("a = 1e", line: 1, column: 5, contains: "exponent")
        assertError("a = -0x10", line: 1, column: 5, contains: "sign is not allowed")
        assertError("a = 0xG1", line: 1, column: 5, contains: "not a valid base-16")
        XCTAssertEqual(try parse("a = -9223372036854775808")["a"], .integer(.min))
        XCTAssertEqual(try parse("a = +inf")["a"], .float(.infinity))
        XCTAssertEqual(try parse("a = 0")["a"], .integer(0))
        XCTAssertEqual(try parse("a = 0.5")["a"], .float(0.5))
    }

    func testUnquotedStringsAndUnsupportedFeatures() {
        assertError("bucket = my-bucket", line: 1, column: 10, contains: "strings must be quoted, e.g. \"my-bucket\"")
        assertError("size = 8MiB", line: 1, column: 8, contains: "e.g. \"8MiB\"")
        assertError("on = True", line: 1, column: 6, contains: "not a valid value")
        assertError("when = 2026-11-25", line: 1, column: 8, contains: "dates and times are not supported")
        assertError("when = 07:32:00", line: 1, column: 8, contains: "dates and times are not supported")
        assertError("t = { a = 1 }", line: 1, column: 5, contains: "inline tables")
        assertError("[[items]]", line: 1, column: 1, contains: "arrays of tables")
        assertError("a = \"\"\"\nx\"\"\"", line: 1, column: 5, contains: "multi-line strings")
        assertError("a = '''x'''", line: 1, column: 5, contains: "multi-line strings")
    }

    func testDuplicatesAndConflicts() {
        assertError("a = 1\na = 2", line: 2, column: 1, contains: "duplicate key \"a\" (first set on line 1)")
        assertError("[sync]\n[sync]", line: 2, column: 1, contains: "defined twice (first on line 1)")
        assertError("a = 1\na.b = 2", line: 2, column: 1, contains: "already has a value")
        assertError("a.b = 1\na = 2", line: 2, column: 1, contains: "already a table")
        assertError("a = 1\n[a]", line: 2, column: 1, contains: "already has a value")
        assertError("[t]\nx = 1\n[u]\n[t]", line: 4, column: 1, contains: "defined twice")
    }

    func testInvalidUTF8ReportsLine() {
        XCTAssertThrowsError(try TOMLParser.parse(bytes: Array("a = 1\nb = \"".utf8) + [0xFF, 0x22])) { error in
            let error = error as? TOMLError
            XCTAssertEqual(error?.position.line, 2)
            XCTAssertTrue(error?.message.contains("not valid UTF-8") == true)
        }
    }
}
