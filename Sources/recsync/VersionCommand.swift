import ArgumentParser
import RecsyncFUSE
import RecsyncS3
import RecsyncStore

/// `recsync version`: recsync's version and those of the C libraries it runs with.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print recsync's version and those of the libraries it runs with (also --version)."
    )

    func run() {
        print(RecsyncVersion.report)
    }
}

extension RecsyncVersion {
    /// What `recsync version` and `recsync --version` print: one `name version` per line.
    static var report: String {
        """
        recsync \(current)
        libfuse \(FuseMount.libraryVersion)
        libcurl \(S3LibraryVersions.curl)
        OpenSSL \(S3LibraryVersions.openSSL)
        SQLite \(SQLiteLibrary.version)
        """
    }
}
