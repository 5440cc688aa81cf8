import FoundationEssentials

extension CurlS3Client {
    /// ListParts over all pages.
    public func listParts(bucket: String, key: String, uploadId: String) throws -> [ListedPart] {
        try listParts(bucket: bucket, key: key, uploadId: uploadId, pageSize: nil)
    }

    /// ListParts over all pages, asking for at most `pageSize` parts per page (server default when nil).
    func listParts(bucket: String, key: String, uploadId: String, pageSize: Int?) throws -> [ListedPart] {
        let operation = "ListParts \(bucket)/\(key)"
        var all: [ListedPart] = []
        var marker: String?
        repeat {
            var query: [(name: String, value: String)] = [("uploadId", uploadId)]
            if let marker { query.append(("part-number-marker", marker)) }
            if let pageSize { query.append(("max-parts", String(pageSize))) }
            let prepared = prepare(method: "GET", bucket: bucket, key: key, query: query, payloadHash: Crypto.emptySHA256Hex)
            let response = try sendForUpload(prepared.http, operation: operation)
            guard let page = MultipartXML.PartsPage.parse(response.body) else {
                throw S3Error(.invalidResponse(message: "ListParts answer is not a ListPartsResult document"), operation: operation)
            }
            all += page.parts
            if let next = page.nextMarker, next == marker || page.parts.isEmpty {
                throw S3Error(.invalidResponse(message: "ListParts did not advance (part-number-marker \(next))"), operation: operation)
            }
            marker = page.nextMarker
        } while marker != nil
        return all
    }
}
