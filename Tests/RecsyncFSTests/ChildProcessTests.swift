import Foundation
import XCTest
@testable import RecsyncFS

final class ChildProcessTests: XCTestCase {
    func testCaptureGivesTheOutputAndTheExitCode() throws {
        let echo = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "printf 'a b'; echo oops >&2; exit 3"]).capture(timeout: 10)
        XCTAssertEqual(String(decoding: echo.output, as: UTF8.self), "a b", "standard error is not mixed in")
        XCTAssertEqual(echo.exitCode, 3)
        let killed = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "kill -9 $$"]).capture(timeout: 10)
        XCTAssertNil(killed.exitCode, "killed by a signal: no exit code")
    }

    func testALongRunningProgramIsStoppedAtTheTimeout() {
        let start = Date()
        XCTAssertThrowsError(try ChildProcess(executable: "/bin/sleep", arguments: ["30"]).capture(timeout: 0.3)) { error in
            XCTAssertTrue("\(error)".contains("ran longer than"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        // Output closed but the program goes on: still stopped at the deadline.
        XCTAssertThrowsError(try ChildProcess(executable: "/bin/sh", arguments: ["-c", "exec >&-; sleep 30"]).capture(timeout: 0.3))
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }

    func testTheEnvironmentIsExactlyTheOneGivenAndNoDescriptorLeaks() throws {
        let leaked = open("/dev/null", O_RDONLY)  // no O_CLOEXEC, as another thread might open one
        defer { close(leaked) }
        let child = ChildProcess(executable: "/bin/sh", arguments: ["-c", "env; ls /proc/self/fd"], environment: ["ONLY": "this", "PATH": "/usr/bin:/bin"])
        let text = String(decoding: try child.capture(timeout: 10).output, as: UTF8.self)
        XCTAssertTrue(text.contains("ONLY=this"), text)
        XCTAssertFalse(text.contains("HOME="), "nothing of ours: \(text)")
        let descriptors = text.split(separator: "\n").compactMap { Int($0) }
        XCTAssertFalse(descriptors.contains(Int(leaked)), "descriptor \(leaked) stayed ours: \(descriptors)")
    }

    func testExtraDescriptorsAndDestinations() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        var child = ChildProcess(executable: "/bin/sh", arguments: ["-c", "echo ready >&3"])
        child.descriptors = [(child: 3, parent: fds[1])]
        child.newSession = true
        let status = ChildProcess.wait(try child.spawn())
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(fds[0], &buffer, 64)
        close(fds[0])
        XCTAssertEqual(ChildProcess.exitCode(status), 0)
        XCTAssertEqual(String(decoding: buffer[0..<max(0, count)], as: UTF8.self), "ready\n")
        XCTAssertThrowsError(try ChildProcess(executable: "/nonexistent/program", arguments: []).spawn()) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot run /nonexistent/program: "), "\(error)")
        }
    }

    func testFindLooksInPathOnlyForBareNames() {
        XCTAssertEqual(ChildProcess.find("sh", path: "/nonexistent:/bin"), "/bin/sh")
        XCTAssertEqual(ChildProcess.find("/bin/sh", path: nil), "/bin/sh")
        XCTAssertNil(ChildProcess.find("bin/sh", path: "/"), "a relative path is not looked up")
        XCTAssertNil(ChildProcess.find("no-such-program-here", path: "/bin"))
        XCTAssertNil(ChildProcess.find("sh", path: "relative/dir"), "relative PATH entries are skipped")
    }
}
