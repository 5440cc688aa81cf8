import FoundationEssentials
import Logging
import RecsyncS3
import RecsyncStore

/// Tidies the server when the queue runner has nothing to upload: aborts multipart uploads that
/// no file owns any more (the file changed, was renamed or removed, or failed for good), and with
/// `mirror_deletes` deletes the objects of files deleted in the mount. A failure leaves the rest
/// for the next idle moment; every step is recorded in the queue, so a crash loses none of it.
struct ServerJanitor {
    let engine: SyncEngine
    let s3: any S3Client
    let logger: Logger

    func run() {
        abortAbandonedUploads()
        deleteMirroredObjects()
    }

    /// With `mirror_deletes`: deletes the objects of files deleted in the mount (and the old
    /// objects of renamed ones).
    func deleteMirroredObjects() {
        guard let keys = try? engine.queue.pendingDeletes(), !keys.isEmpty else { return }
        for key in keys {
            do {
                try s3.deleteObject(bucket: engine.settings.bucket, key: key)
                try engine.queue.forgetDelete(key)
                logger.info("deleted the object of a file deleted or renamed in the mount", metadata: ["key": "\(key)"])
            } catch {
                logger.debug("could not delete an object yet", metadata: ["key": "\(key)", "error": "\(error)"])
                return
            }
        }
    }

    /// Aborts uploads whose file changed, was renamed or removed, or failed for good.
    func abortAbandonedUploads() {
        guard let abandoned = try? engine.queue.abandonedUploads(), !abandoned.isEmpty else { return }
        for upload in abandoned {
            do {
                try s3.abortMultipartUpload(bucket: engine.settings.bucket, key: upload.key, uploadId: upload.uploadId)
                try engine.queue.forgetAbandoned(upload)
                logger.info("aborted an abandoned multipart upload", metadata: ["key": "\(upload.key)"])
            } catch {
                logger.debug("could not abort an abandoned multipart upload yet", metadata: ["key": "\(upload.key)", "error": "\(error)"])
                return
            }
        }
    }
}
