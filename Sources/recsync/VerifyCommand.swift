import ArgumentParser
import FoundationEssentials
import RecsyncFS
import RecsyncCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare local files with their objects in S3.",
        discussion: """
        Checks size, ETag and the checksum recorded at upload against the local file; --deep also \
        reads every object back and compares it byte for byte. Exit 1 when anything differs or is missing.
        """
    )

    @Argument(help: ArgumentHelp("Files or folders inside a recsync mount (default: the current folder).", valueName: "path"))
    var paths: [String] = []

    @Flag(help: "Read each object back and compare every byte.")
    var deep = false

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        var bad = 0
        for (client, relatives) in try groupByMount(paths.isEmpty ? ["."] : paths) {
            let response = try client.send(ControlRequest(op: .verify, paths: relatives, deep: deep), timeout: 3600)
            let results = response.verified ?? []
            bad += results.filter { $0.outcome == .differs || $0.outcome == .missing }.count
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                print(String(decoding: try encoder.encode(results), as: UTF8.self))
                continue
            }
            for result in results {
                print(StatusCommand.pad(result.outcome.rawValue, 10) + NameCoding.display(result.path) + (result.detail.map { "  (\($0))" } ?? ""))
            }
            let ok = results.filter { $0.outcome == .ok }.count
            print("\(results.count) file(s) in \(client.mountpoint): \(ok) ok, "
                  + "\(results.filter { $0.outcome == .differs }.count) differ, "
                  + "\(results.filter { $0.outcome == .missing }.count) missing, "
                  + "\(results.filter { $0.outcome == .notSynced }.count) not synced")
        }
        if bad > 0 { throw CLIError("\(bad) file(s) differ from their objects or have none; run 'recsync sync-now' on them") }
    }
}
