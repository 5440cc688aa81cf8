import FoundationEssentials
import RecsyncFS
import Glibc

/// File names that are never uploaded: editors' swap files, browsers' `.part` downloads, GNOME's
/// `.goutputstream-*` save files, Office lock files. Patterns are shell patterns (fnmatch,
/// without FNM_PERIOD, so `*.tmp` also matches `.x.tmp`) matched against the last part of a
/// path. Such files stay `local`; renamed to a name that is not ignored, they are queued.
struct IgnoreRules: Sendable {
    let patterns: [String]

    func ignores(_ path: String) -> Bool {
        guard !patterns.isEmpty else { return false }
        let name = NameCoding.split(path).name
        return NameCoding.withCString(name) { bytes in patterns.contains { fnmatch($0, bytes, 0) == 0 } }
    }
}
