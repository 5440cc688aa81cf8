import FoundationEssentials

extension CurlS3Client {
    /// `send` for requests that name an upload id (UploadPart, ListParts, Complete, Abort): a
    /// 404 `NoSuchKey` is reported as `NoSuchUpload`, which is what it means there.
    func sendForUpload(_ request: HTTPRequest, operation: String, accept: Set<Int> = [200]) throws -> HTTPResponse {
        do {
            return try send(request, operation: operation, accept: accept)
        } catch let error as S3Error {
            throw MultipartXML.normalizingMissingUpload(error)
        }
    }
}
