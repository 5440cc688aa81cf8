import Foundation

extension CurlS3Client {
    /// Downloads the whole object into memory.
    public func getObject(bucket: String, key: String) throws -> Data {
        var prepared = prepare(method: "GET", bucket: bucket, key: key, payloadHash: Crypto.emptySHA256Hex)
        prepared.http.maximumResponseBytes = nil  // the object itself
        return try send(prepared.http, operation: "GetObject \(bucket)/\(key)").body
    }
}
