import CSysShims
import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncStore
import Glibc

/// Answers control requests on behalf of the engine and the uploader.
public struct ControlHandler: Sendable {
    let engine: SyncEngine
    let uploader: QueueRunner
    let mountpoint: String
    let stateDirectory: String
    let logger: Logger
    /// Stops the daemon (`recsync unmount`): returns once files still open for writing were
    /// given the grace period, with those that were still open then.
    public var stopHandler: (@Sendable () -> [String])?
    public var shutdownGrace: Int?

    public init(engine: SyncEngine, uploader: QueueRunner, mountpoint: String, stateDirectory: String, logger: Logger) {
        self.engine = engine
        self.uploader = uploader
        self.mountpoint = mountpoint
        self.stateDirectory = stateDirectory
        self.logger = logger
    }

    public func handle(_ request: ControlRequest) -> ControlResponse {
        do {
            switch request.op {
            case .info:
                var response = ControlResponse(ok: true)
                response.mountpoint = mountpoint
                response.stateDirectory = stateDirectory
                response.pid = getpid()
                response.paused = uploader.pauseReason
                response.shutdownGrace = shutdownGrace
                response.summary = try engine.summary()
                return response
            case .stop:
                guard let stopHandler else { return ControlResponse(ok: false, error: "this daemon cannot be stopped over its control socket") }
                var response = ControlResponse(ok: true)
                response.stillOpen = stopHandler()
                response.pid = getpid()
                return response
            case .status:
                return try status(request.paths ?? [""])
            case .queue:
                var response = ControlResponse(ok: true)
                response.files = try engine.queue.processingOrder().map { describe(engine.attributeSnapshot(path: $0.path, record: $0), path: $0.path) }
                response.summary = try engine.summary()
                return response
            case .syncNow:
                return try syncNow(request.paths ?? [], force: request.force ?? false)
            case .retry:
                return try retry(request.paths ?? [], all: request.allFailed ?? false)
            case .import:
                return try ImportCopier(engine: engine, mountpoint: mountpoint, logger: logger)
                    .run(request.paths ?? [], destination: request.destination ?? "")
            case .verify:
                return try verify(request.paths ?? [""], deep: request.deep ?? false)
            case .staleUploads:
                return try staleUploads(dryRun: request.dryRun ?? false)
            }
        } catch {
            return ControlResponse(ok: false, error: "\(error)")
        }
    }

    private func status(_ paths: [String]) throws -> ControlResponse {
        var files: [FileStatus] = []
        for path in paths {
            for item in try itemsOnDisk(under: path) {
                if let kind = item.kind {
                    files.append(FileStatus(path: item.path, status: SyncStatus.local.rawValue, attempts: 0,
                                            note: "\(kind.name): never uploaded; \(kind.reason)"))
                } else {
                    files.append(try describe(item.path))
                }
            }
        }
        var response = ControlResponse(ok: true)
        response.files = files
        var counts = try engine.queue.counts().reduce(into: [String: Int]()) { $0[$1.key.rawValue] = $1.value }
        counts[SyncStatus.local.rawValue] = files.filter { $0.status == SyncStatus.local.rawValue }.count
        response.counts = counts
        response.pendingBytes = try engine.queue.pendingBytes()
        response.paused = uploader.pauseReason
        response.summary = try engine.summary()
        return response
    }

    private func describe(_ path: String) throws -> FileStatus {
        describe(try engine.attributeSnapshot(path: path), path: path)
    }

    private func describe(_ snapshot: SyncEngine.AttributeSnapshot, path: String) -> FileStatus {
        let record = snapshot.record
        let retryAt = snapshot.value("user.sync.retry_at")
        let error = snapshot.value("user.sync.error")
        return FileStatus(path: path, status: snapshot.value("user.sync.status") ?? SyncStatus.local.rawValue,
                          attempts: record?.attempts ?? 0, priority: record?.priority,
                          retryAt: retryAt?.isEmpty == false ? retryAt : nil, error: error?.isEmpty == false ? error : nil,
                          key: record?.s3Key, progress: record?.status == .syncing ? snapshot.value("user.sync.progress") : nil,
                          size: record?.size)
    }

    private func syncNow(_ paths: [String], force: Bool) throws -> ControlResponse {
        var changed = 0
        if paths.isEmpty {
            for record in try engine.queue.records(status: .pending) {
                try engine.syncNow(path: record.path, force: force)
                changed += 1
            }
        } else {
            for path in paths {
                for file in try filesOnDisk(under: path) {
                    if try engine.queue.record(path: file)?.status == .synced { continue }
                    try engine.syncNow(path: file, force: force)
                    changed += 1
                }
            }
        }
        var response = ControlResponse(ok: true)
        response.changed = changed
        // Say why the files wait, unless the request gets them through anyway.
        if let reason = engine.gate.pauseReason, !(force || reason.admitsCritical) {
            response.paused = uploader.pauseReason
        }
        return response
    }

    private func retry(_ paths: [String], all: Bool) throws -> ControlResponse {
        var changed = 0
        let failed = try engine.queue.records(status: .failed).map(\.path)
        let chosen = all ? failed : failed.filter { file in paths.contains { $0.isEmpty || NameCoding.isSameOrInside(file, $0) } }
        for path in chosen where try engine.retry(path: path) { changed += 1 }
        var response = ControlResponse(ok: true)
        response.changed = changed
        return response
    }

    func filesOnDisk(under path: String) throws -> [String] {
        try Self.items(engine: engine, under: path, mountpoint: mountpoint).filter { $0.kind == nil }.map(\.path)
    }

    func itemsOnDisk(under path: String) throws -> [FolderWalk.Item] {
        try Self.items(engine: engine, under: path, mountpoint: mountpoint)
    }
}
