import FoundationEssentials

/// Checks shared by the config file and the command-line flags. Each returns
/// nil when the value is fine, or a sentence saying what is wrong and what to
/// use instead.
enum ConfigValidation {
    static func bucketProblem(_ bucket: String) -> String? {
        if bucket.isEmpty { return "the bucket name is empty; give the name of an existing S3 bucket" }
        if bucket.utf8.count > 255 { return "the bucket name is longer than 255 characters" }
        if let bad = bucket.unicodeScalars.first(where: { !(isASCIIAlphanumeric($0) || $0 == "." || $0 == "-" || $0 == "_") }) {
            return "the bucket name contains \(String(bad).debugDescription); bucket names use lowercase letters, digits, \".\" and \"-\" (give the name only, not an s3:// URL)"
        }
        return nil
    }

    static func regionProblem(_ region: String) -> String? {
        if region.isEmpty { return "the region is empty; use a region such as \"\(RecsyncConfig.defaultRegion)\"" }
        if !region.unicodeScalars.allSatisfy({ isASCIIAlphanumeric($0) || $0 == "-" || $0 == "_" }) {
            return "\(region.debugDescription) is not a region name; use a name such as \"eu-west-1\""
        }
        return nil
    }

    static func endpointProblem(_ endpoint: String) -> String? {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            return "\(endpoint.debugDescription) is not an endpoint URL; write it as https://host or http://host:port"
        }
        if url.query != nil || url.fragment != nil {
            return "the endpoint URL must not have a query or fragment; use only scheme, host, port and path"
        }
        return nil
    }

    static func pathPatternProblem(_ pattern: String) -> String? {
        do {
            _ = try KeyPattern(pattern)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    static func userIdProblem(_ userId: String) -> String? {
        do {
            try KeyPattern.validateUserId(userId)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    static func stateDirProblem(_ path: String) -> String? {
        absolutePathProblem(path, example: "/var/lib/recsync")
    }

    static func absolutePathProblem(_ path: String, example: String) -> String? {
        if path.isEmpty { return "the path is empty; give an absolute path such as \(example)" }
        if !path.hasPrefix("/") { return "\(path.debugDescription) is not an absolute path; give one such as \(example)" }
        if path.unicodeScalars.contains("\0") { return "the path contains a NUL character" }
        return nil
    }

    static func logLevelProblem(_ level: String) -> String? {
        if RecsyncConfig.logLevels.contains(level.lowercased()) { return nil }
        let suggestion = Spelling.didYouMean(level, among: RecsyncConfig.logLevels)
        return "unknown log level \(level.debugDescription); \(suggestion)use one of \(RecsyncConfig.logLevels.joined(separator: ", "))"
    }

    static func rangeProblem(_ value: Int, _ range: ClosedRange<Int>) -> String? {
        range.contains(value) ? nil : "\(value) is out of range; use a whole number from \(range.lowerBound) to \(range.upperBound)"
    }

    static func chunkSizeProblem(_ bytes: Int) -> String? {
        let range = RecsyncConfig.chunkSizeRange
        if bytes < range.lowerBound {
            return "\(bytes) bytes is below S3's minimum part size of \(ByteSize.format(range.lowerBound)) (\(range.lowerBound) bytes); use \"\(ByteSize.format(range.lowerBound))\" or more, such as the default \"8MiB\""
        }
        if bytes > range.upperBound {
            return "\(bytes) bytes is above S3's maximum part size of \(ByteSize.format(range.upperBound)); use at most \"5GiB\""
        }
        return nil
    }

    static func syncIntervalProblem(_ seconds: Int) -> String? {
        let range = RecsyncConfig.syncIntervalRange
        guard range.contains(seconds) else {
            return "\(seconds) seconds is out of range; use from \(range.lowerBound) second to \(range.upperBound) seconds (7 days), e.g. 300 or \"5m\""
        }
        return nil
    }

    static func shutdownGraceProblem(_ seconds: Int) -> String? {
        let range = RecsyncConfig.shutdownGraceRange
        guard range.contains(seconds) else {
            return "\(seconds) seconds is out of range; use from \(range.lowerBound) to \(range.upperBound) seconds (1 hour), e.g. 10 or \"30s\""
        }
        return nil
    }

    static func stallTimeoutProblem(_ seconds: Int) -> String? {
        let range = RecsyncConfig.stallTimeoutRange
        guard range.contains(seconds) else {
            return "\(seconds) seconds is out of range; use from \(range.lowerBound) second to \(range.upperBound) seconds (1 hour), e.g. 30 or \"2m\""
        }
        return nil
    }

    /// Checks a hook's argument vector: empty (no hook), or a program given as
    /// an absolute path or a bare name looked up in `PATH`, then its arguments.
    static func hookCommandProblem(_ argv: [String]) -> String? {
        guard let program = argv.first else { return nil }
        if program.isEmpty {
            return "the program name is empty; give an absolute path such as \"/usr/local/bin/notify\" or a program name found in PATH"
        }
        if program.contains("/") && !program.hasPrefix("/") {
            return "\(program.debugDescription) is a relative path; give an absolute path such as \"/usr/local/bin/notify\" or a bare program name found in PATH"
        }
        if !program.hasPrefix("/") && program.unicodeScalars.contains(" ") {
            return "\(program.debugDescription) is not a program name; hooks are not run through a shell, so write the program and its arguments as an array, e.g. [\"notify-send\", \"recsync\"]"
        }
        if argv.contains(where: { $0.unicodeScalars.contains("\0") }) {
            return "an argument contains a NUL character, which cannot be passed to a program"
        }
        return nil
    }

    static func isASCIIAlphanumeric(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
    }
}
