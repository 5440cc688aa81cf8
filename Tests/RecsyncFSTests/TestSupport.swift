import Foundation
import Logging
import XCTest
@testable import RecsyncFS

/// One call the filesystem core made into its `SyncHooks`.
enum HookCall: Equatable, CustomStringConvertible {
    case beingWritten(String)
    case written(String, stillOpen: Bool)
    case writersReleased(String)
    case renamed(from: String, to: String, isDirectory: Bool)
    case exchanged(String, String)
    case removed(String, isDirectory: Bool)
    case getAttribute(String, name: String, isDirectory: Bool)
    case listAttributes(String, isDirectory: Bool)
    case setAttribute(String, name: String, value: [UInt8])

    var description: String {
        switch self {
        case .beingWritten(let path): return "beingWritten(\(path))"
        case .written(let path, let stillOpen): return "written(\(path), stillOpen: \(stillOpen))"
        case .writersReleased(let path): return "writersReleased(\(path))"
        case .renamed(let from, let to, let isDirectory): return "renamed(\(from) -> \(to), dir: \(isDirectory))"
        case .exchanged(let first, let second): return "exchanged(\(first), \(second))"
        case .removed(let path, let isDirectory): return "removed(\(path), dir: \(isDirectory))"
        case .getAttribute(let path, let name, let isDirectory): return "getAttribute(\(path), \(name), dir: \(isDirectory))"
        case .listAttributes(let path, let isDirectory): return "listAttributes(\(path), dir: \(isDirectory))"
        case .setAttribute(let path, let name, let value): return "setAttribute(\(path), \(name), \(value))"
        }
    }

    /// Calls that report content changes (the write-tracking part of the protocol).
    var isWriteTracking: Bool {
        switch self {
        case .beingWritten, .written, .writersReleased: return true
        default: return false
        }
    }
}

/// A `SyncHooks` that records every call, keeps `user.sync.*` attributes in memory,
/// and can be told to fail. Safe to call from several threads.
final class RecordingHooks: SyncHooks, @unchecked Sendable {
    /// Attributes the fake treats as read-only, as the sync engine does for its status fields.
    static let readOnlyAttributes: Set<String> = ["user.sync.status", "user.sync.key"]

    // Lock rule: `lock` guards every stored property below.
    private let lock = NSLock()
    private var log: [HookCall] = []
    private var attributes: [String: [String: String]] = [:]
    private var pendingWriteFailures: [any Error] = []
    private var pendingRemoveFailures: [any Error] = []
    private var callback: (@Sendable (HookCall) -> Void)?
    private var namespaceDepth = 0
    private var namespaceChangeCount = 0
    private var unguardedReports: [HookCall] = []

    /// Every call so far, in order.
    var calls: [HookCall] { lock.withLock { log } }

    /// Returns the calls so far and forgets them.
    func takeCalls() -> [HookCall] {
        lock.withLock {
            defer { log.removeAll() }
            return log
        }
    }

    /// The calls that report content changes, in order.
    var writeCalls: [HookCall] { calls.filter(\.isWriteTracking) }

    func setAttribute(_ name: String, _ value: String, for path: String) {
        lock.withLock { attributes[path, default: [:]][name] = value }
    }

    func attribute(_ name: String, for path: String) -> String? {
        lock.withLock { attributes[path]?[name] }
    }

    /// How many times the core ran a change of names through `namespaceChange`.
    var namespaceChanges: Int { lock.withLock { namespaceChangeCount } }

    /// Renames and removals reported outside a `namespaceChange` block.
    var reportsOutsideNamespaceChange: [HookCall] { lock.withLock { unguardedReports } }

    /// The next `fileWasWritten` throws `error` instead of recording success.
    func failNextWrite(with error: any Error) {
        lock.withLock { pendingWriteFailures.append(error) }
    }

    /// The next `itemRemoved` throws `error` after recording the call.
    func failNextRemove(with error: any Error) {
        lock.withLock { pendingRemoveFailures.append(error) }
    }

    /// Runs `body` (outside the fake's lock) after each call is recorded.
    func onCall(_ body: @escaping @Sendable (HookCall) -> Void) {
        lock.withLock { callback = body }
    }

    private func record(_ call: HookCall) {
        let body = lock.withLock { () -> (@Sendable (HookCall) -> Void)? in
            log.append(call)
            return callback
        }
        body?(call)
    }

    // MARK: SyncHooks

    func fileWasWritten(path: String, stillOpen: Bool) throws {
        let failure = lock.withLock { pendingWriteFailures.isEmpty ? nil : pendingWriteFailures.removeFirst() }
        if let failure { throw failure }
        record(.written(path, stillOpen: stillOpen))
    }

    func fileWritersReleased(path: String) {
        record(.writersReleased(path))
    }

    func namespaceChange<T>(_ body: () throws -> T) throws -> T {
        lock.withLock {
            namespaceDepth += 1
            namespaceChangeCount += 1
        }
        defer { lock.withLock { namespaceDepth -= 1 } }
        return try body()
    }

    private func recordNamespaceReport(_ call: HookCall) {
        lock.withLock { if namespaceDepth == 0 { unguardedReports.append(call) } }
        record(call)
    }

    func itemRenamed(from: String, to: String, isDirectory: Bool) throws {
        recordNamespaceReport(.renamed(from: from, to: to, isDirectory: isDirectory))
    }

    func itemsExchanged(_ first: String, _ second: String) throws {
        recordNamespaceReport(.exchanged(first, second))
    }

    func itemRemoved(path: String, isDirectory: Bool) throws {
        recordNamespaceReport(.removed(path, isDirectory: isDirectory))
        let failure = lock.withLock { pendingRemoveFailures.isEmpty ? nil : pendingRemoveFailures.removeFirst() }
        if let failure { throw failure }
    }

    func syncAttribute(path: String, name: String, isDirectory: Bool, caller: PassthroughFS.Caller?) throws -> String? {
        record(.getAttribute(path, name: name, isDirectory: isDirectory))
        return lock.withLock { attributes[path]?[name] }
    }

    func syncAttributeNames(path: String, isDirectory: Bool, caller: PassthroughFS.Caller?) -> [String] {
        record(.listAttributes(path, isDirectory: isDirectory))
        return lock.withLock { (attributes[path] ?? [:]).keys.sorted() }
    }

    func setSyncAttribute(path: String, name: String, value: [UInt8]) throws {
        record(.setAttribute(path, name: name, value: value))
        if Self.readOnlyAttributes.contains(name) {
            throw FSError(EPERM, "\(name) is read-only")
        }
        lock.withLock { attributes[path, default: [:]][name] = String(decoding: value, as: UTF8.self) }
    }

    func fileIsBeingWritten(path: String) {
        record(.beingWritten(path))
    }
}

/// A fresh temporary directory, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("recsync-fs-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Asserts that `expression` throws an `FSError` carrying `expectedErrno`.
func XCTAssertThrowsErrno<T>(
    _ expectedErrno: Int32, _ expression: @autoclosure () throws -> T, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let value = try expression()
        XCTFail("expected errno \(expectedErrno) but got \(value) \(message)", file: file, line: line)
    } catch let error as FSError {
        XCTAssertEqual(error.errno, expectedErrno,
                       "expected errno \(expectedErrno) (\(String(cString: strerror(expectedErrno)))), got \(error) \(message)",
                       file: file, line: line)
    } catch {
        XCTFail("expected an FSError, got \(error) \(message)", file: file, line: line)
    }
}

/// A `PassthroughFS` over a fresh temporary folder with recording hooks.
class PassthroughTestCase: XCTestCase {
    var rootURL: URL!
    var hooks: RecordingHooks!
    var fs: PassthroughFS!

    static let rootID: UInt64 = 1

    override func setUpWithError() throws {
        try super.setUpWithError()
        rootURL = try makeTemporaryDirectory(self)
        hooks = RecordingHooks()
        fs = try makeFS(rootURL: rootURL, hooks: hooks)
    }

    override func tearDown() {
        fs = nil
        hooks = nil
        super.tearDown()
    }

    /// Opens `rootURL` with `flags` and builds a filesystem core on it.
    func makeFS(rootURL: URL, hooks: RecordingHooks, flags: Int32 = O_RDONLY) throws -> PassthroughFS {
        let fd = Glibc.open(rootURL.path, flags)
        XCTAssertGreaterThanOrEqual(fd, 0, "cannot open \(rootURL.path)")
        let logger = Logger(label: "recsync.fs.tests") { _ in SwiftLogNoOpLogHandler() }
        return try PassthroughFS(rootFd: fd, hooks: hooks, logger: logger)
    }

    // MARK: Backing folder

    /// The path of `relative` in the backing folder.
    func backingPath(_ relative: String) -> String {
        relative.isEmpty ? rootURL.path : rootURL.appendingPathComponent(relative).path
    }

    /// Writes a file directly into the backing folder, bypassing the core.
    func makeBackingFile(_ relative: String, contents: String = "") throws {
        let url = rootURL.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }

    func makeBackingFolder(_ relative: String) throws {
        try FileManager.default.createDirectory(at: rootURL.appendingPathComponent(relative),
                                                withIntermediateDirectories: true)
    }

    func backingContents(_ relative: String) throws -> String {
        String(decoding: try Data(contentsOf: rootURL.appendingPathComponent(relative)), as: UTF8.self)
    }

    func backingExists(_ relative: String) -> Bool {
        var st = stat()
        return lstat(backingPath(relative), &st) == 0
    }

    func backingSize(_ relative: String) throws -> Int64 {
        var st = stat()
        guard lstat(backingPath(relative), &st) == 0 else { throw FSError(errno, "lstat \(relative)") }
        return Int64(st.st_size)
    }

    // MARK: Core helpers

    /// Looks up each component of `relative` from the root, as the kernel would.
    @discardableResult
    func lookupPath(_ relative: String) throws -> Inode {
        var current = fs.root
        for component in relative.split(separator: "/") {
            current = try fs.lookup(parent: current.id, name: String(component)).inode
        }
        return current
    }

    /// Creates `name` through the core, opened write-only, as `open(O_CREAT|O_WRONLY)` would.
    func createFile(_ name: String, in parent: UInt64 = rootID, flags: Int32 = O_WRONLY | O_CREAT,
                    mode: mode_t = 0o644) throws -> (Entry, OpenFile) {
        try fs.create(parent: parent, name: name, mode: mode, flags: flags, caller: nil)
    }

    @discardableResult
    func write(_ handle: OpenFile, _ text: String, at offset: Int64 = 0) throws -> Int {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { try fs.write(handle, bytes: $0, offset: offset) }
    }

    func readAll(_ handle: OpenFile, size: Int = 4096, offset: Int64 = 0) throws -> String {
        String(decoding: try fs.read(handle, size: size, offset: offset), as: UTF8.self)
    }

    /// Lists a folder through opendir/readdir/releasedir and returns its names without "." and "..".
    func listNames(_ id: UInt64) throws -> [String] {
        let handle = try fs.opendir(id)
        defer { fs.releasedir(handle) }
        var names: [String] = []
        try fs.readdir(handle, offset: 0) { entry in
            names.append(entry.name)
            return true
        }
        return names.filter { $0 != "." && $0 != ".." }.sorted()
    }
}
