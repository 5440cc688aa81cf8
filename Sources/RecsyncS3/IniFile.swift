import FoundationEssentials
import RecsyncPrimitives

/// A minimal reader for the AWS shared config and credentials files: `[section]` headers,
/// `key = value` lines, `#`/`;` comment lines. Indented lines (nested sub-settings such as
/// `s3 =` blocks) are ignored.
struct IniFile {
    /// Section name -> lowercased key -> value. Later duplicates win, as in the AWS CLI.
    private(set) var sections: [String: [String: String]] = [:]

    init(contents: String) {
        var current: String?
        for line in contents.split(whereSeparator: \.isNewline) {
            if let first = line.first, first == " " || first == "\t" { continue }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]") else { current = nil; continue }
                let name = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
                    .split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let section = current, let eq = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<eq].trimmingWhitespace().lowercased()
            let value = trimmed[trimmed.index(after: eq)...].trimmingWhitespace()
            sections[section, default: [:]][key] = value
        }
    }
}
