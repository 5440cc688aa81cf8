import CCurl

/// Process-wide libcurl initialisation, done once on first use.
enum CurlGlobal {
    /// `curl_global_init` result; evaluated once, thread-safely, by Swift's lazy static init.
    static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32))

    static func ensureInitialized() throws {
        guard initResult == CURLE_OK else {
            throw S3Error(.transport(curlCode: Int32(initResult.rawValue),
                                     message: "curl_global_init failed; the libcurl installation is broken, reinstall libcurl4"))
        }
    }
}
