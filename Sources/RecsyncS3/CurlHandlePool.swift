import CCurl
import Synchronization

/// A libcurl easy handle. Only one thread uses a handle at a time: it is either in the pool or
/// checked out by exactly one request.
struct CurlHandle: @unchecked Sendable {
    // Safe to mark Sendable: ownership is transferred through the pool's lock, never shared.
    let raw: UnsafeMutableRawPointer
}

/// Idle curl easy handles kept for reuse so that their keep-alive connections are reused.
///
/// Locking rule: `idle` is only read or modified inside its Mutex; handles are used outside it.
final class CurlHandlePool: Sendable {
    private let idle = Mutex<[CurlHandle]>([])
    private let maxIdle: Int

    init(maxIdle: Int) { self.maxIdle = maxIdle }

    deinit {
        idle.withLock { handles in
            for handle in handles { curl_easy_cleanup(handle.raw) }
            handles.removeAll()
        }
    }

    /// Takes an idle handle, or creates one.
    func checkout() throws -> CurlHandle {
        if let handle = idle.withLock({ $0.popLast() }) { return handle }
        try CurlGlobal.ensureInitialized()
        guard let raw = curl_easy_init() else {
            throw S3Error(.transport(curlCode: Int32(CURLE_FAILED_INIT.rawValue),
                                     message: "curl_easy_init failed (out of memory?)"))
        }
        return CurlHandle(raw: raw)
    }

    /// Returns a handle for reuse; with `discard` (after a transport error) it is closed instead.
    func checkin(_ handle: CurlHandle, discard: Bool = false) {
        let keep = !discard && idle.withLock { handles -> Bool in
            guard handles.count < maxIdle else { return false }
            handles.append(handle)
            return true
        }
        if !keep { curl_easy_cleanup(handle.raw) }
    }
}
