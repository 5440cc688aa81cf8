import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Reads an event log written by ``EventLog``: the lines already there, and in
/// ``follow(includeRotated:pollInterval:shouldStop:_:)`` mode the lines
/// appended later, across rotations.
///
/// Lines are returned without their newline; a last line without a newline
/// (being written right now) is held back until it is complete.
///
/// Not thread-safe: use one reader from one thread.
public final class EventReader {
    /// The event log's path.
    public let path: String
    /// The rotated file, read first when asked.
    public var rotatedPath: String { path + ".1" }

    /// A reader of the event log at `path`, usually
    /// `<state dir>/events.jsonl`.
    public init(path: String) {
        self.path = path
    }

    /// The complete lines of the log, oldest first; with `includeRotated`, the
    /// rotated file's lines come first.
    ///
    /// - Throws: ``EventLogError`` when the log does not exist or cannot be read.
    public func lines(includeRotated: Bool = false) throws -> [String] {
        var result: [String] = []
        if includeRotated, let old = try? OpenFile(path: rotatedPath) {
            _ = try old.readLines { result.append($0) }
            if let last = old.flushPartial() { result.append(last) }
        }
        let current = try OpenFile(path: path)
        _ = try current.readLines { result.append($0) }
        return result
    }

    /// Calls `body` for every line in the log, then keeps watching the file and
    /// calls it for each line appended later, until `shouldStop` returns true
    /// (checked at least every `pollInterval`).
    ///
    /// The file's size is polled every `pollInterval`. When the file is
    /// replaced (rotated by ``EventLog``), the rest of the old file is read and
    /// the new one is followed from its start; a file truncated in place is
    /// read again from its start.
    ///
    /// - Throws: ``EventLogError`` when the log does not exist when following
    ///   starts, or cannot be read.
    public func follow(includeRotated: Bool = false, pollInterval: TimeInterval = 0.2,
                       shouldStop: () -> Bool = { false }, _ body: (String) -> Void) throws {
        var current = try OpenFile(path: path)
        if includeRotated, let old = try? OpenFile(path: rotatedPath), old.identity != current.identity {
            _ = try old.readLines(body)
            if let last = old.flushPartial() { body(last) }
        }
        let pause = useconds_t(max(0.001, pollInterval) * 1_000_000)
        while true {
            let sawData = try current.readLines(body)
            if shouldStop() { return }
            if sawData { continue }
            var info = stat()
            if stat(path, &info) == 0 {
                if LogFileIdentity(info) != current.identity {
                    // Replaced: finish the old file, then start on the new one.
                    _ = try current.readLines(body)
                    if let last = current.flushPartial() { body(last) }
                    if let next = try? OpenFile(path: path) {
                        current = next
                        continue
                    }
                } else if Int64(info.st_size) < current.offset {
                    try current.rewind()
                    continue
                }
            }
            usleep(pause)
        }
    }
}

/// A file's device and inode: what stays the same while it is appended to and
/// changes when another file takes its name.
struct LogFileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

/// One open log file and the partial line read from it so far.
private final class OpenFile {
    let path: String
    let fd: Int32
    let identity: LogFileIdentity
    /// Bytes read so far.
    private(set) var offset: Int64 = 0
    /// The start of a line whose newline has not been read yet.
    private var partial: [UInt8] = []

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT {
                throw EventLogError("there is no event log at \(path)")
            }
            throw EventLogError("cannot read the event log \(path): \(String(cString: strerror(code)))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw EventLogError("cannot read the event log \(path): \(message)")
        }
        self.path = path
        self.fd = fd
        self.identity = LogFileIdentity(info)
    }

    deinit {
        close(fd)
    }

    /// Reads to the end of the file and calls `body` for each complete line.
    /// Returns whether any bytes were read.
    func readLines(_ body: (String) -> Void) throws -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var sawData = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw EventLogError("cannot read the event log \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return sawData }
            sawData = true
            offset += Int64(count)
            var lineStart = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                partial.append(contentsOf: buffer[lineStart..<index])
                body(String(decoding: partial, as: UTF8.self))
                partial.removeAll(keepingCapacity: true)
                lineStart = index + 1
            }
            partial.append(contentsOf: buffer[lineStart..<count])
        }
    }

    /// The incomplete last line, if any, which will not be completed (the
    /// file was replaced).
    func flushPartial() -> String? {
        defer { partial.removeAll() }
        return partial.isEmpty ? nil : String(decoding: partial, as: UTF8.self)
    }

    /// Starts reading again from the beginning (the file was truncated).
    func rewind() throws {
        guard lseek(fd, 0, SEEK_SET) == 0 else {
            throw EventLogError("cannot read the event log \(path): \(String(cString: strerror(errno)))")
        }
        offset = 0
        partial.removeAll()
    }
}
