import FoundationEssentials

extension CurlS3Client {
    /// Creates the bucket in the endpoint's region; `BucketAlreadyOwnedByYou` counts as success.
    public func createBucket(bucket: String) throws {
        let operation = "CreateBucket \(bucket)"
        var body = Data()
        var headers: [(name: String, value: String)] = []
        if endpoint.region != "us-east-1" {
            body = Data(("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<LocationConstraint>\(endpoint.region)</LocationConstraint></CreateBucketConfiguration>").utf8)
            headers.append(("Content-Type", "application/xml"))
        }
        var prepared = prepare(method: "PUT", bucket: bucket, key: nil, headers: headers,
                               payloadHash: Crypto.hex(Crypto.sha256(body)))
        prepared.http.body = DataBodySource(body)
        do {
            _ = try send(prepared.http, operation: operation)
        } catch let error as S3Error {
            if case let .http(_, code, _, _) = error.kind, code == "BucketAlreadyOwnedByYou" { return }
            throw error
        }
    }
}
