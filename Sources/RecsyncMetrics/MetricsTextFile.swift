import Foundation
import Logging
import RecsyncCore
import Synchronization

/// Writes the metrics to a file every `interval` seconds for node_exporter's textfile collector
/// (`metrics_file`): into a temporary file in the same folder, then renamed over the old one,
/// so the collector never reads half a file. The file is removed when recsync stops, so that a
/// stopped mount shows as absent rather than as frozen numbers.
public final class MetricsTextFile: Sendable {
    let path: String
    let interval: TimeInterval
    let render: @Sendable () -> String
    let logger: Logger
    private let stopped = Mutex(false)
    private let wake = DispatchSemaphore(value: 0)

    public init(path: String, interval: TimeInterval = 15, logger: Logger, render: @escaping @Sendable () -> String) {
        self.path = path
        self.interval = interval
        self.logger = logger
        self.render = render
    }

    /// Writes once now (so a wrong folder is reported at mount), then every `interval`.
    public func start() throws {
        try write()
        Thread.detachNewThread { [self] in
            while wake.wait(timeout: .now() + interval) == .timedOut, !stopped.withLock({ $0 }) {
                do { try write() } catch { logger.warning("cannot write the metrics file", metadata: ["path": "\(path)", "error": "\(error)"]) }
            }
        }
    }

    public func stop() {
        stopped.withLock { $0 = true }
        wake.signal()
        unlink(path)
    }

    func write() throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = (folder.isEmpty ? "." : folder) + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let data = Data(render().utf8)
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o644]) else {
            throw MetricsError("cannot write \(temporary): \(String(cString: strerror(errno))); check that the folder exists and is writable")
        }
        guard rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw MetricsError("cannot rename \(temporary) to \(path): \(message)")
        }
    }
}
