import FoundationEssentials

extension CurlS3Client {
    /// ListObjectsV2 over all pages.
    public func listObjects(bucket: String, prefix: String) throws -> [ObjectSummary] {
        try listObjects(bucket: bucket, prefix: prefix, pageSize: nil)
    }

    /// ListObjectsV2 over all pages, asking for at most `pageSize` keys per page (server default when nil).
    func listObjects(bucket: String, prefix: String, pageSize: Int?) throws -> [ObjectSummary] {
        let operation = "ListObjectsV2 \(bucket)/\(prefix)"
        var all: [ObjectSummary] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            if let pageSize { query.append(("max-keys", String(pageSize))) }
            let prepared = prepare(method: "GET", bucket: bucket, key: nil, query: query, payloadHash: Crypto.emptySHA256Hex)
            let response = try send(prepared.http, operation: operation)
            guard let page = ListObjectsPage.parse(response.body) else {
                throw S3Error(.invalidResponse(message: "ListObjectsV2 answer is not a ListBucketResult document"), operation: operation)
            }
            all += page.objects
            if let next = page.nextContinuationToken, next == token {
                throw S3Error(.invalidResponse(message: "ListObjectsV2 returned the same continuation token twice"), operation: operation)
            }
            token = page.nextContinuationToken
        } while token != nil
        return all
    }
}
