import FoundationEssentials

extension CurlS3Client {
    /// Downloads the whole object into memory.
    public func getObject(bucket: String, key: String) throws -> Data {
        var prepared = prepare(method: "GET", bucket: bucket, key: key, payloadHash: Crypto.emptySHA256Hex)
        prepared.http.maximumResponseBytes = nil  // the object itself
        return try send(prepared.http, operation: "GetObject \(bucket)/\(key)").body
    }

    public func getObjectRange(bucket: String, key: String, offset: Int64, length: Int) throws -> Data {
        guard length > 0 else { return Data() }
        var prepared = prepare(method: "GET", bucket: bucket, key: key, headers: [("Range", "bytes=\(offset)-\(offset + Int64(length) - 1)")],
                               payloadHash: Crypto.emptySHA256Hex)
        prepared.http.maximumResponseBytes = length  // a server that ignores the range cannot flood memory
        let operation = "GetObject \(bucket)/\(key) bytes \(offset)+\(length)"
        let response = try send(prepared.http, operation: operation, accept: [200, 206])
        guard response.status == 206 || (response.status == 200 && offset == 0) else {
            throw S3Error(.invalidResponse(message: "a ranged read was answered with status \(response.status)"), operation: operation)
        }
        return response.body
    }
}
